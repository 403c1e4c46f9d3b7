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

common::Status CheckPlannedWrites(const std::vector<PlannedWrite>& writes) {
  for (const PlannedWrite& w : writes) {
    const ResourceVersion& v = w.version;
    if (v.type.empty() || v.id.empty() || w.expected_version < 0 ||
        v.version != w.expected_version + 1 || (v.deleted != v.content.empty())) {
      return common::InvalidError("a planned write must be the next version of its resource, "
                                  "with content unless it is a deletion");
    }
    if (w.expected_version == 0 && v.deleted) {
      return common::InvalidError("a planned write cannot delete a resource that does not exist");
    }
  }
  return common::Status::Ok();
}

common::Status ResourceStore::CreateAll(const std::vector<ResourceVersion>& batch) {
  FOVEA_RETURN_IF_ERROR(CheckNewResources(batch));
  std::vector<PlannedWrite> writes;
  writes.reserve(batch.size());
  for (const ResourceVersion& v : batch) writes.push_back({v, 0});
  return WriteAll(writes, {}, {});
}

}  // namespace fhir::store
