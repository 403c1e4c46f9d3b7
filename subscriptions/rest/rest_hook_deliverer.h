#ifndef FOVEA_SUBSCRIPTIONS_REST_REST_HOOK_DELIVERER_H_
#define FOVEA_SUBSCRIPTIONS_REST_REST_HOOK_DELIVERER_H_

// The rest-hook channel of Subscriptions (docs/SUBSCRIPTIONS.md, "rest-hook"), on every node.
// Workers claim subscriptions with work from the durable queue (subscriptions/pg/RestHookQueue)
// and send one request per claim:
//   - status requested: the handshake; a 2xx makes the subscription active, anything else puts
//     it in error with the reason in Subscription.error (the Backport IG's rule);
//   - active: the next numbered events past the cursor (max-count per request), in order; or a
//     heartbeat when one is due (only when the subscription set a heartbeat period);
//   - a failed delivery is retried with exponential backoff; after `max_attempts` consecutive
//     failures the subscription goes to error. The matcher keeps numbering its events; when the
//     subscriber sets it back to requested, the handshake runs again and delivery resumes from
//     the cursor (events trimmed by retention meanwhile show as a gap in the numbers).
// A subscription whose `end` has passed is switched off. Status changes are new versions of the
// Subscription written through the ResourceStore (compare-and-set: a subscriber's concurrent
// edit wins, and the claim is simply retried).
//
// Threads: a watcher LISTENs for committed notifications (and wakes every `poll` for new
// subscriptions, retries and heartbeats) and wakes the workers; each worker has a connection of
// its own and holds its claim's row lock while it sends.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/provenance.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/resource_store.h"
#include "subscriptions/engine/notification_store.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/engine/topics.h"

namespace subscriptions {

namespace pg {
class RestHookQueue;
struct ClaimedDelivery;
}  // namespace pg

struct RestHookOptions {
  std::string dsn;
  std::string base_url;            // the FHIR base in notifications
  bool allow_http_hooks = false;   // as the Subscription API checks endpoints
  int workers = 2;                 // concurrent deliveries on this node
  std::chrono::milliseconds default_timeout{10000};  // without backport-timeout
  std::chrono::milliseconds max_timeout{120000};     // a subscriber's timeout is capped here
  std::chrono::milliseconds backoff_base{1000};      // first retry after this, then doubling
  std::chrono::milliseconds backoff_cap{300000};
  int max_attempts = 16;                             // consecutive failures before error
  std::chrono::milliseconds poll{1000};              // retries and heartbeats looked for
  // Auth on: a subscription without a registrant stamp (written before stamps existed) gets
  // ids only, never full resources nobody vouched for.
  bool require_registrant = false;
  // Audit on: a Subscription status the deliverer writes (active after the handshake, error
  // after failures) records its Provenance and AuditEvent with it, the server as the agent;
  // this names the server (AuditEvent observer). Empty: not audited (--auth off).
  std::string audit_observer;
  // Where that Provenance lives (--provenance; fhir/audit/provenance.h).
  fhir::audit::ProvenanceStorage provenance = fhir::audit::kDefaultProvenanceStorage;
};

class RestHookDeliverer {
 public:
  RestHookDeliverer(const TopicRegistry& topics, std::shared_ptr<fhir::search::LiveRegistry> search,
                    fhir::store::ResourceStore& store, NotificationStore& notifications,
                    const common::Clock& clock, RestHookOptions options);
  ~RestHookDeliverer();  // Stop()

  // Starts the watcher and the workers.
  void Start();
  void Stop();

  // On the calling thread: delivers what is due now until nothing is, or an attempt fails (so a
  // test sees each retry). The number of claims handled.
  common::Result<std::size_t> DeliverPending();

  // The wait before retry number `failures` (1: the first retry).
  std::chrono::milliseconds Backoff(int failures) const;

 private:
  enum class Outcome { kDone, kFailed, kRetryLater };
  // One claim: one request at most. The queue's claim is ended (committed or released).
  common::Result<Outcome> Process(pg::RestHookQueue& queue, const pg::ClaimedDelivery& claim);
  // A new version of the claimed Subscription with `status` and `error` (empty: none).
  common::Status WriteStatus(const pg::ClaimedDelivery& claim, const std::string& status,
                             const std::string& error);
  // Full resources only where the registrant may read them (ids otherwise).
  void KeepRegistrantReadable(const SubscriptionSpec& spec,
                              const fhir::search::SearchParameterRegistry& search,
                              std::vector<NotificationEvent>& events) const;
  void Watch();
  void Work();
  bool Sleep(std::chrono::milliseconds d);  // false when stopping

  const TopicRegistry& topics_;
  const std::shared_ptr<fhir::search::LiveRegistry> search_;
  fhir::store::ResourceStore& store_;
  NotificationStore& notifications_;
  const common::Clock& clock_;
  const RestHookOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::uint64_t generation_ = 0;  // GUARDED_BY(mu_): bumped by each wake-up of the watcher
  bool stopping_ = false;         // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_REST_REST_HOOK_DELIVERER_H_
