#include "fhir/rest/patching.h"

#include "common/json_patch.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/patch/fhirpath_patch.h"
#include "fhir/rest/bundle_request.h"
#include "fhir/rest/media_types.h"

namespace fhir::rest {

using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;

namespace {

Status FirstIssue(const model::OperationOutcomeSink& issues, std::string_view what) {
  const model::Issue& first = issues.issues().front();
  return common::InvalidError(std::string(what) + ": " +
                              (first.location.empty() ? "" : first.location + ": ") +
                              first.diagnostics);
}

// The same resource still: a patch may change anything but what identifies it.
Status CheckIdentity(const JsonValue& patched, std::string_view type, std::string_view id) {
  const JsonValue* rt = patched.Find("resourceType");
  const JsonValue* pid = patched.Find("id");
  if (rt == nullptr || rt->scalar() != type || pid == nullptr || pid->scalar() != id) {
    return common::InvalidError("A patch may not change the resourceType or id");
  }
  return Status::Ok();
}

}  // namespace

Result<PatchDocument> PatchOfRequest(std::string_view content_type, std::string_view body,
                                     const definitions::Definitions& defs, std::size_t max_depth) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media == "application/json-patch+json") {
    return PatchDocument{PatchFormat::kJsonPatch, std::string(body)};
  }
  std::optional<FhirFormat> format = BodyFormat(content_type);
  if (!format) {
    return Status(StatusCode::kUnsupportedMedia,
                  "PATCH takes a JSON Patch (application/json-patch+json) or a FHIRPath Patch "
                  "(a Parameters resource as application/fhir+json or application/fhir+xml)");
  }
  if (*format == FhirFormat::kJson) return PatchDocument{PatchFormat::kFhirPathPatch, std::string(body)};
  model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(std::string json, XmlToJson(body, defs, issues, max_depth));
  if (issues.HasErrors()) return FirstIssue(issues, "The FHIRPath Patch is not valid FHIR XML");
  return PatchDocument{PatchFormat::kFhirPathPatch, std::move(json)};
}

Result<PatchDocument> PatchOfEntry(const JsonValue& resource) {
  const JsonValue* rt = resource.Find("resourceType");
  if (rt != nullptr && rt->scalar() == "Parameters") {
    return PatchDocument{PatchFormat::kFhirPathPatch, common::ToJson(resource)};
  }
  FOVEA_ASSIGN_OR_RETURN(std::string json_patch, JsonPatchOfBinary(resource));
  return PatchDocument{PatchFormat::kJsonPatch, std::move(json_patch)};
}

Result<std::string> ApplyPatch(const PatchDocument& patch, const std::string& current,
                               std::string_view type, std::string_view id,
                               const definitions::Definitions& defs, std::size_t max_depth) {
  if (patch.format == PatchFormat::kJsonPatch) {
    FOVEA_ASSIGN_OR_RETURN(JsonValue operations, common::ParseJson(patch.json, {.max_depth = max_depth}));
    FOVEA_ASSIGN_OR_RETURN(JsonValue document, common::ParseJson(current));
    auto patched = common::ApplyJsonPatch(document, operations);
    if (!patched.has_value()) return common::InvalidError(patched.error().message());
    FOVEA_RETURN_IF_ERROR(CheckIdentity(*patched, type, id));
    return common::ToJson(*patched);
  }
  model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(model::Element parameters,
                         format::ParseResourceJson(patch.json, defs, issues, {.max_depth = max_depth}));
  if (issues.HasErrors()) return FirstIssue(issues, "The FHIRPath Patch is not a valid Parameters");
  if (parameters.type()->name != "Parameters") {
    return common::InvalidError("A FHIRPath Patch is a Parameters resource, not a " +
                                parameters.type()->name);
  }
  model::OperationOutcomeSink stored_issues;
  FOVEA_ASSIGN_OR_RETURN(model::Element resource,
                         format::ParseResourceJson(current, defs, stored_issues));
  FOVEA_RETURN_IF_ERROR(patch::ApplyFhirPathPatch(resource, parameters, defs));
  std::string json = format::WriteResourceJson(resource);
  FOVEA_ASSIGN_OR_RETURN(JsonValue patched, common::ParseJson(json));
  FOVEA_RETURN_IF_ERROR(CheckIdentity(patched, type, id));
  return json;
}

}  // namespace fhir::rest
