#include "fhir/audit/detail/resources.h"

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"

namespace fhir::audit::detail {

using common::JsonValue;

JsonValue Coding(std::string_view system, std::string_view code, std::string_view display) {
  JsonValue coding = JsonValue::Object();
  if (!system.empty()) coding.Set("system", JsonValue::String(std::string(system)));
  if (!code.empty()) coding.Set("code", JsonValue::String(std::string(code)));
  if (!display.empty()) coding.Set("display", JsonValue::String(std::string(display)));
  return coding;
}

JsonValue CodeableConcept(std::string_view system, std::string_view code,
                          std::string_view display) {
  JsonValue codings = JsonValue::Array();
  codings.Add(Coding(system, code, display));
  JsonValue cc = JsonValue::Object();
  cc.Set("coding", std::move(codings));
  return cc;
}

namespace {

// The parameters the server's own Provenance is searched by: what a write produced
// (`target`, and `_revinclude=Provenance:target`), whose data (`patient`), who (`agent`) and
// when (`recorded`). Index rows cost every write; the others (agent-type, agent-role,
// signature-type, full text, ...) would describe every automatic Provenance alike, and `entity`
// (its only entity is the request id) would add an `entity:identifier` row to each.
bool Searched(std::string_view param) {
  return param == "target" || param == "patient" || param == "agent" || param == "recorded";
}

}  // namespace

common::Result<store::ResourceVersion> NewResource(const JsonValue& resource, common::TimePoint now,
                                                   const search::SearchParameterRegistry* registry) {
  model::FailFastSink issues;
  auto root = format::ResourceFromJson(resource, definitions::Definitions::R4(), issues);
  if (!root.has_value() || issues.HasErrors()) {
    return common::InternalError("an audit resource could not be built");
  }
  store::ResourceVersion v;
  v.id = model::LogicalId::Generate().value();
  v.type = root->type()->name;
  v.version = 1;
  v.last_updated = now;
  v.method = store::Method::kCreate;
  root->SetPrimitiveChild("id", v.id);
  model::Element* meta = root->ChildOrAdd("meta");
  meta->SetPrimitiveChild("versionId", "1");
  meta->SetPrimitiveChild("lastUpdated", common::FormatInstant(now));
  v.content = format::WriteResourceJson(*root);
  if (registry != nullptr) {
    // Only these are evaluated: the others' rows would be thrown away.
    v.index_rows_json = search::ExtractIndex(*root, *registry, Searched).ToJson();
  }
  return v;
}

}  // namespace fhir::audit::detail
