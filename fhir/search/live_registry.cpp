#include "fhir/search/live_registry.h"

#include <algorithm>
#include <set>

#include "common/json.h"

namespace fhir::search {

common::Result<std::vector<std::string>> LiveRegistry::Reload(SearchBackend& backend) {
  SearchQuery query;
  query.type = "SearchParameter";
  query.count = 1000;
  std::vector<SearchParameter> custom;
  std::set<std::string> types;
  while (true) {
    FOVEA_ASSIGN_OR_RETURN(SearchResult page, backend.Search(query));
    for (const SearchMatch& m : page.matches) {
      auto json = common::ParseJson(m.content);
      if (!json.has_value()) continue;
      const common::JsonValue* status = json->Find("status");
      if (status == nullptr || status->scalar() != "active") continue;
      auto p = base_->FromResource(*json);
      if (!p.has_value()) continue;  // e.g. a copy of an R4 parameter: already searchable
      for (const std::string& b : p->base) types.insert(b);
      custom.push_back(std::move(p).value());
    }
    if (!page.next_cursor) break;
    query.cursor = page.next_cursor;
  }
  auto next = base_->WithCustom(custom);
  std::lock_guard lock(mu_);
  // Types of parameters removed since the last reload need their rows dropped too.
  for (const std::string& url : custom_urls_) {
    if (const SearchParameter* old = current_->FindByUrl(url)) {
      for (const std::string& b : old->base) types.insert(b);
    }
  }
  custom_urls_.clear();
  for (const auto& p : custom) custom_urls_.push_back(p.url);
  current_ = std::move(next);
  return std::vector<std::string>(types.begin(), types.end());
}

}  // namespace fhir::search
