#ifndef FOVEA_FHIR_AUDIT_AUDIT_LINES_H_
#define FOVEA_FHIR_AUDIT_AUDIT_LINES_H_

// AuditEvents as lines of text: what AuditLog queues and hands to AuditStore::AppendLines, and
// what PgAuditStore stores as an audit block's `events` (pg/audit_block.h), unchanged.
//
// One line per event: `recorded` as microseconds since the epoch, then AuditRow's columns in
// declaration order (subtype, action, outcome, agent, client_id, patient, entity, address,
// request_id, content; not seq, not targets), tab-separated, each escaped (backslash, tab,
// newline, carriage return and NUL) so that any text round-trips.
//
// Why text and not AuditRows: a request thread appends its event's line to AuditLog's buffer,
// which the writer thread takes whole. No string is allocated by one thread and freed by
// another; with a row of ~5 strings per read, those cross-thread frees kept sending the
// request threads' malloc down its slow path (docs/PERFORMANCE.md, security). And the writer
// has nothing left to encode.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "fhir/audit/audit_event.h"
#include "fhir/audit/audit_store.h"

namespace fhir::audit {

// Appends the line of `row`.
void AppendAuditLine(std::string& out, const AuditRow& row);
// Appends the line of AuditRowFor(record) without making the row (`recorded` must be set).
void AppendAuditLine(std::string& out, const AuditRecord& record);

// The rows of `text` (lines as AppendAuditLine makes them), seq 0. kInvalid when the text is
// not such lines (the message names no content).
common::Result<std::vector<AuditRow>> ParseAuditLines(std::string_view text);

// What a store indexes of each line, without decoding the rest: its time, the user, patient
// and resource it concerns (unescaped; empty when the event has none) and where it ends.
struct AuditLineKeys {
  std::int64_t recorded_micros = 0;
  std::string_view agent, patient, entity;
  std::size_t end = 0;  // offset just past the line's '\n'
};
struct AuditLinesIndex {
  std::vector<AuditLineKeys> lines;
  // Where the views of a field that had escapes point (the others point into the text).
  std::deque<std::string> unescaped;
};
// kInvalid when ParseAuditLines would refuse `text`, or a line has no subtype or no content
// (what AuditStore::Append refuses as well): text it accepts always parses back. The views are
// valid while `text` is.
common::Result<AuditLinesIndex> IndexAuditLines(std::string_view text);

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_AUDIT_LINES_H_
