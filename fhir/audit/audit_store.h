#ifndef FOVEA_FHIR_AUDIT_AUDIT_STORE_H_
#define FOVEA_FHIR_AUDIT_AUDIT_STORE_H_

// Where AuditEvents live: an append-only table of one row per event (migration 0004), not the
// resource tables. An AuditEvent is written for every read, so it must cost a small fraction of
// a read: one narrow row with the columns audit queries filter on, plus the rest of the record
// as compact JSON; no history row, no change-log event, no FHIRPath index extraction, and no
// AuditEvent JSON built on the hot path. The AuditEvent is built from the row when an auditor
// reads it (AuditEventJson is deterministic), and the FHIR API serves AuditEvent read and search
// from here (the id is the row's sequence number).
// Implementations are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/audit/audit_event.h"

namespace fhir::audit {

// One stored AuditEvent.
struct AuditRow {
  std::int64_t seq = 0;  // assigned by the store; the FHIR id is its decimal form
  common::TimePoint recorded{};
  std::string subtype;    // InteractionCode(record.interaction): "read", "create", "login", ...
  char action = 'E';      // ActionCode
  int outcome = 0;        // 0, 4, 8
  std::string agent;      // the user as a reference ("Practitioner/abc"), empty for clients
  std::string client_id;  // the application
  std::string patient;    // the first patient concerned ("Patient/1"), or empty
  std::string entity;     // the first entity without its /_history/n ("Observation/1"), or empty
  std::string address;    // the caller's network address
  std::string request_id;
  // Set on the rows written with the data they audit (WriteAuditRowFor) and on no other: every
  // resource the write changed, version-less and in the record's order ("Observation/1"). The
  // entity filter looks here as well as at `entity`, so a transaction is found by each entry.
  std::vector<std::string> targets;
  // The rest of the record (AppendRecordDetailsJson): interaction, status, failure, user, roles,
  // token, every patient and entity, query, ... Opaque to the stores.
  std::string content;
};

// The row of a record (recorded must be set).
AuditRow AuditRowFor(const AuditRecord& record);
// The same, moving the strings the row keeps out of `record` (AuditLog: once per request).
AuditRow AuditRowFor(AuditRecord&& record);

// The row of a write, stored in the write's own transaction: AuditRowFor plus `targets` (the
// record's entities without their versions, duplicates removed).
AuditRow WriteAuditRowFor(const AuditRecord& record);
// A JSON array of rows, the form ResourceStore::WriteWith takes them in (see queries.h).
std::string AuditRowsJson(const std::vector<AuditRow>& rows);
// The record a row was made from (AuditRowFor's inverse); details that cannot be read are left
// out, the columns always count.
AuditRecord RecordFromRow(const AuditRow& row);
// The AuditEvent as the API serves it: AuditEventJson(RecordFromRow(row)) with "id" (the seq)
// and meta (versionId 1, lastUpdated = recorded) spliced in after resourceType.
std::string ServedAuditEventJson(const AuditRow& row);

// A search over the table; every set field must match (AND).
struct AuditQuery {
  std::optional<common::TimePoint> recorded_from;   // inclusive
  std::optional<common::TimePoint> recorded_until;  // exclusive
  std::optional<std::int64_t> seq;                  // _id
  std::string subtype, agent, client_id, patient, entity, address;
  // Any of these as `entity` (or among a write's targets); empty: no such filter.
  std::vector<std::string> entity_any;
  // Only the rows written with the data they audit (AuditRow::targets set): writes.
  bool writes_only = false;
  std::optional<char> action;
  std::optional<int> outcome;
  bool oldest_first = false;  // default newest first
  int count = 20;
  std::optional<std::int64_t> after_seq;  // cursor: continue past this row in the sort order
};

// Whether `row` passes every filter `query` sets (its cursor, count and order aside).
bool AuditRowMatches(const AuditRow& row, const AuditQuery& query);

struct AuditPage {
  std::vector<AuditRow> rows;
  std::optional<std::int64_t> next_after_seq;  // set when more rows follow
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;
  // Appends rows (their seq is ignored and assigned) in one transaction: all or none. kInvalid,
  // storing nothing, when a row has no subtype or content.
  virtual common::Status Append(const std::vector<AuditRow>& rows) = 0;
  // The same for rows as AuditLines text (audit_lines.h), AuditLog's form: all or none;
  // kInvalid, storing nothing, when the text is not such lines. This default parses them and
  // calls Append; PgAuditStore stores the text as it is.
  virtual common::Status AppendLines(std::string_view lines);
  // kNotFound when there is no such row.
  virtual common::Result<AuditRow> Read(std::int64_t seq) = 0;
  virtual common::Result<AuditPage> Search(const AuditQuery& query) = 0;
};

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_AUDIT_STORE_H_
