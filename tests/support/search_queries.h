#ifndef FOVEA_TESTS_SUPPORT_SEARCH_QUERIES_H_
#define FOVEA_TESTS_SUPPORT_SEARCH_QUERIES_H_

// A search query string parsed as a test means it: strictly, against the R4 parameters, failing
// the test on any issue, with kTestBase as the server's base (absolute references on it are
// local).

#include <string>

#include "fhir/search/search_query.h"

namespace test_support {

inline constexpr const char* kTestBase = "https://fovea.test/fhir/R4";

fhir::search::SearchQuery StrictQuery(const std::string& type, const std::string& query);

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_SEARCH_QUERIES_H_
