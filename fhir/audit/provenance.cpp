#include "fhir/audit/provenance.h"

#include "fhir/audit/detail/resources.h"

namespace fhir::audit {

using common::JsonValue;

namespace {

constexpr std::string_view kDataOperation = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
constexpr std::string_view kProvenanceParticipant =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr std::string_view kBalpEntityType =
    "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";

JsonValue Activity(ProvenanceActivity a) {
  switch (a) {
    case ProvenanceActivity::kCreate: return detail::CodeableConcept(kDataOperation, "CREATE", "create");
    case ProvenanceActivity::kUpdate: return detail::CodeableConcept(kDataOperation, "UPDATE", "revise");
    case ProvenanceActivity::kDelete: return detail::CodeableConcept(kDataOperation, "DELETE", "delete");
  }
  return detail::CodeableConcept(kDataOperation, "UPDATE", "revise");
}

JsonValue StringValue(const std::string& s) { return JsonValue::String(s); }

}  // namespace

namespace detail {

JsonValue ProvenanceValue(const ProvenanceRecord& r) {
  JsonValue p = JsonValue::Object();
  p.Set("resourceType", JsonValue::String("Provenance"));
  JsonValue targets = JsonValue::Array();
  for (const std::string& target : r.targets) {
    JsonValue ref = JsonValue::Object();
    ref.Set("reference", StringValue(target));
    targets.Add(std::move(ref));
  }
  p.Set("target", std::move(targets));
  p.Set("recorded", JsonValue::String(common::FormatInstant(r.recorded)));
  p.Set("activity", Activity(r.activity));

  JsonValue agents = JsonValue::Array();
  const bool user = !r.agent_reference.empty() || !r.agent_display.empty();
  if (user || r.client_id.empty()) {
    JsonValue agent = JsonValue::Object();
    agent.Set("type", CodeableConcept(kProvenanceParticipant, "author", "Author"));
    JsonValue who = JsonValue::Object();
    if (!r.agent_reference.empty()) who.Set("reference", StringValue(r.agent_reference));
    if (!r.agent_display.empty()) {
      who.Set("display", StringValue(r.agent_display));
    } else if (!user) {
      // Provenance.agent.who is 1..1: with no one known, say so rather than leave it out.
      who.Set("display", JsonValue::String("anonymous"));
    }
    agent.Set("who", std::move(who));
    if (!r.on_behalf_of.empty()) {
      JsonValue on_behalf_of = JsonValue::Object();
      on_behalf_of.Set("reference", StringValue(r.on_behalf_of));
      agent.Set("onBehalfOf", std::move(on_behalf_of));
    }
    agents.Add(std::move(agent));
  }
  if (!r.client_id.empty()) {
    JsonValue agent = JsonValue::Object();
    agent.Set("type", CodeableConcept(kDicom, "110150", "Application"));
    JsonValue who = JsonValue::Object();
    JsonValue identifier = JsonValue::Object();
    identifier.Set("value", StringValue(r.client_id));
    who.Set("identifier", std::move(identifier));
    agent.Set("who", std::move(who));
    if (!user && !r.on_behalf_of.empty()) {
      JsonValue on_behalf_of = JsonValue::Object();
      on_behalf_of.Set("reference", StringValue(r.on_behalf_of));
      agent.Set("onBehalfOf", std::move(on_behalf_of));
    }
    agents.Add(std::move(agent));
  }
  p.Set("agent", std::move(agents));

  if (!r.request_id.empty()) {
    // The HTTP request the new version came from (entity role "source"), named by its
    // X-Request-Id and typed with BALP's XrequestId code, as AuditEvent.entity does.
    JsonValue identifier = JsonValue::Object();
    identifier.Set("type", CodeableConcept(kBalpEntityType, "XrequestId", ""));
    identifier.Set("value", StringValue(r.request_id));
    JsonValue what = JsonValue::Object();
    what.Set("identifier", std::move(identifier));
    JsonValue entity = JsonValue::Object();
    entity.Set("role", JsonValue::String("source"));
    entity.Set("what", std::move(what));
    JsonValue entities = JsonValue::Array();
    entities.Add(std::move(entity));
    p.Set("entity", std::move(entities));
  }
  return p;
}

}  // namespace detail

std::string ProvenanceJson(const ProvenanceRecord& record) {
  return common::ToJson(detail::ProvenanceValue(record));
}

}  // namespace fhir::audit
