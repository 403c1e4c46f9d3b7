#include "tests/support/search_queries.h"

#include <boost/test/unit_test.hpp>

#include "common/url.h"
#include "fhir/model/issues.h"
#include "fhir/search/search_parameter.h"

namespace test_support {

fhir::search::SearchQuery StrictQuery(const std::string& type, const std::string& query) {
  fhir::model::OperationOutcomeSink issues;
  fhir::search::SearchOptions options;
  options.strict = true;
  auto q = fhir::search::ParseSearch(type, common::ParseQueryString(query),
                                     *fhir::search::SearchParameterRegistry::R4(), options, issues);
  BOOST_REQUIRE_MESSAGE(!issues.HasErrors(), query);
  q.base_url = kTestBase;
  return q;
}

}  // namespace test_support
