#include "fhir/rest/writes.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "common/url.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"

namespace fhir::rest {

void StampResource(model::Element& root, const std::string& id, int version, common::TimePoint at) {
  root.SetPrimitiveChild("id", id);
  model::Element* meta = root.ChildOrAdd("meta");
  meta->SetPrimitiveChild("versionId", std::to_string(version));
  meta->SetPrimitiveChild("lastUpdated", common::FormatInstant(at));
}

bool ContainsCaseInsensitive(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < needle.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(haystack[i + j])) ==
              std::tolower(static_cast<unsigned char>(needle[j]));
    }
    if (match) return true;
  }
  return false;
}

PreferReturn ParsePrefer(std::string_view prefer) {
  if (ContainsCaseInsensitive(prefer, "return=minimal")) return PreferReturn::kMinimal;
  if (ContainsCaseInsensitive(prefer, "return=operationoutcome")) {
    return PreferReturn::kOperationOutcome;
  }
  return PreferReturn::kRepresentation;
}

Params WithoutFormatParameters(Params criteria) {
  std::erase_if(criteria, [](const auto& kv) {
    return kv.first == "_format" || kv.first == "_pretty";
  });
  return criteria;
}

std::string CanonicalCriteria(std::string_view type, const Params& criteria) {
  Params sorted = WithoutFormatParameters(criteria);
  std::sort(sorted.begin(), sorted.end());
  return std::string(type) + "?" + common::BuildQueryString(sorted);
}

std::int64_t CriteriaLockKey(const std::string& canonical_criteria) {
  return static_cast<std::int64_t>(std::hash<std::string>{}("cond:" + canonical_criteria));
}

store::ResourceVersion VersionOf(model::Element& root, const std::string& type, const std::string& id,
                                 int version, store::Method method, common::TimePoint at,
                                 const search::SearchParameterRegistry* registry) {
  StampResource(root, id, version, at);
  store::ResourceVersion v;
  v.type = type;
  v.id = id;
  v.version = version;
  v.last_updated = at;
  v.method = method;
  v.content = format::WriteResourceJson(root);
  if (registry != nullptr) v.index_rows_json = search::ExtractIndex(root, *registry).ToJson();
  return v;
}

common::Result<store::ResourceVersion> VersionOfJson(std::string_view json, const std::string& type,
                                                     const std::string& id, int version, store::Method method,
                                                     common::TimePoint at,
                                                     const search::SearchParameterRegistry* registry) {
  model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(model::Element root,
                         format::ParseResourceJson(json, definitions::Definitions::R4(), issues));
  return VersionOf(root, type, id, version, method, at, registry);
}

common::Status EnsureShipped(store::ResourceStore& store,
                             const std::vector<std::pair<std::string, std::string_view>>& resources,
                             common::TimePoint at, const search::SearchParameterRegistry* registry) {
  for (const auto& [type, json] : resources) {
    model::OperationOutcomeSink issues;
    FOVEA_ASSIGN_OR_RETURN(model::Element root,
                           format::ParseResourceJson(json, definitions::Definitions::R4(), issues));
    const model::Element* id = root.Child("id");
    if (id == nullptr || !id->has_value()) return common::InternalError("shipped " + type + " without id");
    const std::string resource_id = id->value();  // a copy: stamping rewrites root's id
    auto head = store.Head(type, resource_id);
    if (head.has_value()) continue;  // there (or deleted on purpose)
    if (head.error().code() != common::StatusCode::kNotFound) return head.error();
    store::ResourceVersion v = VersionOf(root, type, resource_id, 1, store::Method::kCreate, at, registry);
    common::Status written = store.Write(v, 0);
    if (!written.ok() && written.code() != common::StatusCode::kVersionConflict) return written;
  }
  return common::Status::Ok();
}

}  // namespace fhir::rest
