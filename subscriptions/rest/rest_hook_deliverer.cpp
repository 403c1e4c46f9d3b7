#include "subscriptions/rest/rest_hook_deliverer.h"

#include <algorithm>

#include "common/json.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/audit_recording.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"
#include "subscriptions/engine/notification_context.h"
#include "subscriptions/engine/rest_hook_request.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/pg/rest_hook_queue.h"
#include "subscriptions/rest/hook_sender.h"
#include "subscriptions/rest/subscription_api.h"

namespace subscriptions {

using common::Result;
using common::Status;
using pg::ClaimedDelivery;
using pg::RestHookQueue;

RestHookDeliverer::RestHookDeliverer(const TopicRegistry& topics,
                                     std::shared_ptr<fhir::search::LiveRegistry> search,
                                     fhir::store::ResourceStore& store,
                                     NotificationStore& notifications, const common::Clock& clock,
                                     RestHookOptions options)
    : topics_(topics),
      search_(std::move(search)),
      store_(store),
      notifications_(notifications),
      clock_(clock),
      options_(std::move(options)) {}

RestHookDeliverer::~RestHookDeliverer() { Stop(); }

void RestHookDeliverer::Start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  threads_.emplace_back([this] {
    common::NameThisThread("fovea-hook-scan");
    Watch();
  });
  for (int i = 0; i < std::max(1, options_.workers); ++i) threads_.emplace_back([this] {
      common::NameThisThread("fovea-hook-send");
      Work();
    });
}

void RestHookDeliverer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool RestHookDeliverer::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
  return !stopping_;
}

std::chrono::milliseconds RestHookDeliverer::Backoff(int failures) const {
  std::chrono::milliseconds wait = options_.backoff_base;
  for (int i = 1; i < failures && wait < options_.backoff_cap; ++i) wait *= 2;
  return std::min(wait, options_.backoff_cap);
}

void RestHookDeliverer::Watch() {
  std::unique_ptr<RestHookQueue> queue;
  std::chrono::steady_clock::time_point synced{};  // epoch: sync first
  bool wake = true;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (queue == nullptr) {
      auto connected = RestHookQueue::Connect(options_.dsn);
      if (!connected.has_value() || !(*connected)->Listen().ok()) {
        if (!Sleep(options_.poll)) return;  // the database is away: try again later
        continue;
      }
      queue = std::move(connected).value();
      synced = {};
    }
    // Every poll, however busy the notifications: new rest-hook subscriptions get their rows
    // (a new subscription waits at most one poll for its handshake), and every worker looks for
    // work (retries, heartbeats). A committed notification of a rest-hook subscription wakes
    // them at once, without the Subscription scan.
    auto now = std::chrono::steady_clock::now();
    if (now - synced >= options_.poll) {
      if (Status synced_rows = queue->Sync(); !synced_rows.ok()) {
        common::LogWarning("rest-hook watcher: " + synced_rows.message());
        queue.reset();
        continue;
      }
      synced = now;
      wake = true;
    }
    if (wake) {
      {
        std::lock_guard lock(mu_);
        ++generation_;
      }
      wake_.notify_all();
    }
    auto until_sync = std::chrono::duration_cast<std::chrono::milliseconds>(
        synced + options_.poll - std::chrono::steady_clock::now());
    auto woke = queue->Wait(std::max(until_sync, std::chrono::milliseconds(0)));
    if (!woke.has_value()) {
      queue.reset();
      continue;
    }
    wake = *woke;
  }
}

void RestHookDeliverer::Work() {
  std::unique_ptr<RestHookQueue> queue;
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, options_.poll, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    if (queue == nullptr) {
      auto connected = RestHookQueue::Connect(options_.dsn);
      if (!connected.has_value()) continue;  // the database is away: the next round tries again
      queue = std::move(connected).value();
    }
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
      }
      auto claim = queue->Claim();
      if (!claim.has_value()) {
        common::LogWarning("rest-hook delivery: " + claim.error().message());
        queue.reset();
        break;
      }
      if (!claim->has_value()) break;
      auto done = Process(*queue, **claim);
      if (!done.has_value()) {
        common::LogWarning("rest-hook delivery: " + done.error().message());
        queue.reset();
        break;
      }
    }
  }
}

