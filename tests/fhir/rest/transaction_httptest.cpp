// Batch and transaction Bundles over HTTP (hl7.org/fhir/R4/http.html#transaction): fullUrl
// rewriting, conditional references and conditional entries, the processing order, all-or-
// nothing with the failing entry named, batch independence, the entry cap, and concurrent
// transactions making one resource from one conditional create.

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/json.h"
#include "tests/support/test_server.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::TestServer;

JsonValue Json(const std::string& text) {
  auto json = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(json.has_value(), "not JSON: " << text);
  return std::move(json).value();
}

int Count(const TestServer& server, const std::string& query) {
  HttpResult r = server.Request("GET", query + (query.find('?') == std::string::npos ? "?" : "&") +
                                           "_summary=count");
  return std::atoi(Json(r.body).Find("total")->scalar().c_str());
}

// entry[i].response.<field>
std::string ResponseField(const JsonValue& bundle, std::size_t i, const char* field) {
  const JsonValue* f = bundle.Find("entry")->items().at(i).Find("response")->Find(field);
  return f != nullptr ? f->scalar() : "";
}

// "Patient/abc/_history/1" -> "Patient/abc"
std::string ReferenceOf(const std::string& location) {
  return location.substr(0, location.find("/_history"));
}

HttpResult Post(const TestServer& server, const std::string& bundle,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
  return server.Request("POST", "", bundle, headers);
}

const char* kLinkedBundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Observation",
   "status":"final","code":{"text":"Visual acuity"},
   "subject":{"reference":"urn:uuid:88f151c0-a954-468a-88bc-47e9c69a0d3b"},
   "encounter":{"reference":"urn:uuid:2b0c3d1e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"},
   "identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:88f151c0-a954-468a-88bc-47e9c69a0d3b"}]},
  "request":{"method":"POST","url":"Observation"}},
 {"fullUrl":"urn:uuid:2b0c3d1e-4f5a-4b6c-8d7e-9f0a1b2c3d4e","resource":{"resourceType":"Encounter",
   "status":"in-progress","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},
   "subject":{"reference":"urn:uuid:88f151c0-a954-468a-88bc-47e9c69a0d3b"}},
  "request":{"method":"POST","url":"Encounter"}},
 {"fullUrl":"urn:uuid:88f151c0-a954-468a-88bc-47e9c69a0d3b","resource":{"resourceType":"Patient",
   "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><a href=\"urn:uuid:2b0c3d1e-4f5a-4b6c-8d7e-9f0a1b2c3d4e\">visit</a></div>"},
   "identifier":[{"system":"http://hosp.example/mrn","value":"7"}],"name":[{"family":"Lim"}]},
  "request":{"method":"POST","url":"Patient"}}]})";

BOOST_AUTO_TEST_SUITE(Transaction)

BOOST_AUTO_TEST_CASE(FullUrlsBecomeTheAssignedIdsInEveryReference) {
  TestServer server;
  HttpResult r = Post(server, kLinkedBundle);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue bundle = Json(r.body);
  BOOST_TEST(bundle.Find("type")->scalar() == "transaction-response");
  BOOST_REQUIRE_EQUAL(bundle.Find("entry")->items().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(ResponseField(bundle, i, "status") == "201 Created");
    BOOST_TEST(ResponseField(bundle, i, "etag") == "W/\"1\"");
    BOOST_TEST(!ResponseField(bundle, i, "lastModified").empty());
  }
  std::string observation = ReferenceOf(ResponseField(bundle, 0, "location"));
  std::string encounter = ReferenceOf(ResponseField(bundle, 1, "location"));
  std::string patient = ReferenceOf(ResponseField(bundle, 2, "location"));
  BOOST_TEST(patient.rfind("Patient/", 0) == 0);

  JsonValue obs = Json(server.Request("GET", observation).body);
  BOOST_TEST(obs.Find("subject")->Find("reference")->scalar() == patient);
  BOOST_TEST(obs.Find("encounter")->Find("reference")->scalar() == encounter);
  // An identifier whose value is a urn:uuid is data, not a reference: untouched.
  BOOST_TEST(obs.Find("identifier")->items()[0].Find("value")->scalar() ==
             "urn:uuid:88f151c0-a954-468a-88bc-47e9c69a0d3b");
  JsonValue enc = Json(server.Request("GET", encounter).body);
  BOOST_TEST(enc.Find("subject")->Find("reference")->scalar() == patient);
  JsonValue pat = Json(server.Request("GET", patient).body);
  std::string div = pat.Find("text")->Find("div")->scalar();
  BOOST_TEST(div.find("href=\"" + encounter + "\"") != std::string::npos, div);
  // The references are searchable like any other.
  BOOST_TEST(Count(server, "Observation?subject=" + patient) == 1);
  BOOST_TEST(Count(server, "Encounter?patient=" + patient) == 1);
}

