#ifndef FOVEA_SERVER_BACKGROUND_REINDEXER_H_
#define FOVEA_SERVER_BACKGROUND_REINDEXER_H_

// Reindexes resource types on its own thread after their search parameters changed, so the
// request that changed a SearchParameter answers at once. Requests are coalesced; the worker
// stops (after the current batch) when the reindexer is destroyed. Thread-safe.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fhir/search/live_registry.h"

namespace server {

class BackgroundReindexer {
 public:
  BackgroundReindexer(std::string dsn, std::shared_ptr<fhir::search::LiveRegistry> registry);
  ~BackgroundReindexer();
  BackgroundReindexer(const BackgroundReindexer&) = delete;
  BackgroundReindexer& operator=(const BackgroundReindexer&) = delete;

  void Enqueue(const std::vector<std::string>& types);

 private:
  void Run();

  const std::string dsn_;
  const std::shared_ptr<fhir::search::LiveRegistry> registry_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::set<std::string> pending_;  // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace server

#endif  // FOVEA_SERVER_BACKGROUND_REINDEXER_H_
