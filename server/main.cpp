// fovea: the FHIR R4 server for mobile screening units. See README.md.

#include <malloc.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/log.h"

#include "server/cert_command.h"
#include "server/admin_commands.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/conformance_command.h"
#include "server/fhirpath_command.h"
#include "server/load_command.h"

namespace {

// Every WebSocket is a descriptor held for hours, next to the HTTP connections and the
// database pool: `fovea serve` runs with its soft open-file limit at the hard limit (a soft
// limit of 1,024 is a common default; the hard one is usually far higher). The WebSocket loop
// derives its socket cap from the limit in force (subscriptions/websocket/socket_loop.h).
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  rlimit raised = limit;
  // An unlimited hard limit is not a value the kernel takes for descriptors (nr_open caps
  // it); its default of 2^20 is.
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
  if (raised.rlim_cur <= limit.rlim_cur) return;
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    common::LogWarning(std::string("cannot raise the open-file limit from ") +
                       std::to_string(limit.rlim_cur) + ": " + std::strerror(errno));
  }
}

// A server's heap is reused at once: each notification round allocates a frame per socket and
// frees it once written, each request its buffers. glibc hands freed memory at the top of a heap
// back to the kernel once more than 128 KB of it is free, and the next round takes it again
// through page faults; in a multi-threaded process every hand-back also interrupts the other
// CPUs to flush their TLBs (seen in a profile of the WebSocket fan-out, docs/PERFORMANCE.md).
// Up to 64 MB per arena are kept instead; blocks of 4 MB and more still come from mmap and go
// back to the kernel when freed.
void KeepFreedMemory() {
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // `fovea fhirpath` has its own arguments (an expression is not a flag).
  if (!args.empty() && args[0] == "fhirpath") {
    return server::RunFhirpathCommand({args.begin() + 1, args.end()}, std::cin, std::cout,
                                      std::cerr);
  }
  // `fovea cert dev` likewise has a subcommand and flags of its own.
  if (!args.empty() && args[0] == "cert") {
    return server::RunCertCommand({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  // Account administration parses its own flags.
  if (!args.empty() && args[0] == "user") {
    return server::RunUserCommand({args.begin() + 1, args.end()}, std::cin, std::cout, std::cerr);
  }
  if (!args.empty() && args[0] == "client") {
    return server::RunClientCommand({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  // `fovea load FILE...` takes files as well as database flags.
  if (!args.empty() && args[0] == "load") {
    return server::RunLoadCommand({args.begin() + 1, args.end()}, std::cerr, std::cerr);
  }
  // `fovea conformance run --base URL SUITE...` talks to any FHIR server, never the database.
  if (!args.empty() && args[0] == "conformance") {
    return server::RunConformanceCommand({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  if (!args.empty() && args[0] == "key") {
    return server::RunKeyCommand({args.begin() + 1, args.end()}, std::cout, std::cerr);
  }
  auto config = server::ParseConfig(args);
  if (!config.has_value()) {
    std::cerr << "fovea: " << config.error().message() << "\n";
    return 2;
  }
  if (config->command == "help") {
    std::cout << server::UsageText();
    return 0;
  }
  if (config->command == "version") {
    std::cout << "fovea 0.1.0 (FHIR R4 4.0.1)\n";
    return 0;
  }
  if (config->command == "migrate") return server::RunMigrate(*config);
  if (config->command == "reindex") return server::RunReindex(*config);
  RaiseOpenFileLimit();
  KeepFreedMemory();
  return server::RunServe(*config);
}
