#include "workflow/screening_api.h"

#include "fhir/audit/audit_event.h"
#include "fhir/rest/audit_recording.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/media_types.h"
#include "fhir/rest/outcome.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"
#include "workflow/session_start.h"

std::string_view EmbeddedStartScreening();
std::string_view EmbeddedSessionStatus();
std::string_view EmbeddedSessionTimeline();
std::string_view EmbeddedQueue();

namespace workflow {

using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;
using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using fhir::rest::FhirJsonResponse;
using fhir::rest::OutcomeResponse;
using fhir::store::PlannedWrite;
using fhir::store::ResourceVersion;

namespace {

// A reference parameter: `name` from the query string or a Parameters body (valueReference,
// or a valueString/valueId holding "Type/id").
std::string ReferenceParam(const RestRequest& request, const JsonValue* body, std::string_view name) {
  for (const auto& [k, v] : request.query) {
    if (k == name) return v;
  }
  const JsonValue* params = body != nullptr ? body->Find("parameter") : nullptr;
  if (params == nullptr || !params->is_array()) return "";
  for (const JsonValue& p : params->items()) {
    const JsonValue* n = p.Find("name");
    if (n == nullptr || n->scalar() != name) continue;
    if (const JsonValue* ref = p.Find("valueReference"); ref != nullptr && ref->Find("reference") != nullptr) {
      return ref->Find("reference")->scalar();
    }
    for (const char* key : {"valueString", "valueId", "valueCanonical", "valueUri"}) {
      if (const JsonValue* v = p.Find(key); v != nullptr) return v->scalar();
    }
  }
  return "";
}

// "Patient/1" (or an absolute URL ending so) → "1" when of `type`.
std::string IdOf(const std::string& reference, const std::string& type) {
  std::size_t at = reference.rfind(type + "/");
  if (at == std::string::npos || (at != 0 && reference[at - 1] != '/')) return "";
  std::string id = reference.substr(at + type.size() + 1);
  return id.find('/') == std::string::npos ? id : "";
}

}  // namespace

ScreeningApi::ScreeningApi(WorkflowRules& rules, fhir::store::ResourceStore& store,
                           fhir::search::SearchBackend& search,
                           std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock,
                           ScreeningAudit audit)
    : rules_(rules), store_(store), views_(rules, store, search, registry, clock), registry_(std::move(registry)),
      clock_(clock), audit_(std::move(audit)) {}

fhir::rest::ExtensionSupport ScreeningApi::Extensions() {
  fhir::rest::ExtensionSupport e;
  e.operation = [this](const std::string& type, const std::string& id, const std::string& name,
                       const RestRequest& request, const fhir::rest::AccessControl& access) {
    return Operation(type, id, name, request, access);
  };
  e.plan_write = [this](fhir::model::Element& resource, const std::string& id, int replaces,
                        const fhir::rest::AccessControl& access) {
    return rules_.PlanWrite(resource, id, replaces, access);
  };
  e.before_delete = [this](const std::string& type, const std::string& id, const fhir::rest::AccessControl& access) {
    return rules_.CheckDelete(type, id, access);
  };
  e.operations.push_back({"Encounter", "start-screening", kStartScreeningUrl});
  e.operations.push_back({"Encounter", "session-status", "https://fovea.health/fhir/OperationDefinition/session-status"});
  e.operations.push_back({"Encounter", "session-timeline", "https://fovea.health/fhir/OperationDefinition/session-timeline"});
  e.operations.push_back({"Location", "queue", "https://fovea.health/fhir/OperationDefinition/queue"});
  return e;
}

Status ScreeningApi::EnsureShipped() {
  return fhir::rest::EnsureShipped(store_,
                                   {{"PlanDefinition", ScreeningPlan::BuiltInJson()},
                                    {"OperationDefinition", EmbeddedStartScreening()},
                                    {"OperationDefinition", EmbeddedSessionStatus()},
                                    {"OperationDefinition", EmbeddedSessionTimeline()},
                                    {"OperationDefinition", EmbeddedQueue()}},
                                   clock_.Now(), registry_->Get().get());
}

std::optional<RestResponse> ScreeningApi::Operation(const std::string& type, const std::string& id,
                                                    const std::string& name, const RestRequest& request,
                                                    const fhir::rest::AccessControl& access) {
  if (type == "Encounter" && name == "start-screening") {
    if (!id.empty()) return OutcomeResponse(common::InvalidError("$start-screening is invoked on the type: POST Encounter/$start-screening"));
    if (request.method != "POST") return OutcomeResponse(Status(StatusCode::kMethodNotAllowed, "$start-screening takes POST"));
    return StartScreening(request, access);
  }
  if ((type == "Encounter" && (name == "session-status" || name == "session-timeline")) ||
      (type == "Location" && name == "queue")) {
    if (id.empty()) return OutcomeResponse(common::InvalidError("$" + name + " is invoked on one " + type + ": " + type + "/[id]/$" + name));
    if (request.method != "GET" && request.method != "POST") return OutcomeResponse(Status(StatusCode::kMethodNotAllowed, "$" + name + " takes GET"));
    if (name == "session-status") return views_.SessionStatus(id, request, access);
    if (name == "session-timeline") return views_.Timeline(id, request, access);
    return views_.Queue(id, request, access);
  }
  return std::nullopt;
}

RestResponse ScreeningApi::StartScreening(const RestRequest& request, const fhir::rest::AccessControl& access) {
  // The operation creates the session's Tasks on the caller's behalf: starting sessions (the
  // role check below, and creating Encounters) is the permission, not creating Tasks at will.
  if (Status st = access.Require("Encounter", fhir::auth::Permission::kCreate); !st.ok()) return OutcomeResponse(st);
  Actor actor = WorkflowRules::ActorOf(access);
  if (!actor.unrestricted && !actor.Has("registration") && !actor.Has("supervisor") && !actor.Has("ehr-system")) {
    return OutcomeResponse(Status(StatusCode::kForbidden, "Sessions are started by registration staff, a supervisor or an EHR"));
  }
  std::optional<JsonValue> body;
  if (!request.body.empty()) {
    auto parsed = common::ParseJson(request.body);
    if (!parsed.has_value() || parsed->Find("resourceType") == nullptr ||
        parsed->Find("resourceType")->scalar() != "Parameters") {
      return OutcomeResponse(common::InvalidError("$start-screening takes a Parameters resource (JSON)"));
    }
    body = std::move(parsed).value();
  }
  const JsonValue* params = body ? &*body : nullptr;
  std::string patient = IdOf(ReferenceParam(request, params, "patient"), "Patient");
  std::string location = IdOf(ReferenceParam(request, params, "location"), "Location");
  std::string plan_ref = ReferenceParam(request, params, "plan");
  if (patient.empty()) return OutcomeResponse(common::InvalidError("patient: a reference Patient/<id> is required"));
  if (location.empty()) return OutcomeResponse(common::InvalidError("location: a reference Location/<id> (the unit) is required"));
  if (plan_ref.empty() || plan_ref == kPlanUrl) plan_ref = std::string("PlanDefinition/") + kPlanId;
  std::string plan_id = IdOf(plan_ref, "PlanDefinition");
  if (plan_id.empty()) return OutcomeResponse(common::InvalidError("plan: a reference PlanDefinition/<id> is expected"));
  for (auto [type, id] : {std::pair{std::string("Patient"), patient}, std::pair{std::string("Location"), location}}) {
    auto head = store_.Head(type, id);
    if (!head.has_value() && head.error().code() != StatusCode::kNotFound) return OutcomeResponse(head.error());
    if (!head.has_value() || head->deleted) {
      return OutcomeResponse(common::InvalidError(std::string(type == "Patient" ? "patient" : "location") + ": " +
                                         type + "/" + id + " does not exist"));
    }
  }
  auto plan = rules_.PlanOf("PlanDefinition/" + plan_id);
  if (!plan.has_value()) {
    return OutcomeResponse(plan.error().code() == StatusCode::kNotFound
                      ? common::InvalidError("plan: PlanDefinition/" + plan_id + " does not exist")
                      : plan.error());
  }

  const common::TimePoint now = clock_.Now();
  const std::string at = common::FormatInstant(now);
  SessionStart start{patient, location, plan_id, plan->get(), actor.reference, now};
  std::shared_ptr<const fhir::search::SearchParameterRegistry> registry = registry_->Get();
  auto encounter = NewResource("Encounter", CheckInEncounter(start), now, *registry);
  if (!encounter.has_value()) return OutcomeResponse(encounter.error());
  const std::string encounter_ref = "Encounter/" + encounter->version.id;
  auto tasks = SessionTasks(start, encounter->version.id, *registry);
  if (!tasks.has_value()) return OutcomeResponse(tasks.error());
  std::vector<PlannedWrite> writes;
  writes.push_back(std::move(encounter).value());
  for (PlannedWrite& t : *tasks) writes.push_back(std::move(t));

  fhir::rest::WriteAudit audit;
  if (!audit_.observer.empty()) {
    fhir::audit::AuditRecord record = fhir::rest::AuditRecordFor(request, access.principal(), audit_.observer);
    record.interaction = fhir::audit::Interaction::kOperation;
    record.http_status = 201;
    record.query = fhir::rest::AuditQuery(request);
    auto made = fhir::rest::AuditWrites(writes, std::move(record), registry.get(), audit_.provenance);
    if (!made.has_value()) return OutcomeResponse(made.error());
    audit = std::move(made).value();
  }
  if (Status st = store_.WriteAll(writes, audit.companions, audit.audit_rows_json); !st.ok()) return OutcomeResponse(st);

  std::string out = R"({"resourceType":"Bundle","type":"collection","timestamp":)";
  common::AppendJsonString(out, at);
  out += R"(,"entry":[)";
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"fullUrl":)";
    common::AppendJsonString(out, request.base_url + "/" + writes[i].version.type + "/" + writes[i].version.id);
    out += R"(,"resource":)";
    out += writes[i].version.content;
    out += '}';
  }
  out += "]}";
  RestResponse r = FhirJsonResponse(201, std::move(out));
  r.SetHeader("Location", request.base_url + "/" + encounter_ref + "/_history/1");
  r.audited = !audit_.observer.empty();
  return r;
}

}  // namespace workflow
