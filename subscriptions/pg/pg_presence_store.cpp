#include "subscriptions/pg/pg_presence_store.h"

#include "common/json.h"
#include "fhir/store/pg/connection.h"

namespace subscriptions::pg {

using common::Result;
using common::Status;
using fhir::store::pg::PgQuery;
using fhir::store::pg::PgResult;

namespace {

// The tail shared by every statement that removes rows (`gone`): a leave is announced for each
// (session, staff) that has no other row left, so a second device leaving is silent. The main
// query sees the table as it was before the DELETE, hence the rows in `gone` are excluded.
#define FOVEA_ANNOUNCE_LEAVES                                                                     \
  " SELECT pg_notify('fovea_presence', json_build_object('session', g.session, 'event', 'leave'," \
  "   'staff', json_build_object('reference', g.staff, 'user', g.user_name,"                      \
  "   'roles', to_json(g.roles)))::text)"                                                         \
  " FROM (SELECT DISTINCT ON (session, staff) * FROM gone) g"                                     \
  " WHERE NOT EXISTS (SELECT 1 FROM session_presence p"                                           \
  "   WHERE p.session = g.session AND p.staff = g.staff AND NOT EXISTS (SELECT 1 FROM gone x"     \
  "     WHERE x.node = p.node AND x.connection = p.connection AND x.session = p.session))"

#define FOVEA_PRESENCE_COLUMNS " node, connection, session, staff, user_name, roles"

// A join is announced only when it is the person's first socket on the session (the main query
// does not see the row the CTE inserts).
constexpr PgQuery kJoin{
    "presence.join",
    "WITH added AS (INSERT INTO session_presence (" FOVEA_PRESENCE_COLUMNS ")"
    " VALUES ($1, $2::bigint, $3, $4, $5, ARRAY(SELECT jsonb_array_elements_text($6::jsonb)))"
    " ON CONFLICT (node, connection, session) DO NOTHING RETURNING session, staff)"
    " SELECT pg_notify('fovea_presence', $7) FROM added"
    " WHERE NOT EXISTS (SELECT 1 FROM session_presence p"
    "   WHERE p.session = added.session AND p.staff = added.staff)"};
constexpr PgQuery kLeave{
    "presence.leave",
    "WITH gone AS (DELETE FROM session_presence"
    " WHERE node = $1 AND connection = $2::bigint AND session = $3 RETURNING" FOVEA_PRESENCE_COLUMNS ")"
    FOVEA_ANNOUNCE_LEAVES};
constexpr PgQuery kLeaveAll{
    "presence.leave_all",
    "WITH gone AS (DELETE FROM session_presence WHERE node = $1 RETURNING" FOVEA_PRESENCE_COLUMNS ")"
    FOVEA_ANNOUNCE_LEAVES};
constexpr PgQuery kExpire{
    "presence.expire",
    "WITH gone AS (DELETE FROM session_presence"
    " WHERE seen_at < now() - make_interval(secs => $1::bigint) RETURNING" FOVEA_PRESENCE_COLUMNS ")"
    FOVEA_ANNOUNCE_LEAVES};
constexpr PgQuery kTouch{"presence.touch", "UPDATE session_presence SET seen_at = now() WHERE node = $1"};
// Each person once, with their earliest socket's join time; the longest present first.
constexpr PgQuery kActiveOn{
    "presence.active_on",
    "SELECT staff, user_name, array_to_json(roles)::text,"
    " (extract(epoch FROM joined_at) * 1000000)::bigint"
    " FROM (SELECT DISTINCT ON (staff) * FROM session_presence WHERE session = $1"
    "       ORDER BY staff, joined_at) p"
    " ORDER BY joined_at, staff"};

#undef FOVEA_ANNOUNCE_LEAVES
#undef FOVEA_PRESENCE_COLUMNS

Status Run(fhir::store::pg::ConnectionPool& pool, const PgQuery& query,
           const std::vector<fhir::store::pg::PgParam>& params) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult done, conn->Execute(query, params));
  (void)done;
  return Status::Ok();
}

std::string RolesJson(const std::vector<std::string>& roles) {
  common::JsonValue list = common::JsonValue::Array();
  for (const std::string& r : roles) list.Add(common::JsonValue::String(r));
  return common::ToJson(list);
}

}  // namespace

Status PgPresenceStore::Join(const std::string& node, std::int64_t connection, const std::string& session,
                             const StaffMember& staff) {
  std::string announcement = PresenceChangeJson({session, true, staff});
  return Run(pool_, kJoin,
             {node, std::to_string(connection), session, staff.reference, staff.user, RolesJson(staff.roles),
              announcement});
}

Status PgPresenceStore::Leave(const std::string& node, std::int64_t connection, const std::string& session) {
  return Run(pool_, kLeave, {node, std::to_string(connection), session});
}

Status PgPresenceStore::LeaveAll(const std::string& node) { return Run(pool_, kLeaveAll, {node}); }

Status PgPresenceStore::Touch(const std::string& node) { return Run(pool_, kTouch, {node}); }

Status PgPresenceStore::Expire(std::chrono::seconds ttl) {
  return Run(pool_, kExpire, {std::to_string(ttl.count())});
}

Result<std::vector<PresentStaff>> PgPresenceStore::ActiveOn(const std::string& session) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(PgResult rows, conn->Execute(kActiveOn, {session}));
  std::vector<PresentStaff> active;
  active.reserve(rows.rows());
  for (int i = 0; i < rows.rows(); ++i) {
    PresentStaff p;
    p.staff.reference = std::string(rows.Get(i, 0));
    p.staff.user = std::string(rows.Get(i, 1));
    if (auto roles = common::ParseJson(rows.Get(i, 2)); roles.has_value() && roles->is_array()) {
      for (const common::JsonValue& r : roles->items()) p.staff.roles.push_back(r.scalar());
    }
    p.since = common::TimePoint(std::chrono::microseconds(rows.GetInt64(i, 3)));
    active.push_back(std::move(p));
  }
  return active;
}

}  // namespace subscriptions::pg
