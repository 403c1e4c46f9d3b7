#include "server/embedded_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

#include "common/log.h"

namespace server {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSuperuser = "fovea";
constexpr const char* kPort = "5432";  // only names the socket file; there is no TCP listener

bool IsExecutable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0; }

}  // namespace

std::string FindPostgresBinDir() {
  if (const char* env = std::getenv("FOVEA_PG_BINDIR"); env != nullptr && *env != '\0') return env;
  fs::path best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = std::atoi(entry.path().filename().c_str());
    fs::path bin = entry.path() / "bin";
    if (version > best_version && IsExecutable(bin / "initdb")) {
      best_version = version;
      best = bin;
    }
  }
  if (!best.empty()) return best.string();
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    std::size_t start = 0;
    while (start <= p.size()) {
      std::size_t colon = p.find(':', start);
      fs::path dir = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (IsExecutable(dir / "initdb") && IsExecutable(dir / "pg_ctl")) return dir.string();
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return {};
}

EmbeddedPostgres::EmbeddedPostgres(std::string data_dir) {
  std::error_code ec;
  root_ = fs::absolute(data_dir, ec).lexically_normal().string();
  if (!root_.empty() && root_.back() == '/') root_.pop_back();
  pg_dir_ = root_ + "/pg";
  log_file_ = root_ + "/postgresql.log";
  // Unix socket paths are limited to ~107 bytes; fall back to a private /tmp dir when long.
  socket_dir_ = pg_dir_;
  if (socket_dir_.size() + 20 > 100) {
    socket_dir_ = "/tmp/fovea-pg-" + std::to_string(std::hash<std::string>{}(pg_dir_) % 1000000007);
  }
}

EmbeddedPostgres::~EmbeddedPostgres() {
  if (started_) (void)Stop();
}

std::string EmbeddedPostgres::ConnectionString() const {
  return "host=" + socket_dir_ + " port=" + kPort + " dbname=postgres user=" + kSuperuser;
}

common::Status EmbeddedPostgres::RunAsOwner(const std::vector<std::string>& argv,
                                            const std::string& what) const {
  pid_t pid = ::fork();
  if (pid < 0) return common::InternalError("fork failed while starting PostgreSQL");
  if (pid == 0) {
    if (owner_uid_ >= 0) {
      struct passwd* pw = ::getpwuid(static_cast<uid_t>(owner_uid_));
      if (::setgroups(0, nullptr) != 0 || ::setgid(static_cast<gid_t>(owner_gid_)) != 0 ||
          ::setuid(static_cast<uid_t>(owner_uid_)) != 0) {
        ::_exit(126);
      }
      if (pw != nullptr) ::setenv("HOME", pw->pw_dir, 1);
      if (::access(root_.c_str(), X_OK) != 0) {
        std::fprintf(stderr,
                     "fovea: PostgreSQL runs as an unprivileged user, who cannot reach %s. "
                     "Make its parent directories traversable (chmod o+x) or use --data-dir "
                     "under a traversable directory.\n",
                     root_.c_str());
        ::_exit(125);
      }
    }
    int log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log >= 0) {
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::close(log);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return common::Status::Ok();
  return common::UnavailableError("PostgreSQL " + what + " failed (exit " +
                                  std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                                  "); see " + log_file_);
}

common::Status EmbeddedPostgres::Start() {
  bin_dir_ = FindPostgresBinDir();
  if (bin_dir_.empty()) {
    return common::UnavailableError(
        "No PostgreSQL server binaries found: install them (scripts/install-deps.sh) or pass "
        "--database-url");
  }
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return common::UnavailableError("Cannot create " + root_ + ": " + ec.message());
  if (::geteuid() == 0) {
    // PostgreSQL will not run as root: hand the cluster to an unprivileged system user.
    struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) pw = ::getpwnam("nobody");
    if (pw == nullptr) return common::UnavailableError("No unprivileged user to run PostgreSQL");
    owner_uid_ = static_cast<int>(pw->pw_uid);
    owner_gid_ = static_cast<int>(pw->pw_gid);
  }
  bool fresh = !fs::exists(pg_dir_ + "/PG_VERSION");
  if (fresh) fs::create_directories(pg_dir_, ec);
  if (socket_dir_ != pg_dir_) fs::create_directories(socket_dir_, ec);
  int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) ::close(fd);
  if (owner_uid_ >= 0) {
    for (const std::string& p : {pg_dir_, socket_dir_, log_file_}) {
      if (::chown(p.c_str(), static_cast<uid_t>(owner_uid_), static_cast<gid_t>(owner_gid_)) != 0) {
        return common::UnavailableError("Cannot hand " + p + " to the PostgreSQL user");
      }
    }
  }
  ::chmod(pg_dir_.c_str(), 0700);
  ::chmod(socket_dir_.c_str(), 0700);
  if (fresh) {
    common::LogInfo("initialising the embedded PostgreSQL cluster in " + pg_dir_);
    FOVEA_RETURN_IF_ERROR(RunAsOwner({bin_dir_ + "/initdb", "-D", pg_dir_, "-U", kSuperuser,
                                      "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"},
                                     "initdb"));
  }
  // A cluster left running by a crashed server is reused as it is.
  if (RunAsOwner({bin_dir_ + "/pg_ctl", "-D", pg_dir_, "status"}, "status").ok()) {
    common::LogInfo("reusing the running embedded PostgreSQL");
    started_ = true;
    return common::Status::Ok();
  }
  std::string options = std::string("-c listen_addresses='' -c port=") + kPort +
                        " -c unix_socket_directories=" + socket_dir_ +
                        " -c unix_socket_permissions=0700 -c max_connections=200"
                        " -c shared_buffers=256MB";
  FOVEA_RETURN_IF_ERROR(RunAsOwner({bin_dir_ + "/pg_ctl", "-D", pg_dir_, "-l", log_file_, "-w",
                                    "-t", "60", "-o", options, "start"},
                                   "start"));
  started_ = true;
  common::LogInfo("embedded PostgreSQL is running (socket in " + socket_dir_ + ")");
  return common::Status::Ok();
}

common::Status EmbeddedPostgres::Stop() {
  if (!started_) return common::Status::Ok();
  started_ = false;
  common::LogInfo("stopping the embedded PostgreSQL");
  return RunAsOwner({bin_dir_ + "/pg_ctl", "-D", pg_dir_, "-m", "fast", "-w", "stop"}, "stop");
}

}  // namespace server
