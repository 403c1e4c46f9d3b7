#include "tests/support/validation_issues.h"

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/validation/validator.h"

namespace test_support {

std::string ValidationIssues(const std::string& json) {
  fhir::model::OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceJson(json, fhir::definitions::Definitions::R4(), issues);
  if (!parsed.has_value()) return parsed.error().message();
  fhir::validation::ValidateResource(*parsed, fhir::model::IssueScope(issues, parsed->type()->name));
  std::string text;
  for (const auto& i : issues.issues()) text += i.location + ": " + i.diagnostics + "\n";
  return text;
}

}  // namespace test_support
