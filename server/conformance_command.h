#ifndef FOVEA_SERVER_CONFORMANCE_COMMAND_H_
#define FOVEA_SERVER_CONFORMANCE_COMMAND_H_

// `fovea conformance run --base URL [options] SUITE_OR_FILE...`: runs TestScripts against any
// FHIR server (conformance/engine, docs/CONFORMANCE.md) and prints a summary per script and per
// assert. Options: --auth-token T, or SMART backend services (--client-id ID --private-key PEM
// [--key-alg RS384] [--kid KID] [--scope S] [--token-url URL]); --junit FILE, --report FILE|DIR
// (a Bundle of TestReports, or one TestReport file per script in DIR), --html FILE;
// --ca-file PEM; --var NAME=VALUE; --fixtures DIR;
// --verbose; --timeout SECONDS; --receiver-bind ADDR and --receiver-url URL (a callback
// receiver a remote server can reach); --destination N=URL (multi-server scripts).
//
// Exit codes: 0 every script passed (no non-warning assert failed, nothing skipped); 1 a
// failure or an error; 3 nothing failed but something was skipped (a missing fixture, a
// variable without a value); 2 bad usage, an unparsable script or an unreachable server.

#include <iosfwd>
#include <string>
#include <vector>

namespace server {

// `args` are the arguments after "conformance".
int RunConformanceCommand(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err);

}  // namespace server

#endif  // FOVEA_SERVER_CONFORMANCE_COMMAND_H_
