#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_PRESENCE_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_PRESENCE_H_

// Presence (docs/WORKFLOW.md, "Presence"): a member of staff whose WebSocket is bound to a
// subscription about one screening session is active on that session. The session of a
// subscription is the Encounter its filters pin (`encounter=Encounter/123` on a topic filter or
// in classic criteria, or `_id` on Encounter); who is on the socket comes from the binding
// token's reader. Joins and leaves are recorded in a PresenceStore shared by every node, which
// announces them to all nodes; each node pushes a presence frame to its own sockets bound to
// that session:
//
//   {"type":"presence","session":"Encounter/123","event":"join","staff":{...},
//    "active":[{"reference":"Practitioner/7","user":"tech1","roles":["technician"],
//               "since":"2026-12-05T08:01:02Z"}]}
//
// `active` is the whole list after the change, so a client only renders it; `event` is "join",
// "leave" or "current" (sent once to a socket when it binds to the session). This file has no
// I/O: the types, the rules and the JSON; stateless and thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/auth/principal.h"
#include "subscriptions/engine/subscription_spec.h"

namespace subscriptions {

// A member of staff as presence shows them.
struct StaffMember {
  std::string reference;  // "Practitioner/7"
  std::string user;       // the login name
  std::vector<std::string> roles;
};

// One member of staff active on a session, since when (their earliest socket still bound).
struct PresentStaff {
  StaffMember staff;
  common::TimePoint since{};
};

// A join or a leave, as announced to every node.
struct PresenceChange {
  std::string session;  // "Encounter/123"
  bool joined = false;
  StaffMember staff;
};

// The session a subscription is about: "Encounter/<id>" when one of its filters pins exactly one
// Encounter through an `encounter` (or `context`) reference filter or an Encounter `_id`;
// nullopt for subscriptions about many sessions (a unit's queue, a supervisor's alerts).
std::optional<std::string> SessionOfSubscription(const SubscriptionSpec& spec,
                                                 std::string_view base_url);

// Who a binding token vouches for, as presence shows them: staff users with a Practitioner
// (every account `fovea user add` makes has one); system clients and the loopback test
// principal are not people in the van.
std::optional<StaffMember> StaffOf(const fhir::auth::Principal& reader);

// The announcement payload (JSON, well under NOTIFY's 8 kB) and back.
std::string PresenceChangeJson(const PresenceChange& change);
common::Result<PresenceChange> ParsePresenceChange(std::string_view json);

// The frame for a socket bound to `session`: `event` is "join", "leave" or "current"; `staff`
// is who joined or left (absent for "current").
std::string PresenceFrame(const std::string& session, std::string_view event,
                          const StaffMember* staff, const std::vector<PresentStaff>& active);

// Where presence lives, shared by every node (PostgreSQL in production: subscriptions/pg).
// Joins and leaves are announced to every node's Listen() as PresenceChange payloads, only when
// they change who is active (a second device of the same person joins silently). Thread-safe.
class PresenceStore {
 public:
  virtual ~PresenceStore() = default;
  // `node` is the running server, `connection` the socket on it.
  virtual common::Status Join(const std::string& node, std::int64_t connection,
                              const std::string& session, const StaffMember& staff) = 0;
  virtual common::Status Leave(const std::string& node, std::int64_t connection,
                               const std::string& session) = 0;
  // Everything of `node` (it is stopping).
  virtual common::Status LeaveAll(const std::string& node) = 0;
  // `node` is alive: its rows are not expired.
  virtual common::Status Touch(const std::string& node) = 0;
  // Removes (and announces) the rows of nodes that have not touched them for `ttl`.
  virtual common::Status Expire(std::chrono::seconds ttl) = 0;
  // Who is active on `session`, the longest present first.
  virtual common::Result<std::vector<PresentStaff>> ActiveOn(const std::string& session) = 0;
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_PRESENCE_H_
