#ifndef FOVEA_TESTS_SUBSCRIPTIONS_REST_NOTIFICATION_READING_H_
#define FOVEA_TESTS_SUBSCRIPTIONS_REST_NOTIFICATION_READING_H_

// What the subscription tests read back from the server: a websocket binding token, the
// values of a notification Bundle's status Parameters, and what was NOTIFYd on a channel.

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "common/json.h"
#include "fhir/store/pg/connection.h"
#include "tests/support/test_server.h"

namespace subscription_test {

// The payloads `listener` (LISTENing on `channel`) receives up to a marker that `other` NOTIFYs
// on that channel now: everything committed before it, as delivery is in commit order.
inline std::vector<std::string> NotifiedUntilMarker(fhir::store::pg::PgConnection& listener,
                                                    fhir::store::pg::PgConnection& other,
                                                    const std::string& channel) {
  BOOST_REQUIRE(other.ExecuteUnprepared({"test.marker", "SELECT pg_notify($1, 'marker')"}, {channel}).has_value());
  std::vector<std::string> payloads;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<fhir::store::pg::PgNotification> received;
    BOOST_REQUIRE(listener.WaitForNotification(std::chrono::milliseconds(500), received).has_value());
    for (const auto& n : received) {
      if (n.payload == "marker") return payloads;
      payloads.push_back(n.payload);
    }
  }
  BOOST_FAIL("the marker never came");
  return payloads;
}

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
