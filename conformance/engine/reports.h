#ifndef FOVEA_CONFORMANCE_ENGINE_REPORTS_H_
#define FOVEA_CONFORMANCE_ENGINE_REPORTS_H_

// What a run leaves behind: the console summary, a FHIR TestReport per script
// (hl7.org/fhir/R4/testreport.html), JUnit XML for CI systems and one self-contained HTML page
// (no external assets). Pure functions of the results: thread-safe.

#include <ostream>
#include <string>
#include <vector>

#include "conformance/engine/executor.h"

namespace conformance::engine {

// Per script and per assert, with the failing request and response. `verbose` lists passed
// asserts too. A total line follows when there are several scripts.
void WriteConsole(const std::vector<ScriptResult>& results, std::ostream& out, bool verbose);

// The run as one TestReport resource (FHIR JSON).
std::string TestReportJson(const ScriptResult& result);

// Every script as a <testsuite>, every test (and a setup that did not pass) as a <testcase>.
std::string JUnitXml(const std::vector<ScriptResult>& results);

// One page a person reads in a browser.
std::string HtmlReport(const std::vector<ScriptResult>& results, const std::string& base);

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_REPORTS_H_
