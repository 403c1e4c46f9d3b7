#include "fhir/store/resource_store.h"

namespace fhir::store {

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kCreate: return "POST";
    case Method::kUpdate: return "PUT";
    case Method::kDelete: return "DELETE";
  }
  return "PUT";
}

common::Status CheckNewResources(const std::vector<ResourceVersion>& resources) {
  for (const ResourceVersion& v : resources) {
    if (v.type.empty() || v.id.empty() || v.content.empty() || v.version != 1 || v.deleted ||
        v.method != Method::kCreate) {
      return common::InvalidError(
          "a created companion must be a first version (version 1, create, with content)");
    }
  }
  return common::Status::Ok();
}

}  // namespace fhir::store
