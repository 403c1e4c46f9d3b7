#ifndef FOVEA_CONFORMANCE_ENGINE_EXECUTOR_H_
#define FOVEA_CONFORMANCE_ENGINE_EXECUTOR_H_

// Runs one TestScript against a FHIR server: fixtures (files, autocreate, autodelete),
// variables (${name} substitution, evaluated when used), setup, each test, teardown, and the
// Fovea operations for callbacks (fovea-receiver: see docs/CONFORMANCE.md). An assert that
// fails stops its test (the rest is reported as skipped); a failed setup skips every test;
// teardown always runs. Thread-compatible: one Executor per thread.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "conformance/engine/asserts.h"
#include "conformance/engine/http_transport.h"
#include "conformance/engine/receiver.h"
#include "conformance/engine/test_script.h"

namespace conformance::engine {

// The Fovea operation codes (TestScript.setup.action.operation.type) for callbacks.
inline constexpr std::string_view kFoveaOperationSystem =
    "https://fovea.dev/fhir/CodeSystem/testscript-operation";

struct RunOptions {
  std::string base;                          // FHIR base URL (a trailing '/' is dropped)
  HeaderList headers;                        // sent with every request (Authorization)
  std::map<std::string, std::string> variables;  // --var NAME=VALUE: override the script's
  std::chrono::milliseconds receiver_timeout = std::chrono::seconds(30);
  std::vector<std::string> fixture_dirs;     // extra places to look for fixture files
  std::map<int, std::string> destinations;   // operation.destination -> base URL (else `base`)
  // Where the callback receiver listens, and the URL the server is told (${receiverUrl}) when
  // that is not http://BIND:PORT/hook (a tunnel, a NAT).
  std::string receiver_bind = "127.0.0.1";
  std::string receiver_url;
  std::string ca_file;  // trusted for wss:// besides the system's (the transport has its own)
};

struct ActionResult {
  bool is_operation = false;
  std::string label;        // the label, else the description, else the kind
  Outcome outcome = Outcome::kPass;
  std::string message;
  std::optional<Exchange> exchange;  // for operations, and for failed asserts (the last one)
};

struct SectionResult {
  std::string name;
  std::string description;
  Outcome outcome = Outcome::kPass;  // kSkip with `message` as the reason
  std::string message;
  std::vector<ActionResult> actions;
};

struct ScriptResult {
  std::string file;
  std::string name;
  std::string id;
  std::string url;
  Outcome outcome = Outcome::kPass;  // kError: could not run; kSkip: nothing ran
  std::string message;
  std::optional<SectionResult> setup;
  std::vector<SectionResult> tests;
  std::optional<SectionResult> teardown;
  std::string started;   // ISO 8601
  double seconds = 0;

  // Counts of asserts by outcome, over setup and tests.
  int Count(Outcome o) const;
  // Every non-warning assert passed and nothing errored.
  bool Passed() const { return outcome == Outcome::kPass; }
};

class Executor {
 public:
  // `transport` is borrowed. A script that uses ${receiverUrl} or the receiver operations
  // gets its own loopback Receiver for the length of its run.
  Executor(HttpTransport& transport, RunOptions options);

  ScriptResult Run(const TestScript& script);

 private:
  HttpTransport& transport_;
  RunOptions options_;
};

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_EXECUTOR_H_
