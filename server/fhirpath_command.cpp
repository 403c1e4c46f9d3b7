#include "server/fhirpath_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>

#include "common/json.h"
#include "fhir/definitions/definitions.h"
#include "fhir/fhirpath/fhirpath.h"
#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"

namespace server {

namespace {

constexpr const char* kUsage =
    "usage: fovea fhirpath [--resource FILE|-] EXPRESSION\n"
    "       fovea fhirpath [--resource FILE] --batch   (expressions on stdin, one per line)\n";

common::Result<fhir::model::Element> LoadResource(const std::string& text, std::ostream& err) {
  const auto& defs = fhir::definitions::Definitions::R4();
  fhir::model::OperationOutcomeSink issues;
  std::size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  bool xml = first != std::string::npos && text[first] == '<';
  auto parsed = xml ? fhir::format::ParseResourceXml(text, defs, issues)
                    : fhir::format::ParseResourceJson(text, defs, issues);
  if (!parsed.has_value()) return parsed.error();
  // The tree is still usable; the warnings say why a path may come back empty.
  for (const auto& issue : issues.issues()) {
    err << "fovea fhirpath: warning: " << (issue.location.empty() ? "" : issue.location + ": ")
        << issue.diagnostics << "\n";
  }
  return parsed;
}

// One expression: the result array, or the error.
common::Result<std::string> EvaluateOne(const std::string& expression,
                                        const fhir::model::Element& focus) {
  FOVEA_ASSIGN_OR_RETURN(auto compiled, fhir::fhirpath::Compile(expression));
  FOVEA_ASSIGN_OR_RETURN(auto result, fhir::fhirpath::Evaluate(*compiled, focus));
  return fhir::fhirpath::CollectionToJson(result);
}

}  // namespace

int RunFhirpathCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err) {
  std::optional<std::string> resource_path;
  std::optional<std::string> expression;
  bool batch = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--resource") {
      if (i + 1 >= args.size()) {
        err << "fovea fhirpath: --resource needs a file name (or -)\n" << kUsage;
        return 2;
      }
      resource_path = args[++i];
    } else if (a.rfind("--resource=", 0) == 0) {
      resource_path = a.substr(11);
    } else if (a == "--batch") {
      batch = true;
    } else if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    } else if (a.size() > 2 && a.rfind("--", 0) == 0) {
      err << "fovea fhirpath: unknown option " << a << "\n" << kUsage;
      return 2;
    } else if (!expression) {
      expression = a;
    } else {
      err << "fovea fhirpath: one expression only (quote it)\n" << kUsage;
      return 2;
    }
  }
  if (batch == expression.has_value()) {
    err << "fovea fhirpath: give either an EXPRESSION or --batch\n" << kUsage;
    return 2;
  }
  if (batch && resource_path == "-") {
    err << "fovea fhirpath: --batch reads expressions from stdin, so the resource must be a file\n";
    return 2;
  }

  fhir::model::Element focus;  // no resource: an empty focus
  if (resource_path) {
    std::string text;
    if (*resource_path == "-") {
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else {
      std::ifstream file(*resource_path, std::ios::binary);
      if (!file) {
        err << "fovea fhirpath: cannot read " << *resource_path << "\n";
        return 1;
      }
      std::ostringstream ss;
      ss << file.rdbuf();
      text = ss.str();
    }
    auto loaded = LoadResource(text, err);
    if (!loaded.has_value()) {
      err << "fovea fhirpath: " << loaded.error().message() << "\n";
      return 1;
    }
    focus = std::move(loaded).value();
  }

  if (!batch) {
    auto result = EvaluateOne(*expression, focus);
    if (!result.has_value()) {
      err << "fovea fhirpath: " << result.error().message() << "\n";
      return 1;
    }
    out << *result << "\n";
    return 0;
  }

  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto result = EvaluateOne(line, focus);
    if (result.has_value()) {
      out << *result << "\n";
    } else {
      std::string json = "{\"error\":";
      common::AppendJsonString(json, result.error().message());
      out << json << "}\n";
    }
  }
  return 0;
}

}  // namespace server
