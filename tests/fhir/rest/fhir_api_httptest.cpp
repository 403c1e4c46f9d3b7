// The FHIR REST API end to end: real HTTP on a random port, real PostgreSQL.

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "common/json.h"
#include "fhir/format/json_format.h"
#include "fhir/validation/validator.h"
#include "tests/support/test_server.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

namespace {

using test_support::HttpResult;
using test_support::TestServer;

common::JsonValue Json(const std::string& text) {
  auto v = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(v.has_value(), "not JSON: " << text);
  return std::move(v).value();
}

std::string Str(const common::JsonValue& v, std::initializer_list<const char*> path) {
  const common::JsonValue* cur = &v;
  for (const char* p : path) {
    cur = cur->Find(p);
    if (cur == nullptr) return {};
  }
  return cur->scalar();
}

// The first issue's expression, for 4xx checks.
std::string FirstExpression(const HttpResult& r) {
  auto oo = Json(r.body);
  const auto* issues = oo.Find("issue");
  if (issues == nullptr || issues->items().empty()) return {};
  const auto* expr = issues->items()[0].Find("expression");
  return expr != nullptr && !expr->items().empty() ? expr->items()[0].scalar() : std::string();
}

bool IsOperationOutcome(const HttpResult& r) {
  auto v = common::ParseJson(r.body);
  return v.has_value() && Str(*v, {"resourceType"}) == "OperationOutcome" &&
         r.Header("Content-Type").find("application/fhir+json") == 0;
}

const char* kPatient = R"({"resourceType":"Patient","id":"ignored and not an id!","name":[{"family":"Tan","given":["Mei"]}],"birthDate":"2015-06-01"})";

std::string PatientWithId(const std::string& id, const std::string& family = "Tan") {
  return R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family +
         R"("}]})";
}

std::vector<common::JsonValue> Entries(const common::JsonValue& bundle) {
  const auto* e = bundle.Find("entry");
  return e != nullptr ? e->items() : std::vector<common::JsonValue>{};
}

