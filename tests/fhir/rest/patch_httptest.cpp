// PATCH with JSON Patch and FHIRPath Patch over HTTP (instance and conditional): applied to the
// current version and validated like an update.

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
  BOOST_TEST(server.Request("PATCH", "Patient/mei", "[]", {{"Content-Type", "text/plain"}})
                 .status == 415);
}

BOOST_AUTO_TEST_SUITE_END()

const std::vector<std::pair<std::string, std::string>> kFhirJson = {
    {"Content-Type", "application/fhir+json"}};

// A FHIRPath Patch replacing Patient.birthDate and adding a telecom.
const char* kFhirPathPatch = R"({"resourceType":"Parameters","parameter":[
  {"name":"operation","part":[{"name":"type","valueCode":"replace"},
    {"name":"path","valueString":"Patient.birthDate"},{"name":"value","valueDate":"1950-02-03"}]},
  {"name":"operation","part":[{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},
    {"name":"name","valueString":"telecom"},
    {"name":"value","part":[{"name":"system","valueCode":"phone"},{"name":"value","valueString":"555"}]}]}]})";

BOOST_AUTO_TEST_SUITE(FhirPathPatchOverHttp)

BOOST_AUTO_TEST_CASE(ParametersPatchesInJsonAndXml) {
  TestServer server;
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Patient/fp",
                                     R"({"resourceType":"Patient","id":"fp","birthDate":"1949-01-01"})")
                          .status,
                      201);
  HttpResult r = server.Request("PATCH", "Patient/fp", kFhirPathPatch, kFhirJson);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.Header("ETag") == "W/\"2\"");
  BOOST_TEST(r.body.find(R"("birthDate":"1950-02-03")") != std::string::npos, r.body);
  BOOST_TEST(r.body.find(R"("telecom":[{"system":"phone","value":"555"}])") != std::string::npos,
             r.body);
  const std::string xml =
      R"(<Parameters xmlns="http://hl7.org/fhir"><parameter><name value="operation"/>)"
      R"(<part><name value="type"/><valueCode value="delete"/></part>)"
      R"(<part><name value="path"/><valueString value="Patient.telecom"/></part></parameter></Parameters>)";
  r = server.Request("PATCH", "Patient/fp", xml, {{"Content-Type", "application/fhir+xml"}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.body.find("telecom") == std::string::npos, r.body);
  // A path the type does not have is an error a person can act on, and changes nothing.
  r = server.Request("PATCH", "Patient/fp", R"({"resourceType":"Parameters","parameter":[
    {"name":"operation","part":[{"name":"type","valueCode":"replace"},
     {"name":"path","valueString":"Patient.birthdate"},{"name":"value","valueDate":"2000-01-01"}]}]})",
                     kFhirJson);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("operation 1") != std::string::npos, r.body);
  BOOST_TEST(server.Request("GET", "Patient/fp").Header("ETag") == "W/\"3\"");
  // Neither a Parameters nor a patch media type.
  BOOST_TEST(server.Request("PATCH", "Patient/fp", "x", {{"Content-Type", "text/plain"}}).status ==
             415);
}

BOOST_AUTO_TEST_CASE(ConditionalPatchNeedsExactlyOneMatch) {
  TestServer server;
  const char* patient =
      R"({"resourceType":"Patient","identifier":[{"system":"http://hosp.example/mrn","value":"5"}],"birthDate":"1949"})";
  const std::string url = "Patient?identifier=http://hosp.example/mrn|5";
  BOOST_TEST(server.Request("PATCH", url, kFhirPathPatch, kFhirJson).status == 404);
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", patient).status, 201);
  HttpResult r = server.Request("PATCH", url, kFhirPathPatch, kFhirJson);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.body.find("1950-02-03") != std::string::npos);
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient", patient).status, 201);
  BOOST_TEST(server.Request("PATCH", url, kFhirPathPatch, kFhirJson).status == 412);
  BOOST_TEST(server.Request("PATCH", "Patient?colour=red", kFhirPathPatch, kFhirJson).status == 400);
}

BOOST_AUTO_TEST_CASE(BundleEntriesCarryFhirPathPatches) {
  TestServer server;
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Patient/bp",
                                     R"({"resourceType":"Patient","id":"bp","birthDate":"1949"})").status, 201);
  for (const char* type : {"transaction", "batch"}) {
    HttpResult r = server.Request("POST", "", std::string(R"({"resourceType":"Bundle","type":")") +
        type + R"(","entry":[{"resource":)" + kFhirPathPatch +
        R"(,"request":{"method":"PATCH","url":"Patient/bp"}}]})");
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    BOOST_TEST(r.body.find("200 OK") != std::string::npos, type << ": " << r.body);
  }
  // Applied twice: the telecom was added twice, the version moved twice.
  HttpResult read = server.Request("GET", "Patient/bp");
  BOOST_TEST(read.Header("ETag") == "W/\"3\"");
  BOOST_TEST(read.body.find(R"("telecom":[{"system":"phone","value":"555"},{"system":"phone","value":"555"}])") !=
                 std::string::npos,
             read.body);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
