// PATCH with JSON Patch over HTTP: applied to the current version and validated like an update.

#include <boost/test/unit_test.hpp>

#include <string>

#include "common/json.h"
#include "tests/support/test_server.h"

namespace {

using test_support::HttpResult;
using test_support::TestServer;

const std::vector<std::pair<std::string, std::string>> kJsonPatch = {
    {"Content-Type", "application/json-patch+json"}};

BOOST_AUTO_TEST_SUITE(JsonPatchOverHttp)

BOOST_AUTO_TEST_CASE(PatchesAreAppliedValidatedAndVersioned) {
  TestServer server;
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Patient/mei",
                                     R"({"resourceType":"Patient","id":"mei","name":[{"family":"Tan"}]})")
                          .status,
                      201);
  HttpResult patched = server.Request(
      "PATCH", "Patient/mei",
      R"([{"op":"test","path":"/name/0/family","value":"Tan"},{"op":"replace","path":"/name/0/family","value":"Lim"},{"op":"add","path":"/gender","value":"female"}])",
      kJsonPatch);
  BOOST_REQUIRE_MESSAGE(patched.status == 200, patched.body);
  BOOST_TEST(patched.Header("ETag") == "W/\"2\"");
  BOOST_TEST(patched.body.find(R"("family":"Lim")") != std::string::npos);
  BOOST_TEST(server.Request("GET", "Patient/mei/_history/2").body.find("female") != std::string::npos);

  // A failed test changes nothing.
  HttpResult failed = server.Request(
      "PATCH", "Patient/mei", R"([{"op":"test","path":"/name/0/family","value":"Tan"}])", kJsonPatch);
  BOOST_TEST(failed.status == 400);
  // The result must still be a valid Patient.
  HttpResult invalid = server.Request(
      "PATCH", "Patient/mei", R"([{"op":"replace","path":"/gender","value":"boy"}])", kJsonPatch);
  BOOST_TEST(invalid.status == 400);
  BOOST_TEST(invalid.body.find("gender") != std::string::npos);
  // Nor may it change what the resource is.
  BOOST_TEST(server.Request("PATCH", "Patient/mei",
                            R"([{"op":"replace","path":"/id","value":"other"}])", kJsonPatch)
                 .status == 400);
  // If-Match is honoured.
  auto stale = kJsonPatch;
  stale.emplace_back("If-Match", "W/\"1\"");
  BOOST_TEST(server.Request("PATCH", "Patient/mei", R"([{"op":"remove","path":"/gender"}])", stale)
                 .status == 412);
  BOOST_TEST(server.Request("GET", "Patient/mei").Header("ETag") == "W/\"2\"");
  // Unknown resources, other media types.
  BOOST_TEST(server.Request("PATCH", "Patient/nobody", "[]", kJsonPatch).status == 404);
  BOOST_TEST(server.Request("PATCH", "Patient/mei", "[]", {{"Content-Type", "application/json"}})
                 .status == 415);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