std::string NextLink(const common::JsonValue& bundle) {
  const auto* links = bundle.Find("link");
  for (const auto& l : links->items()) {
    if (Str(l, {"relation"}) == "next") return Str(l, {"url"});
  }
  return {};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(FhirCrud, TestServer)

BOOST_AUTO_TEST_CASE(CreateAssignsIdVersionAndLocation) {
  HttpResult r = Request("POST", "Patient", kPatient);
  BOOST_TEST(r.status == 201);
  auto body = Json(r.body);
  std::string id = Str(body, {"id"});
  BOOST_TEST(id.find("ignored") == std::string::npos);
  BOOST_TEST(id.size() == 36u);
  BOOST_TEST(Str(body, {"meta", "versionId"}) == "1");
  BOOST_TEST(!Str(body, {"meta", "lastUpdated"}).empty());
  BOOST_TEST(r.Header("Location") == base() + "/Patient/" + id + "/_history/1");
  BOOST_TEST(r.Header("ETag") == "W/\"1\"");
  BOOST_TEST(!r.Header("Last-Modified").empty());
  HttpResult read = Request("GET", "Patient/" + id);
  BOOST_TEST(read.status == 200);
  BOOST_TEST(read.body == r.body);
  BOOST_TEST(read.Header("ETag") == "W/\"1\"");
  BOOST_TEST(read.Header("Content-Type").find("application/fhir+json") == 0);
}

BOOST_AUTO_TEST_CASE(UnknownThingsAreNotFound) {
  HttpResult missing = Request("GET", "Patient/nobody");
  BOOST_TEST(missing.status == 404);
  BOOST_TEST(IsOperationOutcome(missing));
  HttpResult type = Request("GET", "Patients/1");
  BOOST_TEST(type.status == 404);
  BOOST_TEST(type.body.find("Patients") != std::string::npos);
  HttpResult bad_id = Request("GET", "Patient/bad_id!");
  BOOST_TEST(bad_id.status == 400);
  BOOST_TEST(IsOperationOutcome(bad_id));
  HttpResult outside = Request("GET", "/somewhere");
  BOOST_TEST(outside.status == 404);
}

BOOST_AUTO_TEST_CASE(UpdateAsCreateThenUpdateKeepsEveryVersion) {
  HttpResult created = Request("PUT", "Patient/mei", PatientWithId("mei", "Tan"));
  BOOST_TEST(created.status == 201);
  BOOST_TEST(created.Header("ETag") == "W/\"1\"");
  BOOST_TEST(created.Header("Location") == base() + "/Patient/mei/_history/1");
  HttpResult updated = Request("PUT", "Patient/mei", PatientWithId("mei", "Lim"));
  BOOST_TEST(updated.status == 200);
  BOOST_TEST(updated.Header("ETag") == "W/\"2\"");
  BOOST_TEST(Str(Json(updated.body), {"meta", "versionId"}) == "2");
  HttpResult v1 = Request("GET", "Patient/mei/_history/1");
  BOOST_TEST(v1.status == 200);
  BOOST_TEST(v1.body.find("Tan") != std::string::npos);
  BOOST_TEST(Request("GET", "Patient/mei").body.find("Lim") != std::string::npos);
  BOOST_TEST(Request("GET", "Patient/mei/_history/3").status == 404);
  BOOST_TEST(Request("GET", "Patient/mei/_history/x").status == 404);
}

BOOST_AUTO_TEST_CASE(PutIdMustMatchUrl) {
  HttpResult mismatch = Request("PUT", "Patient/a", PatientWithId("b"));
  BOOST_TEST(mismatch.status == 400);
  BOOST_TEST(IsOperationOutcome(mismatch));
  HttpResult no_id = Request("PUT", "Patient/a", R"({"resourceType":"Patient"})");
  BOOST_TEST(no_id.status == 400);
  HttpResult wrong_type = Request("PUT", "Patient/a", R"({"resourceType":"Observation","id":"a","status":"final","code":{"text":"x"}})");
  BOOST_TEST(wrong_type.status == 400);
  BOOST_TEST(Request("GET", "Patient/a").status == 404);  // nothing half-written
}

BOOST_AUTO_TEST_CASE(IfMatchGivesOptimisticConcurrency) {
  BOOST_TEST(Request("PUT", "Patient/c", PatientWithId("c")).status == 201);
  BOOST_TEST(Request("PUT", "Patient/c", PatientWithId("c", "B"), {{"If-Match", "W/\"1\""}}).status == 200);
  HttpResult stale = Request("PUT", "Patient/c", PatientWithId("c", "C"), {{"If-Match", "W/\"1\""}});
  BOOST_TEST(stale.status == 412);
  BOOST_TEST(IsOperationOutcome(stale));
  BOOST_TEST(Request("GET", "Patient/c").Header("ETag") == "W/\"2\"");
  BOOST_TEST(Request("PUT", "Patient/c", PatientWithId("c"), {{"If-Match", "garbage"}}).status == 400);
  BOOST_TEST(Request("DELETE", "Patient/c", "", {{"If-Match", "W/\"1\""}}).status == 412);
  BOOST_TEST(Request("PUT", "Patient/new1", PatientWithId("new1"), {{"If-Match", "W/\"1\""}}).status == 412);
}

BOOST_AUTO_TEST_CASE(DeleteThenGoneThenRecreate) {
  BOOST_TEST(Request("PUT", "Patient/d", PatientWithId("d")).status == 201);
  HttpResult del = Request("DELETE", "Patient/d");
  BOOST_TEST(del.status == 204);
  BOOST_TEST(del.Header("ETag") == "W/\"2\"");
  HttpResult gone = Request("GET", "Patient/d");
  BOOST_TEST(gone.status == 410);
  BOOST_TEST(IsOperationOutcome(gone));
  BOOST_TEST(Request("GET", "Patient/d/_history/1").status == 200);
  BOOST_TEST(Request("GET", "Patient/d/_history/2").status == 410);
  BOOST_TEST(Request("DELETE", "Patient/d").status == 204);  // idempotent, no new version
  // Never there: success too (R4 http.html#delete), without a version; If-Match cannot match.
  HttpResult never = Request("DELETE", "Patient/never");
  BOOST_TEST(never.status == 204);
  BOOST_TEST(never.Header("ETag").empty());
  BOOST_TEST(Request("DELETE", "Patient/never", "", {{"If-Match", "W/\"1\""}}).status == 412);
  BOOST_TEST(Request("GET", "Patient/never").status == 404);
  HttpResult recreated = Request("PUT", "Patient/d", PatientWithId("d"));
  BOOST_TEST(recreated.status == 201);
  BOOST_TEST(recreated.Header("ETag") == "W/\"3\"");
  auto history = Json(Request("GET", "Patient/d/_history").body);
  auto entries = Entries(history);
  BOOST_REQUIRE(entries.size() == 3u);
  BOOST_TEST(Str(entries[1], {"request", "method"}) == "DELETE");
  BOOST_TEST(entries[1].Find("resource") == nullptr);
  BOOST_TEST(Str(entries[2], {"response", "etag"}) == "W/\"1\"");
}

BOOST_AUTO_TEST_CASE(ConditionalReadAnswers304) {
  BOOST_TEST(Request("PUT", "Patient/e", PatientWithId("e")).status == 201);
  BOOST_TEST(Request("GET", "Patient/e", "", {{"If-None-Match", "W/\"1\""}}).status == 304);
  BOOST_TEST(Request("GET", "Patient/e", "", {{"If-None-Match", "W/\"7\""}}).status == 200);
  BOOST_TEST(Request("GET", "Patient/e", "", {{"If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT"}}).status == 304);
  BOOST_TEST(Request("GET", "Patient/e", "", {{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"}}).status == 200);
}

BOOST_AUTO_TEST_CASE(SummaryAndElementsSubsetAndTagTheResource) {
  const std::string patient = R"({"resourceType":"Patient","id":"sum","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Mei</div>"},"name":[{"family":"Tan"}],"gender":"female","contact":[{"name":{"family":"Lim"}}]})";
  BOOST_REQUIRE(Request("PUT", "Patient/sum", patient).status == 201);
  auto subsetted = [](const common::JsonValue& r) {
    for (const auto& t : r.Find("meta")->Find("tag")->items()) {
      if (Str(t, {"code"}) == "SUBSETTED") return true;
    }
    return false;
  };
  auto summary = Json(Request("GET", "Patient/sum?_summary=true").body);
  BOOST_TEST(summary.Find("name") != nullptr);
  BOOST_TEST(summary.Find("gender") != nullptr);
  BOOST_TEST(summary.Find("contact") == nullptr);  // not a summary element
  BOOST_TEST(summary.Find("text") == nullptr);
  BOOST_TEST(subsetted(summary));
  auto text = Json(Request("GET", "Patient/sum?_summary=text").body);
  BOOST_TEST(text.Find("text") != nullptr);
  BOOST_TEST(text.Find("name") == nullptr);
  auto data = Json(Request("GET", "Patient/sum?_summary=data").body);
  BOOST_TEST(data.Find("text") == nullptr);
  BOOST_TEST(data.Find("contact") != nullptr);
  auto elements = Json(Request("GET", "Patient/sum?_elements=gender").body);
  BOOST_TEST(elements.Find("gender") != nullptr);
  BOOST_TEST(elements.Find("name") == nullptr);
  BOOST_TEST(Str(elements, {"id"}) == "sum");
  BOOST_TEST(subsetted(elements));
  auto full = Json(Request("GET", "Patient/sum?_summary=false").body);
  BOOST_TEST(full.Find("contact") != nullptr);
  BOOST_TEST(full.Find("meta")->Find("tag") == nullptr);
  BOOST_TEST(Request("GET", "Patient/sum?_summary=bogus").status == 400);
  auto searched = Json(Request("GET", "Patient?_id=sum&_elements=name").body);
  const auto& entry = searched.Find("entry")->items().front();
  BOOST_TEST(entry.Find("resource")->Find("gender") == nullptr);
  BOOST_TEST(entry.Find("resource")->Find("name") != nullptr);
}

BOOST_AUTO_TEST_CASE(PreferControlsTheResponseBody) {
  HttpResult minimal = Request("POST", "Patient", kPatient, {{"Prefer", "return=minimal"}});
  BOOST_TEST(minimal.status == 201);
  BOOST_TEST(minimal.body.empty());
  BOOST_TEST(!minimal.Header("Location").empty());
  HttpResult outcome = Request("POST", "Patient", kPatient, {{"Prefer", "return=OperationOutcome"}});
  BOOST_TEST(outcome.status == 201);
  BOOST_TEST(IsOperationOutcome(outcome));
  HttpResult full = Request("POST", "Patient", kPatient, {{"Prefer", "return=representation"}});
  BOOST_TEST(Str(Json(full.body), {"resourceType"}) == "Patient");
}

BOOST_AUTO_TEST_CASE(HistoryPagesWithNextLinksAndSince) {
  for (int i = 0; i < 7; ++i) {
    BOOST_TEST(Request("PUT", "Encounter/s1", R"({"resourceType":"Encounter","id":"s1","status":"in-progress","class":{"code":"AMB"}})").status == (i == 0 ? 201 : 200));
  }
  BOOST_TEST(Request("POST", "Patient", kPatient).status == 201);
  std::string url = "Encounter/s1/_history?_count=3";
  std::set<std::string> versions;
  int pages = 0;
  while (!url.empty()) {
    HttpResult page = Request("GET", url.rfind("http", 0) == 0 ? url.substr(url.find("/fhir/R4")) : url);
    BOOST_REQUIRE(page.status == 200);
    auto bundle = Json(page.body);
    BOOST_TEST(Str(bundle, {"type"}) == "history");
    for (const auto& e : Entries(bundle)) versions.insert(Str(e, {"resource", "meta", "versionId"}));
    url = NextLink(bundle);
    BOOST_REQUIRE(++pages <= 5);
  }
  BOOST_TEST(pages == 3);
  BOOST_TEST(versions.size() == 7u);
  auto type_history = Json(Request("GET", "Encounter/_history").body);
  BOOST_TEST(Entries(type_history).size() == 7u);
  // The system history also has what the server ships at first start (the screening
  // PlanDefinition and its OperationDefinition, docs/WORKFLOW.md).
  auto system = Json(Request("GET", "_history").body);
  std::size_t written_here = 0;
  for (const auto& e : Entries(system)) {
    std::string type = Str(e, {"resource", "resourceType"});
    if (type != "PlanDefinition" && type != "OperationDefinition") ++written_here;
  }
  BOOST_TEST(written_here == 8u);
  BOOST_TEST(Entries(Json(Request("GET", "_history?_since=2100-01-01T00:00:00Z").body)).empty());
  BOOST_TEST(Request("GET", "_history?_since=yesterday").status == 400);
  BOOST_TEST(Request("GET", "_history?_count=-1").status == 400);
  BOOST_TEST(Request("GET", "Patient/unknown/_history").status == 404);
}

BOOST_AUTO_TEST_CASE(InvalidResourceIs400WithLocationAndNothingStored) {
  HttpResult r = Request("POST", "Patient", R"({"resourceType":"Patient","birthDate":"2015-02-30","gender":"boy"})");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(IsOperationOutcome(r));
  BOOST_TEST(r.body.find("Patient.birthDate") != std::string::npos);
  BOOST_TEST(r.body.find("Patient.gender") != std::string::npos);
  BOOST_TEST(Entries(Json(Request("GET", "Patient/_history").body)).empty());
}

BOOST_AUTO_TEST_CASE(BadInputNeverCrashes) {
  HttpResult malformed = Request("POST", "Patient", R"({"resourceType":"Patient",)");
  BOOST_TEST(malformed.status == 400);
  BOOST_TEST(IsOperationOutcome(malformed));
  BOOST_TEST(malformed.body.find("line 1") != std::string::npos);
  std::string deep = R"({"resourceType":"Patient","extension":)";
  for (int i = 0; i < 150; ++i) deep += R"([{"url":"http://x","extension":)";
  HttpResult too_deep = Request("POST", "Patient", deep);
  BOOST_TEST(too_deep.status == 400);
  BOOST_TEST(too_deep.body.find("nesting") != std::string::npos);
  HttpResult text = Request("POST", "Patient", kPatient, {{"Content-Type", "text/plain"}});
  BOOST_TEST(text.status == 415);
  BOOST_TEST(IsOperationOutcome(text));
  HttpResult html = Request("GET", "metadata", "", {{"Accept", "text/html"}});
  BOOST_TEST(html.status == 406);
  BOOST_TEST(IsOperationOutcome(html));
  BOOST_TEST(Request("GET", "metadata?_format=text/turtle").status == 406);
  BOOST_TEST(Request("POST", "Patient", "").status == 400);
  BOOST_TEST(Request("POST", "Patient", "[1,2]").status == 400);
  BOOST_TEST(Request("POST", "Patient", "\"\xff\"").status == 400);
  BOOST_TEST(Request("DELETE", "metadata").status == 405);
  HttpResult no_type = Request("POST", "Patient", R"({"name":[{"family":"x"}]})");
  BOOST_TEST(no_type.status == 400);
  BOOST_TEST(no_type.body.find("resourceType") != std::string::npos);
  BOOST_TEST(Request("GET", "/healthz").status == 200);  // still serving
}

BOOST_AUTO_TEST_CASE(ValidateOperationReportsWithoutStoring) {
  HttpResult ok = Request("POST", "Patient/$validate", PatientWithId("v1"));
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(IsOperationOutcome(ok));
  BOOST_TEST(ok.body.find("\"information\"") != std::string::npos);
  HttpResult bad = Request("POST", "Patient/$validate", R"({"resourceType":"Patient","birthDate":"x"})");
  BOOST_TEST(bad.status == 200);
  BOOST_TEST(FirstExpression(bad) == "Patient.birthDate");
  HttpResult params = Request("POST", "Patient/v1/$validate",
      R"({"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","id":"v2"}}]})");
  BOOST_TEST(params.status == 200);
  BOOST_TEST(FirstExpression(params) == "Patient.id");
  BOOST_TEST(Request("GET", "Patient/v1").status == 404);
}

BOOST_AUTO_TEST_CASE(MetadataIsAValidCapabilityStatement) {
  HttpResult r = Request("GET", "metadata");
  BOOST_TEST(r.status == 200);
  fhir::model::OperationOutcomeSink issues;
  auto parsed = fhir::format::ParseResourceJson(r.body, fhir::definitions::Definitions::R4(), issues);
  BOOST_REQUIRE(parsed.has_value());
  fhir::validation::ValidateResource(*parsed, fhir::model::IssueScope(issues, "CapabilityStatement"));
  BOOST_TEST(!issues.HasErrors());
  auto cs = Json(r.body);
  BOOST_TEST(Str(cs, {"fhirVersion"}) == "4.0.1");
  const auto& resources = cs.Find("rest")->items()[0].Find("resource")->items();
  BOOST_TEST(resources.size() == fhir::definitions::Definitions::R4().resource_names().size());
  BOOST_TEST(resources.size() >= 145u);
}

// Many staff updating one session at once without If-Match: every write gets its own version.
BOOST_AUTO_TEST_CASE(ConcurrentUpdatesNeverLoseOrDuplicateVersions) {
  const std::string task = R"({"resourceType":"Task","id":"t1","status":"ready","intent":"order"})";
  BOOST_REQUIRE(Request("PUT", "Task/t1", task).status == 201);
  constexpr int kThreads = 8, kEach = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (Request("PUT", "Task/t1", task).status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(Request("GET", "Task/t1").Header("ETag") == "W/\"" + std::to_string(1 + kThreads * kEach) + "\"");
  auto history = Json(Request("GET", "Task/t1/_history?_count=1000").body);
  std::set<std::string> versions;
  for (const auto& e : Entries(history)) versions.insert(Str(e, {"resource", "meta", "versionId"}));
  BOOST_TEST(versions.size() == static_cast<std::size_t>(1 + kThreads * kEach));
  BOOST_TEST(Entries(history).size() == versions.size());
}

// Everyone edits version 1 at once with If-Match: exactly one wins, the rest get 412.
BOOST_AUTO_TEST_CASE(ConcurrentIfMatchWritersExactlyOneWins) {
  BOOST_REQUIRE(Request("PUT", "Patient/race", PatientWithId("race")).status == 201);
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, lost{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int s = Request("PUT", "Patient/race", PatientWithId("race", "N" + std::to_string(t)),
                      {{"If-Match", "W/\"1\""}}).status;
      (s == 200 ? won : s == 412 ? lost : other)++;
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(won.load() == 1);
  BOOST_TEST(lost.load() == kThreads - 1);
  BOOST_TEST(other.load() == 0);
  BOOST_TEST(Request("GET", "Patient/race").Header("ETag") == "W/\"2\"");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
struct StrictServer : TestServer {
  static fhir::rest::ServiceOptions Options() {
    fhir::rest::ServiceOptions o;
    o.require_if_match = true;
    o.max_body_bytes = 64 * 1024;
    return o;
  }
  StrictServer() : TestServer(Options()) {}
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(RequireIfMatchAndLimits, StrictServer)

BOOST_AUTO_TEST_CASE(UpdatesAndDeletesWithoutIfMatchAre428) {
  BOOST_TEST(Request("PUT", "Patient/s", PatientWithId("s")).status == 201);  // creating is fine
  HttpResult blind = Request("PUT", "Patient/s", PatientWithId("s", "X"));
  BOOST_TEST(blind.status == 428);
  BOOST_TEST(IsOperationOutcome(blind));
  BOOST_TEST(Request("DELETE", "Patient/s").status == 428);
  BOOST_TEST(Request("PUT", "Patient/s", PatientWithId("s", "X"), {{"If-Match", "W/\"1\""}}).status == 200);
  BOOST_TEST(Request("DELETE", "Patient/s", "", {{"If-Match", "W/\"2\""}}).status == 204);
}

BOOST_AUTO_TEST_CASE(OversizedBodyIs413) {
  std::string big = R"({"resourceType":"Patient","name":[{"family":")" + std::string(70 * 1024, 'x') + R"("}]})";
  HttpResult r = Request("POST", "Patient", big);
  BOOST_TEST(r.status == 413);
  BOOST_TEST(IsOperationOutcome(r));
  BOOST_TEST(Entries(Json(Request("GET", "Patient/_history").body)).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Health)

BOOST_AUTO_TEST_CASE(HealthzIs503WhenTheDatabaseIsDown) {
  fhir::store::pg::ConnectionPool pool("host=/nonexistent-fovea-socket-dir port=5432 user=x", 2,
                                       std::chrono::milliseconds(200));
  fhir::store::pg::PgResourceStore store(pool);
  common::SystemClock clock;
  fhir::rest::FhirService service(fhir::definitions::Definitions::R4(), store, clock, {});
  fhir::rest::HttpServerOptions options;
  options.port = 0;
  fhir::rest::HttpServer http(service, [&store] { return store.Ping(); }, options);
  BOOST_REQUIRE(http.Start().ok());
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(http.port()));
  for (const char* path : {"/healthz", "/fhir/R4/Patient/x"}) {
    Poco::Net::HTTPRequest req("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(req);
    Poco::Net::HTTPResponse res;
    std::istream& in = session.receiveResponse(res);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    BOOST_TEST(static_cast<int>(res.getStatus()) == 503, path);
    BOOST_TEST(body.find("SELECT") == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