Result<std::size_t> RestHookDeliverer::DeliverPending() {
  FOVEA_ASSIGN_OR_RETURN(auto queue, RestHookQueue::Connect(options_.dsn));
  FOVEA_RETURN_IF_ERROR(queue->Sync());
  std::size_t handled = 0;
  for (;;) {
    FOVEA_ASSIGN_OR_RETURN(std::optional<ClaimedDelivery> claim, queue->Claim());
    if (!claim.has_value()) return handled;
    FOVEA_ASSIGN_OR_RETURN(Outcome outcome, Process(*queue, *claim));
    ++handled;
    if (outcome != Outcome::kDone) return handled;
  }
}

Status RestHookDeliverer::WriteStatus(const ClaimedDelivery& claim, const std::string& status,
                                      const std::string& error) {
  fhir::model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(fhir::model::Element root,
                         fhir::format::ParseResourceJson(claim.subscription_json,
                                                         fhir::definitions::Definitions::R4(), issues));
  root.SetPrimitiveChild("status", status);
  root.RemoveChildren("error");
  if (!error.empty()) root.SetPrimitiveChild("error", error);
  root.SortChildren();
  fhir::store::ResourceVersion v =
      fhir::rest::VersionOf(root, "Subscription", claim.subscription_id, claim.subscription_version + 1,
                            fhir::store::Method::kUpdate, clock_.Now(), search_->Get().get());
  return fhir::rest::WriteAsServer(store_, v, claim.subscription_version, "Fovea rest-hook deliverer",
                                   options_.audit_observer, search_->Get().get(), options_.provenance);
}

// A rest-hook carries a resource in full only where the subscription's registrant may read it
// (SMART scopes, patient compartment), as $events and the WebSocket channel do for their
// reader; the rest go as ids. Without a stamp (written with `--auth off`) nothing is narrowed,
// unless the server requires one (auth on): then everything goes as ids.
void RestHookDeliverer::KeepRegistrantReadable(const SubscriptionSpec& spec,
                                               const fhir::search::SearchParameterRegistry& search,
                                               std::vector<NotificationEvent>& events) const {
  if (spec.registrant.empty() && !options_.require_registrant) return;
  fhir::auth::Principal registrant;  // a user with no scopes (no stamp, or an unreadable one): ids only
  if (!spec.registrant.empty()) {
    if (auto reader = ReaderFromJson(spec.registrant); reader.has_value()) registrant = std::move(reader).value();
  }
  KeepReadable(events, fhir::rest::AccessControl(registrant, fhir::definitions::Definitions::R4(), &search));
}