BOOST_AUTO_TEST_CASE(AFailingEntryRollsBackEverythingAndIsNamed) {
  TestServer server;
  HttpResult r = Post(server, R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient","name":[{"family":"Ok"}]},
     "request":{"method":"POST","url":"Patient"}},
    {"fullUrl":"urn:uuid:b","resource":{"resourceType":"Patient","gender":"sometimes"},
     "request":{"method":"POST","url":"Patient"}}]})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("OperationOutcome") != std::string::npos);
  BOOST_TEST(r.body.find("Entry 1 (fullUrl urn:uuid:b)") != std::string::npos, r.body);
  BOOST_TEST(r.body.find("Bundle.entry[1].resource.gender") != std::string::npos, r.body);
  BOOST_TEST(Count(server, "Patient") == 0);

  // A failure found only when the database is consulted (a stale ifMatch) rolls back too.
  HttpResult existing = server.Request("PUT", "Patient/p1",
                                       R"({"resourceType":"Patient","id":"p1","active":true})");
  BOOST_REQUIRE_EQUAL(existing.status, 201);
  r = Post(server, R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":{"resourceType":"Patient","name":[{"family":"New"}]},
     "request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Patient","id":"p1","active":false},
     "request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"7\""}}]})");
  BOOST_TEST(r.status == 412, r.body);
  BOOST_TEST(r.body.find("Entry 1") != std::string::npos, r.body);
  BOOST_TEST(Count(server, "Patient") == 1);
  BOOST_TEST(Json(server.Request("GET", "Patient/p1").body).Find("active")->scalar() == "true");
}

BOOST_AUTO_TEST_CASE(EntriesRunInTheSpecsOrder) {
  TestServer server;
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Patient/gone",
                                     R"({"resourceType":"Patient","id":"gone"})").status, 201);
  // Listed GET, PUT, POST, DELETE: processed DELETE, POST, PUT, then GET (which sees the writes).
  HttpResult r = Post(server, R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"request":{"method":"GET","url":"Patient/kept"}},
    {"resource":{"resourceType":"Patient","id":"kept","active":true},
     "request":{"method":"PUT","url":"Patient/kept"}},
    {"resource":{"resourceType":"Patient","active":false},"request":{"method":"POST","url":"Patient"}},
    {"request":{"method":"DELETE","url":"Patient/gone"}}]})");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue bundle = Json(r.body);
  BOOST_TEST(ResponseField(bundle, 0, "status") == "200 OK");
  BOOST_TEST(bundle.Find("entry")->items()[0].Find("resource")->Find("id")->scalar() == "kept");
  BOOST_TEST(ResponseField(bundle, 1, "status") == "201 Created");
  BOOST_TEST(ResponseField(bundle, 2, "status") == "201 Created");
  BOOST_TEST(ResponseField(bundle, 3, "status") == "204 No Content");
  BOOST_TEST(server.Request("GET", "Patient/gone").status == 410);
  // Every version written has its change-log entry, in processing order: the system history
  // lists the delete first (oldest), then the create, then the update.
  JsonValue history = Json(server.Request("GET", "Patient/_history?_count=10").body);
  const auto& entries = history.Find("entry")->items();
  BOOST_REQUIRE_EQUAL(entries.size(), 4u);  // the first PUT of "gone", and the three here
  BOOST_TEST(entries[0].Find("request")->Find("method")->scalar() == "PUT");
  BOOST_TEST(entries[1].Find("request")->Find("method")->scalar() == "POST");
  BOOST_TEST(entries[2].Find("request")->Find("method")->scalar() == "DELETE");
}

