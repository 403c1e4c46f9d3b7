#include "server/search_parameter_watcher.h"

#include <random>

#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/store/pg/connection.h"

namespace server {

using fhir::store::pg::PgConnection;
using fhir::store::pg::PgQuery;

namespace {

constexpr PgQuery kListen{"sp_watch.listen", "LISTEN fovea_search_parameters"};
constexpr PgQuery kAnnounce{"sp_watch.announce", "SELECT pg_notify('fovea_search_parameters', $1)"};
// Any change to the stored SearchParameters (created, updated, deleted) changes this.
constexpr PgQuery kFingerprint{
    "sp_watch.fingerprint",
    "SELECT count(*)::text || '/' || coalesce(sum(version), 0)::text || '/' ||"
    " coalesce(max(last_updated)::text, '') FROM resource WHERE type = 'SearchParameter'"};

std::string RandomNodeId() {
  std::random_device random;
  return std::to_string(random()) + std::to_string(random());
}

}  // namespace

SearchParameterWatcher::SearchParameterWatcher(fhir::store::pg::ConnectionPool& pool,
                                               std::shared_ptr<fhir::search::LiveRegistry> registry,
                                               fhir::search::SearchBackend& backend, Reindex reindex,
                                               std::chrono::milliseconds poll)
    : pool_(pool),
      registry_(std::move(registry)),
      backend_(backend),
      reindex_(std::move(reindex)),
      poll_(poll),
      node_(RandomNodeId()) {
  // What the registry was loaded from at start-up (LoadRegistry ran just before).
  if (auto f = Fingerprint(); f.has_value()) loaded_ = *f;  // no thread yet
  thread_ = std::thread([this] {
    common::NameThisThread("fovea-sp-watch");
    Run();
  });
}

SearchParameterWatcher::~SearchParameterWatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void SearchParameterWatcher::Announce() {
  // This node has reloaded already: its own check must not take the change for a remote one.
  if (auto f = Fingerprint(); f.has_value()) {
    std::lock_guard lock(mu_);
    loaded_ = *f;
  }
  auto conn = pool_.Acquire();
  if (!conn.has_value() || !(*conn)->Execute(kAnnounce, {node_}).has_value()) {
    common::LogWarning("search parameters changed but other nodes could not be told; they notice within "
                       "their next check");
  }
}

common::Result<std::string> SearchParameterWatcher::Fingerprint() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(auto rows, conn->Execute(kFingerprint, {}));
  return std::string(rows.Get(0, 0));
}

void SearchParameterWatcher::ReloadIfChanged(bool force) {
  auto now = Fingerprint();
  if (!now.has_value()) return;
  {
    std::lock_guard lock(mu_);
    if (!force && *now == loaded_) return;
  }
  auto types = registry_->Reload(backend_);
  if (!types.has_value()) {
    common::LogWarning("search parameters changed on another node but could not be reloaded here");
    return;
  }
  {
    std::lock_guard lock(mu_);
    loaded_ = *now;
  }
  common::LogInfo("search parameters reloaded after a change on another node");
  if (!types->empty() && reindex_) reindex_(*types);
}

void SearchParameterWatcher::Run() {
  std::unique_ptr<PgConnection> listener;
  auto next_check = std::chrono::steady_clock::now() + poll_;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    if (listener == nullptr || !listener->healthy()) {
      auto connected = PgConnection::Connect(pool_.dsn());
      if (connected.has_value() && (*connected)->ExecuteUnprepared(kListen, {}).has_value()) {
        listener = std::move(connected).value();
        ReloadIfChanged(false);  // whatever was announced while not listening
      } else {
        listener.reset();
        std::unique_lock lock(mu_);
        stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
        continue;
      }
    }
    std::vector<fhir::store::pg::PgNotification> received;
    auto woke = listener->WaitForNotification(std::chrono::milliseconds(250), received);
    if (!woke.has_value()) {
      listener.reset();
      continue;
    }
    bool from_another_node = false;
    for (const auto& n : received) from_another_node = from_another_node || n.payload != node_;
    if (from_another_node) {
      ReloadIfChanged(true);
    } else if (std::chrono::steady_clock::now() >= next_check) {
      ReloadIfChanged(false);
    }
    if (std::chrono::steady_clock::now() >= next_check) next_check = std::chrono::steady_clock::now() + poll_;
  }
}

}  // namespace server
