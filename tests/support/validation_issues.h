#ifndef FOVEA_TESTS_SUPPORT_VALIDATION_ISSUES_H_
#define FOVEA_TESTS_SUPPORT_VALIDATION_ISSUES_H_

// Parses a JSON resource and validates it against R4: the issues as "location: diagnostics"
// lines, empty when it is valid (the parse error's message when it does not parse).

#include <string>

namespace test_support {

std::string ValidationIssues(const std::string& json);

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_VALIDATION_ISSUES_H_