BOOST_AUTO_TEST_CASE(ConditionalReferencesResolveOrFailTheTransaction) {
  TestServer server;
  HttpResult p = server.Request("POST", "Patient",
      R"({"resourceType":"Patient","identifier":[{"system":"http://hosp.example/mrn","value":"1"}]})");
  BOOST_REQUIRE_EQUAL(p.status, 201);
  std::string patient_id = Json(p.body).Find("id")->scalar();
  auto bundle_for = [](const std::string& reference) {
    return R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{
      "resourceType":"Observation","status":"final","code":{"text":"IOP"},
      "subject":{"reference":")" + reference + R"("}},"request":{"method":"POST","url":"Observation"}}]})";
  };
  HttpResult r = Post(server, bundle_for("Patient?identifier=http://hosp.example/mrn|1"));
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  std::string obs = ReferenceOf(ResponseField(Json(r.body), 0, "location"));
  BOOST_TEST(Json(server.Request("GET", obs).body).Find("subject")->Find("reference")->scalar() ==
             "Patient/" + patient_id);

  HttpResult none = Post(server, bundle_for("Patient?identifier=http://hosp.example/mrn|404"));
  BOOST_TEST(none.status == 404, none.body);
  BOOST_TEST(none.body.find("matches no Patient") != std::string::npos);
  BOOST_REQUIRE_EQUAL(server.Request("POST", "Patient",
      R"({"resourceType":"Patient","identifier":[{"system":"http://hosp.example/mrn","value":"1"}]})").status, 201);
  HttpResult many = Post(server, bundle_for("Patient?identifier=http://hosp.example/mrn|1"));
  BOOST_TEST(many.status == 412, many.body);
  BOOST_TEST(Count(server, "Observation") == 1);
}

const char* kUpsertBundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
  {"fullUrl":"urn:uuid:0a8d3c2e-1111-4d3c-9e5f-6a7b8c9d0e1f","resource":{"resourceType":"Patient",
    "identifier":[{"system":"http://hosp.example/mrn","value":"900"}],"name":[{"family":"Ong"}]},
   "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=http://hosp.example/mrn|900"}},
  {"resource":{"resourceType":"Encounter","status":"planned",
    "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},
    "identifier":[{"system":"http://unit.example/visit","value":"v1"}],
    "subject":{"reference":"Patient?identifier=http://hosp.example/mrn|900"}},
   "request":{"method":"PUT","url":"Encounter?identifier=http://unit.example/visit|v1"}}]})";

BOOST_AUTO_TEST_CASE(ConditionalEntriesMakeTheBundleIdempotent) {
  TestServer server;
  HttpResult first = Post(server, kUpsertBundle);
  BOOST_REQUIRE_MESSAGE(first.status == 200, first.body);
  JsonValue a = Json(first.body);
  BOOST_TEST(ResponseField(a, 0, "status") == "201 Created");
  BOOST_TEST(ResponseField(a, 1, "status") == "201 Created");
  std::string patient = ReferenceOf(ResponseField(a, 0, "location"));
  std::string encounter = ReferenceOf(ResponseField(a, 1, "location"));
  // The conditional reference names the patient this very Bundle creates.
  BOOST_TEST(Json(server.Request("GET", encounter).body).Find("subject")->Find("reference")->scalar() ==
             patient);

  HttpResult again = Post(server, kUpsertBundle);
  BOOST_REQUIRE_MESSAGE(again.status == 200, again.body);
  JsonValue b = Json(again.body);
  BOOST_TEST(ResponseField(b, 0, "status") == "200 OK");
  BOOST_TEST(ReferenceOf(ResponseField(b, 0, "location")) == patient);
  BOOST_TEST(ResponseField(b, 1, "status") == "200 OK");  // updated in place
  BOOST_TEST(ReferenceOf(ResponseField(b, 1, "location")) == encounter);
  BOOST_TEST(ResponseField(b, 1, "etag") == "W/\"2\"");
  BOOST_TEST(Count(server, "Patient") == 1);
  BOOST_TEST(Count(server, "Encounter") == 1);
}

BOOST_AUTO_TEST_CASE(ConcurrentTransactionsCreateOnePatient) {
  TestServer server;
  constexpr int kClients = 8;
  std::vector<HttpResult> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] { results[i] = Post(server, kUpsertBundle); });
  }
  for (auto& t : threads) t.join();
  for (const HttpResult& r : results) BOOST_TEST(r.status == 200, r.status << " " << r.body);
  BOOST_TEST(Count(server, "Patient") == 1);
  BOOST_TEST(Count(server, "Encounter") == 1);
}

