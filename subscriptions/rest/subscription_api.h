#ifndef FOVEA_SUBSCRIPTIONS_REST_SUBSCRIPTION_API_H_
#define FOVEA_SUBSCRIPTIONS_REST_SUBSCRIPTION_API_H_

// The Subscription side of the FHIR API (R4 Backport IG, SUBSCRIPTIONS.md §3): every
// Subscription written is checked (ParseSubscription: anything Fovea cannot honour is a 400) and
// gets its server-managed status (a websocket subscription is active at once; a rest-hook one is
// stored `requested` until its handshake succeeds); `Subscription/$status` (type and instance)
// and `Subscription/[id]/$events` answer from the matcher's numbered events. Plugs into
// FhirService through ExtensionSupport. Thread-safe.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "fhir/audit/provenance.h"
#include "fhir/auth/principal.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/resource_store.h"
#include "subscriptions/engine/notification_store.h"
#include "subscriptions/engine/topics.h"

namespace subscriptions {

struct SubscriptionApiOptions {
  std::string base_url;              // this server's FHIR base, for absolute local references
  std::size_t max_events = 1000;     // per $events answer
  bool allow_http_hooks = false;     // rest-hook endpoints over plain http beyond loopback
  std::chrono::seconds binding_token_lifetime{600};  // $get-ws-binding-token
  // --provenance audit-trail: writes' Provenances are read from their AuditEvent rows and have
  // no change-log event, so a Subscription on Provenance would miss them: it is refused.
  fhir::audit::ProvenanceStorage provenance = fhir::audit::kDefaultProvenanceStorage;
};

// Where WebSocket clients connect, below the server root.
inline constexpr const char* kWebSocketPath = "/ws/subscriptions-r4";

// The hash under which a binding token is kept (base64url SHA-256).
std::string BindingTokenHash(std::string_view token);

// Who a binding token was issued to, as kept with it (JSON: kind, subject, client, fhirUser,
// roles, scopes, launch patient, token id), and back: enough to rebuild the AccessControl that
// decides, event by event, whether the socket may get a resource in full. kInvalid for text
// that is not such a JSON.
std::string ReaderJson(const fhir::auth::Principal& reader);
common::Result<fhir::auth::Principal> ReaderFromJson(std::string_view json);

class SubscriptionApi {
 public:
  SubscriptionApi(const TopicRegistry& topics, std::shared_ptr<fhir::search::LiveRegistry> search,
                  fhir::store::ResourceStore& store, NotificationStore& notifications,
                  const common::Clock& clock, SubscriptionApiOptions options);

  // For FhirService.
  fhir::rest::ExtensionSupport Extensions();

  common::Status BeforeWrite(fhir::model::Element& resource) const;
  std::optional<fhir::rest::RestResponse> Operation(const std::string& type, const std::string& id,
                                                    const std::string& name,
                                                    const fhir::rest::RestRequest& request,
                                                    const fhir::rest::AccessControl& access) const;

 private:
  fhir::rest::RestResponse Status(const std::string& id, const fhir::rest::RestRequest& request,
                                  const fhir::rest::AccessControl& access) const;
  fhir::rest::RestResponse Events(const std::string& id, const fhir::rest::RestRequest& request,
                                  const fhir::rest::AccessControl& access) const;
  fhir::rest::RestResponse BindingToken(const std::string& id, const fhir::rest::RestRequest& request,
                                        const fhir::rest::AccessControl& access) const;

  const TopicRegistry& topics_;
  const std::shared_ptr<fhir::search::LiveRegistry> search_;
  fhir::store::ResourceStore& store_;
  NotificationStore& notifications_;
  const common::Clock& clock_;
  const SubscriptionApiOptions options_;
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_REST_SUBSCRIPTION_API_H_
