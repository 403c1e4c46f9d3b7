#ifndef FOVEA_FHIR_SEARCH_LIVE_REGISTRY_H_
#define FOVEA_FHIR_SEARCH_LIVE_REGISTRY_H_

// The registry in force: the R4 parameters plus the SearchParameter resources created through
// the API. Readers take an immutable snapshot per request; a change swaps in a whole new
// registry. Thread-safe.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/search/search_backend.h"
#include "fhir/search/search_parameter.h"

namespace fhir::search {

class LiveRegistry {
 public:
  explicit LiveRegistry(std::shared_ptr<const SearchParameterRegistry> base)
      : base_(base), current_(std::move(base)) {}

  std::shared_ptr<const SearchParameterRegistry> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  const SearchParameterRegistry& base() const { return *base_; }

  // Rebuilds from the active SearchParameter resources stored now. Returns the resource types
  // whose parameters may have changed (to reindex). Resources Fovea cannot search are skipped.
  common::Result<std::vector<std::string>> Reload(SearchBackend& backend);

 private:
  const std::shared_ptr<const SearchParameterRegistry> base_;
  mutable std::mutex mu_;
  std::shared_ptr<const SearchParameterRegistry> current_;  // GUARDED_BY(mu_)
  std::vector<std::string> custom_urls_;                     // GUARDED_BY(mu_)
};

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_LIVE_REGISTRY_H_
