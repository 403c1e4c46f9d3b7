#include "fhir/store/pg/connection_pool.h"

namespace fhir::store::pg {

ConnectionPool::ConnectionPool(std::string dsn, std::size_t max_size,
                               std::chrono::milliseconds acquire_timeout)
    : dsn_(std::move(dsn)), max_size_(max_size), acquire_timeout_(acquire_timeout) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Release(std::move(conn_));
}

common::Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  for (;;) {
    std::unique_ptr<PgConnection> idle;
    {
      std::unique_lock lock(mu_);
      if (!available_.wait_for(lock, acquire_timeout_,
                               [&] { return !idle_.empty() || open_ < max_size_; })) {
        return common::UnavailableError("The database connection pool is exhausted; retry later");
      }
      if (!idle_.empty()) {
        idle = std::move(idle_.back());
        idle_.pop_back();
      } else {
        ++open_;  // reserve a slot, connect outside the lock
      }
    }
    if (idle != nullptr) {
      // A connection can break while it sits idle (PostgreSQL restarted, the session ended),
      // and libpq only notices when it reads the socket. Reading what is pending, without
      // blocking, finds that out here: the caller gets a working connection instead of a
      // failed request per stale connection after the database comes back.
      if (idle->StillConnected()) {
        return Lease(this, std::move(idle));
      }
      std::lock_guard lock(mu_);
      --open_;
      available_.notify_one();
      continue;
    }
    auto connected = PgConnection::Connect(dsn_);
    if (!connected.has_value()) {
      std::lock_guard lock(mu_);
      --open_;
      available_.notify_one();
      return connected.error();
    }
    return Lease(this, std::move(connected).value());
  }
}

void ConnectionPool::Release(std::unique_ptr<PgConnection> c) {
  std::lock_guard lock(mu_);
  if (c->healthy()) {
    idle_.push_back(std::move(c));
  } else {
    --open_;
  }
  available_.notify_one();
}

}  // namespace fhir::store::pg
