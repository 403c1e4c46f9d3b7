#include "subscriptions/rest/presence_tracker.h"

#include <random>

#include "common/hex.h"
#include "common/log.h"

namespace subscriptions {

using websocket::ConnectionId;

namespace {

// A random id for this running server: its rows in the store are told apart from other nodes'
// (and from an earlier run of the same host, whose rows expire).
std::string NewNodeId() {
  std::random_device random;
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>(random() & 0xFF);
  return common::HexEncode(bytes);
}

}  // namespace

PresenceTracker::PresenceTracker(PresenceStore* store, std::chrono::seconds ttl, const common::Clock& clock,
                                 Send send)
    : store_(store), ttl_(ttl), clock_(clock), send_(std::move(send)), node_(NewNodeId()) {}

void PresenceTracker::Update(ConnectionId id, const Following& now) {
  if (store_ == nullptr) return;
  auto known = following_.find(id);
  static const Following kNothing;
  const Following& before = known != following_.end() ? known->second : kNothing;
  for (const auto& [session, staff] : before) {
    auto still = now.find(session);
    if (still != now.end() && still->second.reference == staff.reference) continue;
    unrecorded_.erase({id, session});
    Leave(id, session);
    auto followers = followers_.find(session);
    if (followers != followers_.end()) {
      followers->second.erase(id);
      if (followers->second.empty()) followers_.erase(followers);
    }
  }
  std::vector<std::string> started;
  for (const auto& [session, staff] : now) {
    auto was = before.find(session);
    if (was != before.end() && was->second.reference == staff.reference) continue;
    Join(id, session, staff);
    if (followers_[session].insert(id).second) started.push_back(session);
  }
  if (now.empty()) {
    following_.erase(id);
  } else {
    following_[id] = now;
  }
  // Who is there already, for a socket that starts following a session (itself included).
  for (const std::string& session : started) {
    auto active = store_->ActiveOn(session);
    if (!active.has_value()) continue;
    send_(id, PresenceFrame(session, "current", nullptr, *active));
  }
}

void PresenceTracker::Announced(const std::string& payload) {
  if (store_ == nullptr) return;
  auto change = ParsePresenceChange(payload);
  if (!change.has_value()) {
    common::LogWarning("presence: an announcement could not be read");
    return;
  }
  auto followers = followers_.find(change->session);
  if (followers == followers_.end()) return;
  auto active = store_->ActiveOn(change->session);
  if (!active.has_value()) return;
  std::string frame = PresenceFrame(change->session, change->joined ? "join" : "leave", &change->staff, *active);
  for (ConnectionId id : followers->second) send_(id, frame);
}

void PresenceTracker::Tick() {
  if (store_ == nullptr) return;
  common::TimePoint now = clock_.Now();
  if (now < next_tick_) return;
  next_tick_ = now + std::max<std::chrono::seconds>(std::chrono::seconds(1), ttl_ / 3);
  if (!following_.empty()) (void)store_->Touch(node_);
  (void)store_->Expire(ttl_);
  std::set<std::pair<ConnectionId, std::string>> retry;
  retry.swap(unrecorded_);
  for (const auto& [id, session] : retry) {
    auto socket = following_.find(id);
    if (socket == following_.end()) continue;
    auto staff = socket->second.find(session);
    if (staff != socket->second.end()) Join(id, session, staff->second);
  }
}

void PresenceTracker::LeaveAll() {
  if (store_ == nullptr) return;
  (void)store_->LeaveAll(node_);
  following_.clear();
  unrecorded_.clear();
  followers_.clear();
}

void PresenceTracker::Join(ConnectionId id, const std::string& session, const StaffMember& staff) {
  if (common::Status st = store_->Join(node_, static_cast<std::int64_t>(id), session, staff); !st.ok()) {
    common::LogWarning("presence: a join could not be recorded (tried again shortly): " + st.message());
    unrecorded_.insert({id, session});
  }
}

void PresenceTracker::Leave(ConnectionId id, const std::string& session) {
  if (common::Status st = store_->Leave(node_, static_cast<std::int64_t>(id), session); !st.ok()) {
    common::LogWarning("presence: a leave could not be recorded: " + st.message());
  }
}

}  // namespace subscriptions
