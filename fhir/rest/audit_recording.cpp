#include "fhir/rest/audit_recording.h"

#include "common/json.h"

namespace fhir::rest {

audit::AuditRecord AuditRecordFor(const RestRequest& request, const auth::Principal& principal,
                                  std::string_view observer) {
  audit::AuditRecord r;
  r.agent_reference = principal.fhir_user;
  if (principal.kind == auth::Principal::Kind::kUser) r.user_id = principal.subject;
  r.client_id = principal.client_id;
  for (const std::string& role : principal.roles) {
    r.roles.push_back({kStaffRoleSystem, role, ""});
  }
  r.token_id = principal.token_id;
  r.source_address = request.peer_address;
  r.server_address = request.base_url;
  r.observer = std::string(observer);
  r.request_id = request.request_id;
  return r;
}

std::vector<std::string> PatientsOf(std::string_view type, std::string_view id,
                                    std::string_view content) {
  if (type == "Patient") return {"Patient/" + std::string(id)};
  std::vector<std::string> patients;
  if (content.empty()) return patients;
  auto json = common::ParseJson(content);
  if (!json.has_value()) return patients;
  for (const char* field : {"subject", "patient", "beneficiary"}) {
    const common::JsonValue* ref = json->Find(field);
    if (ref == nullptr || !ref->is_object()) continue;
    const common::JsonValue* reference = ref->Find("reference");
    if (reference != nullptr && reference->scalar().rfind("Patient/", 0) == 0) {
      patients.push_back(reference->scalar());
    }
  }
  return patients;
}

std::string AuditQuery(const RestRequest& request) {
  std::string q = request.path;
  if (!q.empty() && q.front() == '/') q.erase(0, 1);
  char sep = '?';
  for (const auto& [k, v] : request.query) {
    q += sep + UrlEncode(k) + "=" + UrlEncode(v);
    sep = '&';
  }
  return q;
}

}  // namespace fhir::rest
