#include "fhir/rest/audit_recording.h"

#include <string.h>  // memmem

#include <algorithm>
#include <map>

#include "common/json.h"
#include "fhir/audit/audit_log.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/provenance.h"

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
// The same members as they precede their value in compact JSON.
constexpr std::string_view kPatientMembers[] = {"\"subject\":", "\"patient\":", "\"beneficiary\":"};

std::size_t Find(std::string_view haystack, std::string_view needle, std::size_t from = 0) {
  if (from > haystack.size()) return std::string_view::npos;
  const void* at = memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
  return at == nullptr ? std::string_view::npos
                       : static_cast<std::size_t>(static_cast<const char*>(at) - haystack.data());
}

// The stored JSON is canonical: compact, and a Reference's first member is "reference". So a
// patient reference can be found without parsing, unless contained resources (which come
// before subject/patient and may name other patients) are present. One pass over the content
// for the references, each checked for the member it belongs to (this runs on every read).
bool ScanPatients(std::string_view content, std::vector<std::string>& patients) {
  if (Find(content, "\"contained\":") != std::string_view::npos) return false;
  constexpr std::string_view kReference = "{\"reference\":\"Patient/";
  for (std::size_t at = Find(content, kReference); at != std::string_view::npos;
       at = Find(content, kReference, at + 1)) {
    std::string_view before = content.substr(0, at);
    bool patient_member = false;
    for (std::string_view member : kPatientMembers) {
      patient_member = patient_member || (before.size() >= member.size() &&
                                          before.substr(before.size() - member.size()) == member);
    }
    if (!patient_member) continue;
    std::size_t begin = at + kReference.size() - std::string_view("Patient/").size();
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

audit::ProvenanceActivity ProvenanceActivityOf(store::Method method) {
  switch (method) {
    case store::Method::kCreate: return audit::ProvenanceActivity::kCreate;
    case store::Method::kDelete: return audit::ProvenanceActivity::kDelete;
    case store::Method::kUpdate: break;
  }
  return audit::ProvenanceActivity::kUpdate;
}

char ActionCodeOf(store::Method method) {
  switch (method) {
    case store::Method::kCreate: return 'C';
    case store::Method::kDelete: return 'D';
    case store::Method::kUpdate: break;
  }
  return 'U';
}

common::Result<WriteAudit> AuditWrites(const std::vector<const store::ResourceVersion*>& versions,
                                       audit::AuditRecord record,
                                       const search::SearchParameterRegistry* registry,
                                       audit::ProvenanceStorage provenance_storage) {
  record.recorded = versions.front()->last_updated;
  // Per kind of change, in a fixed order: the entities of each Provenance.
  std::map<store::Method, std::vector<std::string>> changed;
  for (const store::ResourceVersion* v : versions) {
    std::string ref = v->type + "/" + v->id + "/_history/" + std::to_string(v->version);
    record.entities.push_back(ref);
    record.entity_actions += ActionCodeOf(v->method);
    changed[v->method].push_back(std::move(ref));
    for (std::string& patient : PatientsOf(v->type, v->id, v->content)) {
      if (std::find(record.patients.begin(), record.patients.end(), patient) == record.patients.end()) {
        record.patients.push_back(std::move(patient));
      }
    }
  }
  // Each entity's action is kept only where the record's own does not say it (a transaction,
  // an update that created): the derived Provenances read it.
  const char action = audit::ActionCode(record.action.value_or(audit::DefaultAction(record.interaction)));
  if (record.entity_actions.find_first_not_of(action) == std::string::npos) record.entity_actions.clear();
  record.provenance_in_row = provenance_storage == audit::ProvenanceStorage::kAuditTrail;
  WriteAudit out;
  // With the Provenance read from the audit trail the row is the Provenance too
  // (DerivedProvenancesOf): nothing else to store.
  if (provenance_storage == audit::ProvenanceStorage::kResource) {
    for (auto& [method, refs] : changed) {
      audit::ProvenanceRecord provenance;
      provenance.targets = std::move(refs);
      provenance.activity = ProvenanceActivityOf(method);
      provenance.agent_reference = record.agent_reference;
      provenance.agent_display = record.agent_reference.empty() ? record.user_name : std::string();
      provenance.client_id = record.client_id;
      provenance.request_id = record.request_id;
      FOVEA_ASSIGN_OR_RETURN(store::ResourceVersion companion,
                             audit::ProvenanceCompanion(provenance, record.recorded, registry));
      out.companions.push_back(std::move(companion));
    }
  }
  out.audit_rows_json = audit::AuditRowsJson({audit::WriteAuditRowFor(record)});
  return out;
}

common::Result<WriteAudit> AuditWrites(const std::vector<store::PlannedWrite>& writes,
                                       audit::AuditRecord record,
                                       const search::SearchParameterRegistry* registry,
                                       audit::ProvenanceStorage provenance) {
  std::vector<const store::ResourceVersion*> versions;
  versions.reserve(writes.size());
  for (const store::PlannedWrite& w : writes) versions.push_back(&w.version);
  return AuditWrites(versions, std::move(record), registry, provenance);
}

common::Result<WriteAudit> AuditServerWrite(const store::ResourceVersion& written,
                                            std::string_view component, std::string_view observer,
                                            const search::SearchParameterRegistry* registry,
                                            audit::ProvenanceStorage provenance) {
  audit::AuditRecord record;
  record.interaction = written.method == store::Method::kCreate   ? audit::Interaction::kCreate
                       : written.method == store::Method::kDelete ? audit::Interaction::kDelete
                                                                  : audit::Interaction::kUpdate;
  record.user_name = std::string(component);  // the requestor: the server's own component
  record.observer = std::string(observer);
  return AuditWrites({&written}, std::move(record), registry, provenance);
}

common::Status WriteAsServer(store::ResourceStore& store, const store::ResourceVersion& v,
                             int expected_version, std::string_view component,
                             std::string_view observer, const search::SearchParameterRegistry* registry,
                             audit::ProvenanceStorage provenance) {
  if (observer.empty()) return store.Write(v, expected_version);
  FOVEA_ASSIGN_OR_RETURN(WriteAudit audit,
                         AuditServerWrite(v, component, observer, registry, provenance));
  return store.WriteWith(v, expected_version, audit.companions, audit.audit_rows_json);
}

std::string AuditQuery(const RestRequest& request) {
  std::string q = request.path;
  if (!q.empty() && q.front() == '/') q.erase(0, 1);
  if (!request.query.empty()) q += "?" + common::BuildQueryString(request.query);
  return q;
}

}  // namespace fhir::rest
