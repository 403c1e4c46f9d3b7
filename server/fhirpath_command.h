#ifndef FOVEA_SERVER_FHIRPATH_COMMAND_H_
#define FOVEA_SERVER_FHIRPATH_COMMAND_H_

// `fovea fhirpath [--resource FILE|-] [--batch] [EXPRESSION]`: evaluates FHIRPath against a
// resource (FHIR JSON, or FHIR XML when the text starts with '<'; `-` reads it from `in`) and
// prints the result as one JSON array line. Without --resource the focus is empty, so `1 + 1`
// works. With --batch, expressions are read one per line from `in` and each prints one line:
// its result array or {"error":"..."} (so a batch resource comes from a file, not `-`).
//
// Problems inside a readable resource are printed to `err` as warnings; the expression still
// runs on the tree. Exit codes: 0 success; 1 a syntax/evaluation error or an unreadable
// resource; 2 bad usage.

#include <iosfwd>
#include <string>
#include <vector>

namespace server {

// `args` are the arguments after "fhirpath".
int RunFhirpathCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err);

}  // namespace server

#endif  // FOVEA_SERVER_FHIRPATH_COMMAND_H_
