// All 705 official R4 JSON examples through the real server: PUT with their id, then GET returns
// the same content apart from the server-set meta.versionId and meta.lastUpdated.

#include <boost/test/unit_test.hpp>

#include <map>

#include "common/json.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_server.h"

namespace {

// Examples the specification's own rules reject (see tests/fhir/format/json_format_test.cpp):
// the server must answer 400 for them and store nothing.
const std::map<std::string, std::string> kRejectedBySpec = {
    {"Questionnaire-qs1.json", "Questionnaire.item.linkId is required (1..1)"},
    // Subscription status is the server's to manage (Backport IG / R5: clients submit
    // requested or off; the server sets active and error).
    {"Subscription-example-error.json", "a client may not set Subscription.status to error"},
};

// Drops meta.versionId and meta.lastUpdated (and meta itself if nothing else is left).
common::JsonValue WithoutServerMeta(common::JsonValue v) {
  auto& members = v.members();
  for (auto it = members.begin(); it != members.end(); ++it) {
    if (it->first != "meta") continue;
    auto& meta = it->second.members();
    std::erase_if(meta, [](const auto& m) { return m.first == "versionId" || m.first == "lastUpdated"; });
    if (meta.empty()) members.erase(it);
    break;
  }
  return v;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(OfficialExamplesOverHttp, test_support::TestServer)

BOOST_AUTO_TEST_CASE(EveryExampleRoundTrips) {
  int round_tripped = 0, rejected = 0;
  for (const auto& path : test_support::OfficialJsonExamples()) {
    std::string name = path.filename().string();
    std::string text = test_support::ReadFile(path);
    auto original = common::ParseJson(text);
    BOOST_REQUIRE(original.has_value());
    std::string type = original->Find("resourceType")->scalar();
    std::string id = original->Find("id")->scalar();
    auto put = Request("PUT", type + "/" + id, text);
    if (kRejectedBySpec.count(name) > 0) {
      BOOST_CHECK_MESSAGE(put.status == 400, name << " should be rejected, got " << put.status);
      BOOST_CHECK_MESSAGE(Request("GET", type + "/" + id).status == 404, name << " was stored");
      ++rejected;
      continue;
    }
    BOOST_CHECK_MESSAGE(put.status == 201, name << ": PUT answered " << put.status << " " << put.body);
    if (put.status != 201) continue;
    auto get = Request("GET", type + "/" + id);
    BOOST_CHECK_MESSAGE(get.status == 200, name << ": GET answered " << get.status);
    auto stored = common::ParseJson(get.body);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST(stored->Find("meta")->Find("versionId")->scalar() == "1");
    bool same = common::JsonEquals(WithoutServerMeta(*original), WithoutServerMeta(*stored));
    BOOST_CHECK_MESSAGE(same, name << " came back different:\n" << get.body.substr(0, 2000));
    if (same) ++round_tripped;
  }
  BOOST_TEST(rejected == static_cast<int>(kRejectedBySpec.size()));
  BOOST_TEST(round_tripped == 705 - static_cast<int>(kRejectedBySpec.size()));
}

BOOST_AUTO_TEST_SUITE_END()
