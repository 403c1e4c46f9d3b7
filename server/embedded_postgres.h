#ifndef FOVEA_SERVER_EMBEDDED_POSTGRES_H_
#define FOVEA_SERVER_EMBEDDED_POSTGRES_H_

// Fovea's embedded default: a private PostgreSQL cluster under DATA_DIR/pg, initialised on first
// start, reused afterwards, reachable only through a unix socket, and stopped with the server.
// PostgreSQL refuses to run as root, so when Fovea runs as root the cluster runs as an
// unprivileged system user (`postgres` when it exists, else `nobody`).

#include <string>
#include <vector>

#include "common/status.h"

namespace server {

class EmbeddedPostgres {
 public:
  explicit EmbeddedPostgres(std::string data_dir);
  ~EmbeddedPostgres();  // stops the cluster if this object started it
  EmbeddedPostgres(const EmbeddedPostgres&) = delete;
  EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;

  // initdb when needed, then start; waits until it accepts connections.
  common::Status Start();
  common::Status Stop();
  // libpq connection string for the running cluster.
  std::string ConnectionString() const;

 private:
  common::Status RunAsOwner(const std::vector<std::string>& argv, const std::string& what) const;

  std::string root_;         // absolute DATA_DIR
  std::string pg_dir_;       // DATA_DIR/pg
  std::string socket_dir_;
  std::string bin_dir_;
  std::string log_file_;
  int owner_uid_ = -1;       // -1: run as ourselves
  int owner_gid_ = -1;
  bool started_ = false;
};

// The newest PostgreSQL bin directory (FOVEA_PG_BINDIR, /usr/lib/postgresql/*/bin, or PATH).
std::string FindPostgresBinDir();

}  // namespace server

#endif  // FOVEA_SERVER_EMBEDDED_POSTGRES_H_
