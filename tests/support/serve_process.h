#ifndef FOVEA_TESTS_SUPPORT_SERVE_PROCESS_H_
#define FOVEA_TESTS_SUPPORT_SERVE_PROCESS_H_

// A real `fovea serve` child process for process-level tests (several nodes on one database,
// SIGKILL, PostgreSQL restarted under it): started on 127.0.0.1 and a free port with auth off
// and no rate limit, its stdout and stderr captured in a file for failure messages.
//
//   ServeProcess a(FOVEA_BIN, db.dsn());           // waits until it logs "serving ..."
//   HttpResult r = a.Request("PUT", "Task/t1", body);
//   a.Kill();                                        // SIGKILL, reaped
//
// The child gets PR_SET_PDEATHSIG(SIGKILL) tied to the thread that started it, so a test that
// crashes or times out leaves no server behind: start servers from the test's own thread.
// Thread-compatible (Request is safe from several threads at once).

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_server.h"

namespace test_support {

class ServeProcess {
 public:
  // Starts `binary serve --database-url dsn --bind 127.0.0.1 --port 0 --auth off
  // --rate-limit 0 extra_args...` and waits up to `ready_within` for its "serving" line; throws
  // std::runtime_error carrying the process's output when it exits or stays silent instead.
  ServeProcess(std::string binary, std::string dsn, std::vector<std::string> extra_args = {},
               std::chrono::milliseconds ready_within = std::chrono::seconds(30));
  ~ServeProcess();  // SIGKILL when still running; removes the log file
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string base() const;  // http://127.0.0.1:PORT/fhir/R4
  bool running() const { return pid_ > 0; }

  // SIGKILL, then reap. No-op when it has already ended.
  void Kill();
  // SIGTERM and wait up to `within` for a clean exit (then SIGKILL); returns the exit status
  // (-1 when it had to be killed or had already ended).
  int Stop(std::chrono::milliseconds within = std::chrono::seconds(15));

  // Everything the process has written to stdout and stderr so far.
  std::string log() const;

  // One request on a fresh connection (`path` below the FHIR base unless it starts with '/'),
  // answered within `timeout`; status 0 when there was no answer (refused, reset, timed out).
  HttpResult Request(const std::string& method, const std::string& path,
                     const std::string& body = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  void Reap(bool wait);

  std::filesystem::path dir_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_SERVE_PROCESS_H_
