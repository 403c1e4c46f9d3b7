#ifndef FOVEA_SERVER_SEARCH_PARAMETER_WATCHER_H_
#define FOVEA_SERVER_SEARCH_PARAMETER_WATCHER_H_

// Custom search parameters on every node (docs/SEARCH.md, "Custom parameters"). The node that
// stores a SearchParameter reloads its registry at once (FhirService) and then Announce()s it:
// NOTIFY fovea_search_parameters. Every other node's watcher hears it, reloads its registry
// and reindexes the types whose parameters changed, so resources it wrote before it knew of the
// change get their index rows too (reindexes are serialised across nodes: ReindexTypes). A
// fingerprint of the stored SearchParameters checked every `poll` catches an announcement lost
// to a crash between the commit and the NOTIFY, or to a listener that was reconnecting.
//
// Threads: one of its own; Announce() from any thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fhir/search/live_registry.h"
#include "fhir/search/search_backend.h"
#include "fhir/store/pg/connection_pool.h"

namespace server {

class SearchParameterWatcher {
 public:
  using Reindex = std::function<void(const std::vector<std::string>& types)>;

  SearchParameterWatcher(fhir::store::pg::ConnectionPool& pool, std::shared_ptr<fhir::search::LiveRegistry> registry,
                         fhir::search::SearchBackend& backend, Reindex reindex,
                         std::chrono::milliseconds poll = std::chrono::seconds(30));
  ~SearchParameterWatcher();  // stops the thread
  SearchParameterWatcher(const SearchParameterWatcher&) = delete;
  SearchParameterWatcher& operator=(const SearchParameterWatcher&) = delete;

  // This node changed the search parameters (and has reloaded): tells the others.
  void Announce();

 private:
  void Run();
  // Reloads when the stored SearchParameters differ from what was last loaded.
  void ReloadIfChanged(bool force);
  common::Result<std::string> Fingerprint();

  fhir::store::pg::ConnectionPool& pool_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  fhir::search::SearchBackend& backend_;
  const Reindex reindex_;
  const std::chrono::milliseconds poll_;
  const std::string node_;  // this node's announcements carry it, so it ignores its own
  std::mutex mu_;
  std::string loaded_;  // GUARDED_BY(mu_): the fingerprint of what the registry was loaded from
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace server

#endif  // FOVEA_SERVER_SEARCH_PARAMETER_WATCHER_H_