BOOST_AUTO_TEST_CASE(BadBundlesAreRefusedWithReasons) {
  fhir::rest::ServiceOptions options;
  options.max_bundle_entries = 2;
  TestServer server(options);
  const std::string three = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"request":{"method":"GET","url":"Patient"}},{"request":{"method":"GET","url":"Patient"}},
    {"request":{"method":"GET","url":"Patient"}}]})";
  HttpResult r = Post(server, three);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(r.body.find("at most 2") != std::string::npos);
  // A reference to a fullUrl no entry has would dangle.
  r = Post(server, R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{
    "resourceType":"Observation","status":"final","code":{"text":"x"},
    "subject":{"reference":"urn:uuid:0000"}},"request":{"method":"POST","url":"Observation"}}]})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("urn:uuid:0000") != std::string::npos, r.body);
  // Two entries changing one resource.
  r = Post(server, R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":{"resourceType":"Patient","id":"x"},"request":{"method":"PUT","url":"Patient/x"}},
    {"request":{"method":"DELETE","url":"Patient/x"}}]})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.body.find("changes a resource once") != std::string::npos, r.body);
  // Not a Bundle, or a Bundle of another type.
  BOOST_TEST(Post(server, R"({"resourceType":"Patient"})").status == 400);
  BOOST_TEST(Post(server, R"({"resourceType":"Bundle","type":"collection"})").status == 400);
  // A missing request, an unknown method, a foreign absolute url.
  for (const char* entry : {R"({"resource":{"resourceType":"Patient"}})",
                            R"({"request":{"method":"FETCH","url":"Patient"}})",
                            R"({"request":{"method":"DELETE","url":"http://elsewhere.example/fhir/Patient/1"}})"}) {
    r = Post(server, std::string(R"({"resourceType":"Bundle","type":"transaction","entry":[)") +
                         entry + "]}");
    BOOST_TEST(r.status == 400, entry << " -> " << r.body);
    BOOST_TEST(r.body.find("Entry 0") != std::string::npos, r.body);
  }
  BOOST_TEST(Count(server, "Patient") == 0);
}

BOOST_AUTO_TEST_CASE(PatchEntriesApplyAJsonPatchBinary) {
  TestServer server;
  BOOST_REQUIRE_EQUAL(server.Request("PUT", "Patient/pp",
                                     R"({"resourceType":"Patient","id":"pp","active":true})").status,
                      201);
  std::string patch = common::Base64Encode(R"([{"op":"replace","path":"/active","value":false}])");
  HttpResult r = Post(server, R"({"resourceType":"Bundle","type":"transaction","entry":[{"resource":{
    "resourceType":"Binary","contentType":"application/json-patch+json","data":")" + patch +
                                  R"("},"request":{"method":"PATCH","url":"Patient/pp"}}]})");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(ResponseField(Json(r.body), 0, "etag") == "W/\"2\"");
  BOOST_TEST(Json(server.Request("GET", "Patient/pp").body).Find("active")->scalar() == "false");
}

BOOST_AUTO_TEST_CASE(XmlTransactionsAreAnsweredInXml) {
  TestServer server;
  const std::string xml =
      R"(<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/>)"
      R"(<entry><fullUrl value="urn:uuid:3f0c0000-0000-4000-8000-000000000001"/><resource><Patient>)"
      R"(<name><family value="Xu"/></name></Patient></resource>)"
      R"(<request><method value="POST"/><url value="Patient"/></request></entry></Bundle>)";
  HttpResult r = server.Request("POST", "", xml,
                                {{"Content-Type", "application/fhir+xml"},
                                 {"Accept", "application/fhir+xml"}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.body.find("<type value=\"transaction-response\"/>") != std::string::npos, r.body);
  BOOST_TEST(r.body.find("<status value=\"201 Created\"/>") != std::string::npos, r.body);
  BOOST_TEST(Count(server, "Patient?family=Xu") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Batch)

BOOST_AUTO_TEST_CASE(EntriesSucceedOrFailOnTheirOwn) {
  TestServer server;
  HttpResult r = Post(server, R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":{"resourceType":"Patient","name":[{"family":"One"}]},"request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Patient","gender":"sometimes"},"request":{"method":"POST","url":"Patient"}},
    {"request":{"method":"GET","url":"Patient/nope"}},
    {"request":{"method":"GET","url":"Patient?family=One"}},
    {"request":{"method":"POST","url":""}}]})");
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  JsonValue bundle = Json(r.body);
  BOOST_TEST(bundle.Find("type")->scalar() == "batch-response");
  BOOST_TEST(ResponseField(bundle, 0, "status") == "201 Created");
  BOOST_TEST(ResponseField(bundle, 1, "status") == "400 Bad Request");
  const JsonValue* outcome = bundle.Find("entry")->items()[1].Find("response")->Find("outcome");
  BOOST_REQUIRE(outcome != nullptr);
  BOOST_TEST(outcome->Find("resourceType")->scalar() == "OperationOutcome");
  BOOST_TEST(ResponseField(bundle, 2, "status") == "404 Not Found");
  BOOST_TEST(ResponseField(bundle, 3, "status") == "200 OK");
  // The search entry saw the create of entry 0.
  BOOST_TEST(bundle.Find("entry")->items()[3].Find("resource")->Find("total")->scalar() == "1");
  BOOST_TEST(ResponseField(bundle, 4, "status") == "400 Bad Request");
  BOOST_TEST(Count(server, "Patient") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
