#include "server/background_reindexer.h"

#include "common/log.h"
#include "server/reindex_command.h"

namespace server {

BackgroundReindexer::BackgroundReindexer(std::string dsn,
                                         std::shared_ptr<fhir::search::LiveRegistry> registry)
    : dsn_(std::move(dsn)), registry_(std::move(registry)), worker_([this] { Run(); }) {}

BackgroundReindexer::~BackgroundReindexer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void BackgroundReindexer::Enqueue(const std::vector<std::string>& types) {
  {
    std::lock_guard lock(mu_);
    pending_.insert(types.begin(), types.end());
  }
  wake_.notify_all();
}

void BackgroundReindexer::Run() {
  while (true) {
    std::vector<std::string> types;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      types.assign(pending_.begin(), pending_.end());
      pending_.clear();
    }
    auto report = ReindexTypes(dsn_, *registry_->Get(), types);
    if (!report.has_value()) {
      common::LogWarning("background reindex failed; run `fovea reindex`");
    }
  }
}

}  // namespace server
