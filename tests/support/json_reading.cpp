#include "tests/support/json_reading.h"

#include <boost/test/unit_test.hpp>

namespace test_support {

common::JsonValue ParseJsonOrFail(const std::string& text) {
  auto json = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(json.has_value(), text);
  return std::move(json).value();
}

}  // namespace test_support
