#include "adapters/mllp/inbox.h"

#include "common/log.h"

namespace adapters::mllp {
namespace {

using fhir::store::pg::PgQuery;

constexpr PgQuery kInsert{
    "hl7v2.inbox_insert",
    "INSERT INTO hl7v2_inbox (sender, control_id, message) VALUES ($1, $2, $3) "
    "ON CONFLICT (sender, control_id) DO NOTHING RETURNING id"};
constexpr PgQuery kFind{"hl7v2.inbox_find",
                        "SELECT id, status, coalesce(ack, ''), message FROM hl7v2_inbox "
                        "WHERE sender = $1 AND control_id = $2"};
constexpr PgQuery kBegin{"hl7v2.begin", "BEGIN"};
constexpr PgQuery kCommit{"hl7v2.commit", "COMMIT"};
constexpr PgQuery kRollback{"hl7v2.rollback", "ROLLBACK"};
constexpr PgQuery kLock{"hl7v2.inbox_lock",
                        "SELECT id, status, coalesce(ack, ''), message FROM hl7v2_inbox "
                        "WHERE id = $1 FOR UPDATE"};
constexpr PgQuery kLockSkip{"hl7v2.inbox_lock_skip",
                            "SELECT id, status, coalesce(ack, ''), message FROM hl7v2_inbox "
                            "WHERE id = $1 FOR UPDATE SKIP LOCKED"};
constexpr PgQuery kComplete{"hl7v2.inbox_complete",
                            "UPDATE hl7v2_inbox SET status = $2, ack = $3, processed_at = now() "
                            "WHERE id = $1"};
constexpr PgQuery kPending{"hl7v2.inbox_pending",
                           "SELECT id FROM hl7v2_inbox WHERE status = 'received' "
                           "ORDER BY id LIMIT $1"};

InboxEntry EntryOf(const fhir::store::pg::PgResult& r) {
  InboxEntry e;
  e.id = r.GetInt64(0, 0);
  e.status = std::string(r.Get(0, 1));
  e.ack = std::string(r.Get(0, 2));
  e.message = std::string(r.Get(0, 3));
  return e;
}

}  // namespace

InboxClaim::~InboxClaim() {
  if (open_) (void)lease_->Execute(kRollback, {});
}

common::Status InboxClaim::Complete(const std::string& status, const std::string& ack) {
  auto updated = lease_->Execute(kComplete, {std::to_string(entry_.id), status, ack});
  if (!updated.has_value()) return updated.error();
  auto committed = lease_->Execute(kCommit, {});
  if (!committed.has_value()) return committed.error();
  open_ = false;
  entry_.status = status;
  entry_.ack = ack;
  return common::Status::Ok();
}

common::Result<InboxEntry> PgInbox::Receive(const std::string& sender,
                                            const std::string& control_id,
                                            const std::string& message) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(auto inserted, conn->Execute(kInsert, {sender, control_id, message}));
  if (inserted.rows() == 1) {
    InboxEntry e;
    e.id = inserted.GetInt64(0, 0);
    e.status = "received";
    e.message = message;
    return e;
  }
  FOVEA_ASSIGN_OR_RETURN(auto found, conn->Execute(kFind, {sender, control_id}));
  if (found.rows() != 1) return common::InternalError("inbox entry vanished");
  InboxEntry e = EntryOf(found);
  e.duplicate = true;
  return e;
}

common::Result<std::optional<InboxClaim>> PgInbox::Claim(std::int64_t id, bool skip_locked) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  if (auto begun = conn->Execute(kBegin, {}); !begun.has_value()) return begun.error();
  auto locked = conn->Execute(skip_locked ? kLockSkip : kLock, {std::to_string(id)});
  if (!locked.has_value()) {
    (void)conn->Execute(kRollback, {});
    return locked.error();
  }
  if (locked->rows() != 1) {
    (void)conn->Execute(kRollback, {});
    return std::optional<InboxClaim>();
  }
  InboxEntry e = EntryOf(*locked);
  return std::optional<InboxClaim>(InboxClaim(std::move(conn), std::move(e)));
}

common::Result<std::vector<std::int64_t>> PgInbox::Pending(int limit) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(auto rows, conn->Execute(kPending, {std::to_string(limit)}));
  std::vector<std::int64_t> ids;
  for (int i = 0; i < rows.rows(); ++i) ids.push_back(rows.GetInt64(i, 0));
  return ids;
}

}  // namespace adapters::mllp
