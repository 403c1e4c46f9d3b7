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

}  // namespace fhir::store
