#ifndef FOVEA_FHIR_STORE_PG_CONNECTION_POOL_H_
#define FOVEA_FHIR_STORE_PG_CONNECTION_POOL_H_

// A bounded pool of libpq connections, opened lazily. A broken connection is dropped when it is
// returned, and a new one is opened on the next acquire, so the server recovers by itself when
// PostgreSQL comes back. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/store/pg/connection.h"

namespace fhir::store::pg {

class ConnectionPool {
 public:
  ConnectionPool(std::string dsn, std::size_t max_size,
                 std::chrono::milliseconds acquire_timeout = std::chrono::seconds(10));
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection borrowed from the pool; returned on destruction.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> c) : pool_(pool), conn_(std::move(c)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = default;
    ~Lease();
    PgConnection& operator*() { return *conn_; }
    PgConnection* operator->() { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // kUnavailable when the database cannot be reached or the pool stays exhausted.
  common::Result<Lease> Acquire();
  const std::string& dsn() const { return dsn_; }

 private:
  void Release(std::unique_ptr<PgConnection> c);

  const std::string dsn_;
  const std::size_t max_size_;
  const std::chrono::milliseconds acquire_timeout_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // GUARDED_BY(mu_)
  std::size_t open_ = 0;                             // GUARDED_BY(mu_): idle + leased
};

}  // namespace fhir::store::pg

#endif  // FOVEA_FHIR_STORE_PG_CONNECTION_POOL_H_
