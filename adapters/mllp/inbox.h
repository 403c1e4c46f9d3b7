#ifndef FOVEA_ADAPTERS_MLLP_INBOX_H_
#define FOVEA_ADAPTERS_MLLP_INBOX_H_

// The durable HL7 v2 inbox (migration 0009_hl7v2.sql, table hl7v2_inbox). Receive() commits
// the raw message before anything is acknowledged; (sender, control id) is unique, so a
// repeat finds the first. Claim() locks one entry (SELECT ... FOR UPDATE) in a transaction
// that stays open while the message is applied, so one node and one thread apply it; the
// result (status and application ACK) commits with Complete(). A claim dropped without
// Complete rolls back: the entry stays 'received' and is applied later (Pending()).
// Thread-safe (each call borrows its own pooled connection).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "fhir/store/pg/connection_pool.h"

namespace adapters::mllp {

struct InboxEntry {
  std::int64_t id = 0;
  std::string status;  // received | applied | error | rejected
  std::string ack;     // the application ACK once processed
  std::string message;
  bool duplicate = false;  // Receive(): the control id was there already
};

class InboxClaim {
 public:
  InboxClaim(fhir::store::pg::ConnectionPool::Lease lease, InboxEntry entry)
      : lease_(std::move(lease)), entry_(std::move(entry)) {}
  InboxClaim(InboxClaim&& o) noexcept
      : lease_(std::move(o.lease_)), entry_(std::move(o.entry_)), open_(std::exchange(o.open_, false)) {}
  InboxClaim& operator=(InboxClaim&&) = delete;
  InboxClaim(const InboxClaim&) = delete;
  ~InboxClaim();  // rolls back unless completed

  const InboxEntry& entry() const { return entry_; }
  // Records the outcome and commits.
  common::Status Complete(const std::string& status, const std::string& ack);

 private:
  fhir::store::pg::ConnectionPool::Lease lease_;
  InboxEntry entry_;
  bool open_ = true;
};

class PgInbox {
 public:
  explicit PgInbox(fhir::store::pg::ConnectionPool& pool) : pool_(pool) {}

  common::Result<InboxEntry> Receive(const std::string& sender, const std::string& control_id,
                                     const std::string& message);
  // Locks the entry; with `skip_locked`, nullopt when another thread holds it.
  common::Result<std::optional<InboxClaim>> Claim(std::int64_t id, bool skip_locked);
  // Entries still 'received' (oldest first): accepted but not yet applied.
  common::Result<std::vector<std::int64_t>> Pending(int limit);

 private:
  fhir::store::pg::ConnectionPool& pool_;
};

}  // namespace adapters::mllp

#endif  // FOVEA_ADAPTERS_MLLP_INBOX_H_
