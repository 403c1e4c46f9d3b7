#ifndef FOVEA_FHIR_AUDIT_PG_AUDIT_BLOCK_H_
#define FOVEA_FHIR_AUDIT_PG_AUDIT_BLOCK_H_

// The audit_block table's format (migration 0016; docs/AUDIT.md). AuditLog's batches (reads,
// searches, logins, deliveries: most of the trail) are stored as one row per batch, a block,
// instead of one row per event: an event then costs PostgreSQL a line of a compressed text, not
// a heap tuple and five index entries (docs/PERFORMANCE.md, security). A block's `keys` (the
// patients and users its events concern) and its entity filter (the resources) are what
// auditors' searches find it by.
//
// Every event keeps its own AuditEvent id, in a range no audit_event row reaches:
// kBlockSeqBase + block * kMaxBlockEvents + the event's place in the block.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/audit/audit_lines.h"
#include "fhir/audit/audit_store.h"

namespace fhir::audit::pg {

inline constexpr std::int64_t kMaxBlockEvents = 1000;
// 10^15: audit_event's seq (an identity) would need a thousand years at 30,000 events a second
// to get there.
inline constexpr std::int64_t kBlockSeqBase = 1'000'000'000'000'000;

inline bool IsBlockSeq(std::int64_t seq) { return seq >= kBlockSeqBase; }
inline std::int64_t BlockSeq(std::int64_t block, std::int64_t ordinal) {
  return kBlockSeqBase + block * kMaxBlockEvents + ordinal;
}
inline std::int64_t BlockOfSeq(std::int64_t seq) { return (seq - kBlockSeqBase) / kMaxBlockEvents; }
inline std::int64_t OrdinalOfSeq(std::int64_t seq) { return (seq - kBlockSeqBase) % kMaxBlockEvents; }

// The events of one block as stored: their AuditLines (fhir/audit/audit_lines.h), at most
// kMaxBlockEvents. Their seq is not stored: it follows from the block and the line.
std::string EncodeAuditBlock(const std::vector<AuditRow>& rows);
// The rows of a stored block, seq set. kInternal when the text is not what EncodeAuditBlock
// makes (the message names no content).
common::Result<std::vector<AuditRow>> DecodeAuditBlock(std::string_view text, std::int64_t block);
// The same for the lines `keep(ordinal, keys)` selects only: the others are not parsed. A
// search keeps the lines whose patient, user or resource it asks for, a read the one line it
// names, instead of making every event of a block of up to kMaxBlockEvents.
common::Result<std::vector<AuditRow>> DecodeAuditBlockWhere(
    std::string_view text, std::int64_t block,
    const std::function<bool(std::size_t ordinal, const AuditLineKeys& keys)>& keep);

// What a block is found by, in two forms (migration 0021):
//  * its `keys` (GIN-indexed): "p|" + patient and "a|" + agent for the values its rows have,
//    each once, sorted. A block concerns few patients and users, however many events it holds.
//  * its entity filter (key_bloom.h): every entity its rows name, ~10 bits each. A block of
//    reads names as many resources as it has events; as GIN entries they cost PostgreSQL more
//    than the rest of the block's insert.
// Blocks stored before migration 0021 list their entities in `keys` as "e|" + entity, and have
// no filter.
// Both of the lines of one block (IndexAuditLines).
std::vector<std::string> AuditBlockKeys(std::span<const AuditLineKeys> lines);
std::string AuditBlockEntityBloom(std::span<const AuditLineKeys> lines);
inline std::string PatientKey(std::string_view patient) { return "p|" + std::string(patient); }
inline std::string EntityKey(std::string_view entity) { return "e|" + std::string(entity); }
inline std::string AgentKey(std::string_view agent) { return "a|" + std::string(agent); }

}  // namespace fhir::audit::pg

#endif  // FOVEA_FHIR_AUDIT_PG_AUDIT_BLOCK_H_
