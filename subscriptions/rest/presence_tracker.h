#ifndef FOVEA_SUBSCRIPTIONS_REST_PRESENCE_TRACKER_H_
#define FOVEA_SUBSCRIPTIONS_REST_PRESENCE_TRACKER_H_

// The WebSocket channel's side of presence (subscriptions/engine/presence.h): which of this
// node's sockets are bound to which sessions, and as whom. The channel tells it, after every
// bind, unbind and close, the sessions a socket is now bound to; the tracker records joins and
// leaves in the shared PresenceStore, sends a socket the current list when it starts following
// a session, and turns the store's announcements (from any node) into presence frames for the
// sockets here that follow that session. It also keeps this node's rows alive and expires the
// rows of nodes that died.
//
// Threads: the channel's dispatcher thread only.

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "subscriptions/engine/presence.h"
#include "subscriptions/websocket/socket_loop.h"

namespace subscriptions {

class PresenceTracker {
 public:
  using Send = std::function<bool(websocket::ConnectionId, const std::string&)>;
  // The sessions a socket is bound to, and who it is bound as. Only staff sockets follow
  // sessions: system clients (EHRs) and sockets without a known reader get no presence frames,
  // so Backport IG clients that expect notification Bundles only are not surprised.
  using Following = std::map<std::string, StaffMember>;

  // `store` may be null: presence is then off (nothing recorded, no frames).
  PresenceTracker(PresenceStore* store, std::chrono::seconds ttl, const common::Clock& clock, Send send);

  const std::string& node() const { return node_; }

  // What socket `id` follows now (empty: nothing, e.g. it closed).
  void Update(websocket::ConnectionId id, const Following& now);
  // An announcement from the store (a NOTIFY payload).
  void Announced(const std::string& payload);
  // Keeps this node's rows alive and expires dead nodes' rows, every ttl/3; records again the
  // joins the store could not take (the database was away).
  void Tick();
  // Every row of this node (the channel is stopping).
  void LeaveAll();

 private:
  void Join(websocket::ConnectionId id, const std::string& session, const StaffMember& staff);
  void Leave(websocket::ConnectionId id, const std::string& session);

  PresenceStore* const store_;
  const std::chrono::seconds ttl_;
  const common::Clock& clock_;
  const Send send_;
  const std::string node_;
  std::map<websocket::ConnectionId, Following> following_;
  std::map<std::string, std::set<websocket::ConnectionId>> followers_;  // by session
  std::set<std::pair<websocket::ConnectionId, std::string>> unrecorded_;  // joins to record again
  common::TimePoint next_tick_{};
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_REST_PRESENCE_TRACKER_H_
