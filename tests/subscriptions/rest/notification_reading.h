#ifndef FOVEA_TESTS_SUBSCRIPTIONS_REST_NOTIFICATION_READING_H_
#define FOVEA_TESTS_SUBSCRIPTIONS_REST_NOTIFICATION_READING_H_

// What the subscription tests read back from the server: a websocket binding token and the
// values of a notification Bundle's status Parameters.

#include <boost/test/unit_test.hpp>

#include <string>

#include "common/json.h"
#include "tests/support/test_server.h"

namespace subscription_test {

// A $get-ws-binding-token token for Subscription/`id` (the test server trusts the caller).
inline std::string BindingToken(const test_support::TestServer& server, const std::string& id) {
  test_support::HttpResult r = server.Request("POST", "Subscription/" + id + "/$get-ws-binding-token");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  auto params = common::ParseJson(r.body);
  BOOST_REQUIRE_MESSAGE(params.has_value(), r.body);
  for (const common::JsonValue& p : params->Find("parameter")->items()) {
    if (p.Find("name")->scalar() == "token") return p.Find("valueString")->scalar();
  }
  return "";
}

// The status Parameters' (first entry's) value of `name` in a notification Bundle: a primitive's
// text, a Reference's reference; "" when absent.
inline std::string StatusValue(const common::JsonValue& bundle, const std::string& name) {
  const common::JsonValue& params = *bundle.Find("entry")->items().front().Find("resource");
  for (const common::JsonValue& p : params.Find("parameter")->items()) {
    if (p.Find("name")->scalar() != name) continue;
    for (const auto& [key, value] : p.members()) {
      if (key == "valueReference") return value.Find("reference")->scalar();
      if (key.rfind("value", 0) == 0 && !value.is_object()) return value.scalar();
    }
  }
  return "";
}

}  // namespace subscription_test

#endif  // FOVEA_TESTS_SUBSCRIPTIONS_REST_NOTIFICATION_READING_H_
