#ifndef FOVEA_FHIR_REST_AUDIT_TRAIL_API_H_
#define FOVEA_FHIR_REST_AUDIT_TRAIL_API_H_

// The FHIR face of the audit trail: AuditEvent read and search served from the audit table
// (fhir/audit/audit_store.h) rather than the resource tables. The search parameters an auditor
// needs are supported: date (with prefixes), patient, agent, entity, subtype, action, outcome,
// address, _id, _count, _sort=date|-date and paging. AuditEvents are written only by the server.

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "fhir/audit/audit_store.h"
#include "fhir/model/issues.h"

namespace fhir::rest {

struct AuditSearchRequest {
  audit::AuditQuery query;
  // name=value pairs applied, in order, for the self and next links (without the cursor).
  std::vector<std::pair<std::string, std::string>> applied;
};

// Parses the parameters of `GET AuditEvent?...`. Unsupported or malformed parameters: with
// `strict` an error issue each, otherwise a warning and the parameter is ignored.
AuditSearchRequest ParseAuditSearch(const std::vector<std::pair<std::string, std::string>>& params,
                                    bool strict, int default_count, int max_count,
                                    model::IssueSink& issues);

// The paging cursor of a next link, and back.
std::string AuditCursor(std::int64_t after_seq);

// "123" -> 123; kNotFound for anything that is not an audit row id.
common::Result<std::int64_t> AuditEventSeq(std::string_view id);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_AUDIT_TRAIL_API_H_
