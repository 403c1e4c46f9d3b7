// fovea: the FHIR R4 server for mobile screening units. See README.md.

#include <iostream>
#include <string>
#include <vector>

#include "server/cert_command.h"
#include "server/admin_commands.h"
#include "server/commands.h"
#include "server/config.h"
#include "server/fhirpath_command.h"
#include "server/load_command.h"

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
  return server::RunServe(*config);
}
