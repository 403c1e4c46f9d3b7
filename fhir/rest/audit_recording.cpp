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

namespace {

constexpr const char* kPatientFields[] = {"subject", "patient", "beneficiary"};

// The stored JSON is canonical: compact, and a Reference's first member is "reference". So a
// patient reference can be found without parsing, unless contained resources (which come
// before subject/patient and may name other patients) are present.
bool ScanPatients(std::string_view content, std::vector<std::string>& patients) {
  if (content.find("\"contained\":") != std::string_view::npos) return false;
  for (const char* field : kPatientFields) {
    std::string needle = "\"" + std::string(field) + "\":{\"reference\":\"Patient/";
    std::size_t at = content.find(needle);
    if (at == std::string_view::npos) continue;
    std::size_t begin = at + needle.size() - std::string_view("Patient/").size();
    std::size_t end = content.find('"', begin);
    if (end == std::string_view::npos) return false;
    patients.emplace_back(content.substr(begin, end - begin));
  }
  return true;
}

}  // namespace

std::vector<std::string> PatientsOf(std::string_view type, std::string_view id,
                                    std::string_view content) {
  if (type == "Patient") return {"Patient/" + std::string(id)};
  std::vector<std::string> patients;
  if (content.empty() || ScanPatients(content, patients)) return patients;
  patients.clear();
  auto json = common::ParseJson(content);
  if (!json.has_value()) return patients;
  for (const char* field : kPatientFields) {
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
  if (!request.query.empty()) q += "?" + common::BuildQueryString(request.query);
  return q;
}

}  // namespace fhir::rest
