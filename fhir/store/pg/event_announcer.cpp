#include "fhir/store/pg/event_announcer.h"

#include <utility>

#include "common/log.h"
#include "common/thread_name.h"

namespace fhir::store::pg {
namespace {

constexpr PgQuery kAnnounce{"store.announce_events", "SELECT pg_notify('fovea_event', '')"};

}  // namespace

EventAnnouncer::EventAnnouncer(std::string dsn) : dsn_(std::move(dsn)) {}

EventAnnouncer::~EventAnnouncer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EventAnnouncer::SetLocalWake(std::function<bool()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  local_wake_ = std::move(wake);
}

void EventAnnouncer::Announce() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Called under the lock so that SetLocalWake(nullptr) cannot race with a wake in flight;
    // the wake itself does not block (an eventfd write).
    if (local_wake_ && local_wake_()) {
      ++woken_locally_;
      return;
    }
    if (pending_) return;  // the next NOTIFY covers this event too
    pending_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] {
      common::NameThisThread("fovea-announce");
      Run();
    });
  }
  cv_.notify_one();
}

std::size_t EventAnnouncer::sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

std::size_t EventAnnouncer::woken_locally() const {
  std::lock_guard<std::mutex> lock(mu_);
  return woken_locally_;
}

void EventAnnouncer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return pending_ || stopping_; });
    if (!pending_) return;  // stopping, nothing left to announce
    // Cleared before sending: an event that commits while the NOTIFY is on its way may have
    // committed after the matcher's read that this NOTIFY triggers, so it needs a NOTIFY of
    // its own.
    pending_ = false;
    lock.unlock();
    const bool sent = Send();
    lock.lock();
    if (sent) ++sent_;
  }
}

bool EventAnnouncer::Send() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (conn_ == nullptr || !conn_->healthy()) {
      auto connected = PgConnection::Connect(dsn_);
      if (!connected.has_value()) break;
      conn_ = std::move(connected).value();
    }
    if (conn_->Execute(kAnnounce, {}).has_value()) {
      if (failing_) common::LogInfo("event announcer: NOTIFY fovea_event works again");
      failing_ = false;
      return true;
    }
    conn_.reset();
  }
  // The matcher's poll picks the events up; nothing is lost but latency. Said once per outage.
  if (!failing_) {
    common::LogWarning("event announcer: could not NOTIFY fovea_event; subscriptions are matched at the matcher's next poll");
  }
  failing_ = true;
  return false;
}

}  // namespace fhir::store::pg
