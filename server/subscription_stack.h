#ifndef FOVEA_SERVER_SUBSCRIPTION_STACK_H_
#define FOVEA_SERVER_SUBSCRIPTION_STACK_H_

// Subscriptions wired for `fovea serve` (and the test server): the built-in topics, the
// notification store, the Subscription API that FhirService calls, the matcher and the
// channels (WebSocket, rest-hook).

#include <chrono>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/provenance.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "fhir/store/resource_store.h"
#include "subscriptions/pg/event_matcher.h"
#include "subscriptions/pg/pg_notification_store.h"
#include "subscriptions/pg/pg_presence_store.h"
#include "subscriptions/rest/rest_hook_deliverer.h"
#include "subscriptions/rest/subscription_api.h"
#include "subscriptions/rest/websocket_channel.h"
#include "workflow/session_views.h"

namespace server {

struct SubscriptionSettings {
  std::string base_url;  // the public FHIR base
  bool allow_http_hooks = false;
  int rest_hook_workers = 2;
  int rest_hook_max_attempts = 16;  // consecutive failed deliveries before status error
  // Presence rows of a node that stopped refreshing them are expired after this long.
  std::chrono::seconds presence_ttl{30};
  // Auth on: rest-hooks of a subscription without a registrant stamp carry ids only.
  bool require_registrant = false;
  // Auth on: the server's own writes of a Subscription's status are audited (Provenance and
  // AuditEvent), with this as AuditEvent.source.observer. Empty: not audited.
  std::string audit_observer;
  fhir::audit::ProvenanceStorage provenance = fhir::audit::kDefaultProvenanceStorage;
};

class SubscriptionStack {
 public:
  // kInternal if the built-in topics do not load (a build defect).
  static common::Result<std::unique_ptr<SubscriptionStack>> Open(
      fhir::store::pg::ConnectionPool& pool, std::shared_ptr<fhir::search::LiveRegistry> registry,
      fhir::store::ResourceStore& store, const common::Clock& clock,
      const SubscriptionSettings& settings);

  fhir::rest::ExtensionSupport ForFhirService() { return api_.Extensions(); }
  subscriptions::pg::EventMatcher& matcher() { return matcher_; }
  subscriptions::WebSocketChannel& channel() { return channel_; }
  subscriptions::RestHookDeliverer& rest_hooks() { return rest_hooks_; }
  // Mounts /ws/subscriptions-r4 on `http` and starts the channel's threads.
  common::Status StartChannel(fhir::rest::HttpServer& http);
  subscriptions::NotificationStore& notifications() { return notifications_; }
  // Who is present on a session, for the workflow's $session-status.
  workflow::PresenceLookup PresenceLookup();

 private:
  SubscriptionStack(const subscriptions::TopicRegistry& topics, fhir::store::pg::ConnectionPool& pool,
                    std::shared_ptr<fhir::search::LiveRegistry> registry,
                    fhir::store::ResourceStore& store, const common::Clock& clock,
                    const SubscriptionSettings& settings);

  // What the matcher reads, handed to the channel (declared first: both are given it).
  std::shared_ptr<subscriptions::RecentVersions> recent_versions_;
  subscriptions::pg::PgNotificationStore notifications_;
  subscriptions::pg::PgPresenceStore presence_;
  subscriptions::SubscriptionApi api_;
  subscriptions::pg::EventMatcher matcher_;
  subscriptions::WebSocketChannel channel_;
  subscriptions::RestHookDeliverer rest_hooks_;
};

// While it lives, `store`'s committed writes wake `matcher` directly when it holds the matcher
// lock (fhir/store/pg/event_announcer.h), instead of through a NOTIFY and a PostgreSQL round
// trip. Destroy it before the matcher: declare it after the SubscriptionStack.
class LocalMatcherWake {
 public:
  LocalMatcherWake(fhir::store::pg::PgResourceStore& store, subscriptions::pg::EventMatcher& matcher);
  ~LocalMatcherWake();
  LocalMatcherWake(const LocalMatcherWake&) = delete;
  LocalMatcherWake& operator=(const LocalMatcherWake&) = delete;

 private:
  fhir::store::pg::PgResourceStore& store_;
};

}  // namespace server

#endif  // FOVEA_SERVER_SUBSCRIPTION_STACK_H_
