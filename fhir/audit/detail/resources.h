#ifndef FOVEA_FHIR_AUDIT_DETAIL_RESOURCES_H_
#define FOVEA_FHIR_AUDIT_DETAIL_RESOURCES_H_

// Internals shared by the audit builders and AuditLog: the resources as JSON values, and their
// conversion into stored versions. Not for use outside fhir/audit.

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "fhir/audit/audit_event.h"
#include "common/base64.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/provenance.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

namespace fhir::audit::detail {

using common::Base64Encode;

// {"system": ..., "code": ..., "display": ...}, leaving out empty parts.
common::JsonValue Coding(std::string_view system, std::string_view code,
                         std::string_view display);
// {"coding": [Coding(...)]}
common::JsonValue CodeableConcept(std::string_view system, std::string_view code,
                                  std::string_view display);

// The record's fields that no AuditRow column holds, as compact JSON: AuditRow::content.
void AppendRecordDetailsJson(std::string& out, const AuditRecord& record);

// OK when every row can be stored: subtype and content set (NOT NULL columns). Else kInvalid,
// a caller's bug; AuditStore implementations check it before writing anything.
common::Status CheckAuditRows(const std::vector<AuditRow>& rows);

// A search's sort order, which is also its cursor's: whether `a` comes before `b` in the page,
// (recorded, seq) descending, or ascending with `oldest_first`. Both AuditStores page by it.
struct AuditPageOrder {
  bool oldest_first = false;
  bool operator()(const AuditRow& a, const AuditRow& b) const;
};

// The page of `sorted` (a search's matches in AuditPageOrder, at least the first count + 1 of
// them): its first `count` rows, and the cursor when more follow.
AuditPage PageOf(std::vector<AuditRow> sorted, int count);

// AuditEvent.outcome of a record: OutcomeForStatus(http_status), and at least kMinorFailure for
// kLoginFailed (whose http_status may be 0). AuditEventValue and AuditRowFor both use it.
Outcome RecordOutcome(const AuditRecord& record);

common::JsonValue AuditEventValue(const AuditRecord& record);
common::JsonValue ProvenanceValue(const ProvenanceRecord& record);

// A new resource (version 1, a fresh id, meta.versionId/lastUpdated = `now`) from `resource`:
// canonical JSON plus, with a registry, its search-index rows except the full-text ones
// (_text, _content): the audit resources have no narrative, their full text is never worth a
// search, and its rows are the most expensive to write. kInternal when `resource` is not valid
// FHIR JSON (a bug in the builders above; the message names no content).
common::Result<store::ResourceVersion> NewResource(const common::JsonValue& resource,
                                                   common::TimePoint now,
                                                   const search::SearchParameterRegistry* registry);

}  // namespace fhir::audit::detail

#endif  // FOVEA_FHIR_AUDIT_DETAIL_RESOURCES_H_