Result<RestHookDeliverer::Outcome> RestHookDeliverer::Process(RestHookQueue& queue,
                                                              const ClaimedDelivery& claim) {
  const common::TimePoint now = clock_.Now();
  // The claim ends on every path: committed with the new cursor, or released.
  auto release = [&](Outcome outcome) -> Result<Outcome> {
    FOVEA_RETURN_IF_ERROR(queue.Release());
    return outcome;
  };
  auto switch_to = [&](const std::string& status, const std::string& error) -> Result<Outcome> {
    Status written = WriteStatus(claim, status, error);
    if (written.code() == common::StatusCode::kVersionConflict) return release(Outcome::kRetryLater);
    if (!written.ok()) {
      (void)queue.Release();
      return written;
    }
    FOVEA_RETURN_IF_ERROR(queue.Failed(claim.subscription_id, 0, std::chrono::milliseconds(0), error));
    return Outcome::kFailed;
  };

  auto json = common::ParseJson(claim.subscription_json);
  if (!json.has_value()) return switch_to("error", "the stored Subscription is not JSON");
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  SpecContext context{topics_, *search, options_.base_url, options_.allow_http_hooks};
  Result<SubscriptionSpec> parsed = ParseSubscription(*json, context);
  if (!parsed.has_value()) {
    return switch_to("error", "the Subscription can no longer be served: " + parsed.error().message());
  }
  const SubscriptionSpec& spec = *parsed;
  if (spec.end && *spec.end <= now) return switch_to("off", "");

  std::chrono::milliseconds timeout = options_.default_timeout;
  if (spec.timeout_seconds > 0) {
    timeout = std::min<std::chrono::milliseconds>(std::chrono::seconds(spec.timeout_seconds),
                                                  options_.max_timeout);
  }
  const std::chrono::seconds heartbeat(spec.heartbeat_seconds);
  SubscriptionStatus status{spec.id.empty() ? claim.subscription_id : spec.id, spec.status,
                            spec.topic_based() ? spec.topic->url : "", claim.events, ""};

  if (spec.status == "requested") {
    // The claim read the Subscription in its statement's snapshot, which can predate another
    // worker's handshake that committed `active` just before this claim got the row: read the
    // version again (a fresh snapshot) so the endpoint never gets the handshake twice.
    auto head = store_.Head("Subscription", claim.subscription_id);
    if (!head.has_value()) {
      (void)queue.Release();
      return head.error();
    }
    if (head->deleted || head->version != claim.subscription_version) return release(Outcome::kRetryLater);
    std::optional<HookRequest> handshake = HandshakeRequest(spec, status, options_.base_url, now);
    if (handshake) {
      HookOutcome sent = SendHook(*handshake, timeout);
      if (!sent.delivered) {
        common::LogWarning("rest-hook handshake failed for Subscription/" + claim.subscription_id +
                           ": " + sent.message);
        return switch_to("error", "handshake failed: " + sent.message);
      }
    }
    Status written = WriteStatus(claim, "active", "");
    if (written.code() == common::StatusCode::kVersionConflict) return release(Outcome::kRetryLater);
    if (!written.ok()) {
      (void)queue.Release();
      return written;
    }
    FOVEA_RETURN_IF_ERROR(queue.Delivered(claim.subscription_id, claim.delivered_through, heartbeat));
    return Outcome::kDone;
  }

  // Active: the next events, or a heartbeat.
  std::optional<HookRequest> request;
  std::int64_t through = claim.delivered_through;
  if (claim.events > claim.delivered_through) {
    auto events = notifications_.Events(claim.subscription_id, claim.delivered_through + 1,
                                        claim.events, EventsPerRequest(spec),
                                        NeedsContent(spec) || NeedsEventContent(spec, spec.content));
    if (!events.has_value()) {
      (void)queue.Release();
      return events.error();
    }
    AttachContext(spec, *events, *search, store_, spec.content == PayloadContent::kFullResource);
    KeepRegistrantReadable(spec, *search, *events);
    if (events->empty()) {
      // Trimmed by retention before they could be delivered: the gap shows in the numbers.
      FOVEA_RETURN_IF_ERROR(queue.Delivered(claim.subscription_id, claim.events, heartbeat));
      return Outcome::kDone;
    }
    through = events->back().number;
    status.events_since_start = through;
    request = EventRequest(spec, status, *events, options_.base_url, now);
  } else if (claim.heartbeat_due) {
    request = HeartbeatRequest(spec, status, options_.base_url, now);
  }
  if (!request) {
    FOVEA_RETURN_IF_ERROR(queue.Delivered(claim.subscription_id, through, heartbeat));
    return Outcome::kDone;
  }
  HookOutcome sent = SendHook(*request, timeout);
  if (sent.delivered) {
    FOVEA_RETURN_IF_ERROR(queue.Delivered(claim.subscription_id, through, heartbeat));
    return Outcome::kDone;
  }
  const int failures = claim.failures + 1;
  common::LogWarning("rest-hook delivery to Subscription/" + claim.subscription_id + " failed (attempt " +
                     std::to_string(failures) + "): " + sent.message);
  if (failures >= options_.max_attempts) {
    return switch_to("error", "delivery failed " + std::to_string(failures) +
                                  " times in a row; last: " + sent.message);
  }
  FOVEA_RETURN_IF_ERROR(queue.Failed(claim.subscription_id, failures, Backoff(failures), sent.message));
  return Outcome::kFailed;
}

}  // namespace subscriptions
