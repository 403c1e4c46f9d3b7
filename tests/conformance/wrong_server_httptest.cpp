// The engine against a small HTTP server in this test that answers however a case tells it to:
// every assert kind and operator passes on the right answer and fails on a deliberately wrong
// one. Also: fixtures that are missing, variables, warningOnly, the callback receiver, and a
// server that is not there.

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "conformance/engine/executor.h"
#include "conformance/engine/reports.h"
#include "conformance/engine/test_script.h"
#include "tests/support/validation_issues.h"

namespace {

namespace engine = conformance::engine;

struct Canned {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Answers "METHOD /path" with what the case put there (404 otherwise) and records requests.
// A POST to /callback makes it POST its body to the URL in the X-Callback header, the way a
// FHIR server calls a rest-hook. Thread-safe.
class WrongServer {
 public:
  WrongServer() {
    socket_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
    socket_.listen(16);
    // POCO takes ownership of the factory and the params.
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_,
                                                      new Poco::Net::HTTPServerParams);
    server_->start();
  }
  ~WrongServer() { server_->stopAll(true); }

  std::string base() const {
    return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + "/fhir";
  }
  void Answer(const std::string& method_and_path, Canned c) {
    std::lock_guard lock(mu_);
    canned_[method_and_path] = {std::move(c)};
  }
  // One answer per request in turn; the last one stays.
  void AnswerInTurn(const std::string& method_and_path, std::deque<Canned> answers) {
    std::lock_guard lock(mu_);
    canned_[method_and_path] = std::move(answers);
  }
  std::vector<std::string> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(WrongServer& s) : s_(s) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) override {
      std::ostringstream body;
      Poco::StreamCopier::copyStream(req.stream(), body);
      std::string path = Poco::URI(req.getURI()).getPath();
      Canned c;
      {
        std::lock_guard lock(s_.mu_);
        s_.requests_.push_back(req.getMethod() + " " + req.getURI());
        auto it = s_.canned_.find(req.getMethod() + " " + path);
        if (it != s_.canned_.end() && !it->second.empty()) {
          c = it->second.front();
          if (it->second.size() > 1) it->second.pop_front();
        } else {
          c.status = 404;
        }
      }
      if (path == "/fhir/callback" && req.has("X-Callback")) {
        Poco::URI hook(req.get("X-Callback"));
        Poco::Net::HTTPClientSession session(hook.getHost(), hook.getPort());
        Poco::Net::HTTPRequest out("POST", hook.getPathAndQuery(), "HTTP/1.1");
        out.setContentType("application/fhir+json");
        out.setContentLength(static_cast<std::streamsize>(body.str().size()));
        session.sendRequest(out) << body.str();
        Poco::Net::HTTPResponse hook_res;
        session.receiveResponse(hook_res);
      }
      res.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(c.status));
      for (const auto& [k, v] : c.headers) res.set(k, v);
      res.setContentLength(static_cast<std::streamsize>(c.body.size()));
      res.send() << c.body;
    }

   private:
    WrongServer& s_;
  };
  class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(WrongServer& s) : s_(s) {}
    // POCO takes ownership of the handler.
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(s_);
    }

   private:
    WrongServer& s_;
  };

  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::mutex mu_;
  std::map<std::string, std::deque<Canned>> canned_;
  std::vector<std::string> requests_;
};

const char* const kJson = "application/fhir+json";
const std::string kSmith =
    R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"active":true,)"
    R"("name":[{"family":"Smith","given":["Ann","Lee"]}],"birthDate":"1970-05-01"})";
const std::string kJones =
    R"({"resourceType":"Patient","id":"p1","meta":{"versionId":"1"},"active":false,)"
    R"("name":[{"family":"Jones","given":["Bob"]}],"birthDate":"1950-05-01","deceasedBoolean":true})";
const std::string kNoName = R"({"resourceType":"Patient","id":"p1"})";
const std::string kOutcome =
    R"({"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]})";

Canned Ok(const std::string& body, std::vector<std::pair<std::string, std::string>> extra = {}) {
  Canned c{200, {{"Content-Type", kJson}}, body};
  for (auto& h : extra) c.headers.push_back(std::move(h));
  return c;
}

// A script with one read of Patient/p1 and then `assert_json`; fixtures from `fixtures`.
std::string Script(const std::string& assert_json, const std::string& extra = "",
                   const std::string& op_extra = "") {
  return R"({"resourceType":"TestScript","id":"t","name":"T","status":"active",)" + extra +
         R"("test":[{"name":"case","action":[)"
         R"({"operation":{"type":{"code":"read"},"resource":"Patient","params":"/p1")" +
         op_extra + R"(}},{"assert":)" + assert_json + "}]}]}";
}

struct Case {
  const char* name;
  std::string assert_json;
  Canned right;
  Canned wrong;
  std::string script_extra = "";  // fixtures/profiles
  std::string op_extra = "";
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

std::string FixtureDir() {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("fovea-wrong-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::ofstream(d / "smith.json") << kSmith;
    std::ofstream(d / "minimum.json")
        << R"({"resourceType":"Patient","name":[{"family":"Smith"}],"birthDate":"1970-05-01"})";
    return d.string();
  }();
  return dir;
}

const std::string kFixtures =
    R"("fixture":[{"id":"smith","resource":{"reference":"smith.json"}},)"
    R"({"id":"minimum","resource":{"reference":"minimum.json"}}],)";
const std::string kProfiles =
    R"("profile":[{"id":"patient","reference":"http://hl7.org/fhir/StructureDefinition/Patient"}],)";
const std::string kSelfOnly =
    R"({"resourceType":"Bundle","type":"searchset","total":1,"link":[{"relation":"self","url":"http://x/Patient"}],"entry":[{"resource":)" +
    kSmith + "}]}";
const std::string kNoNext =
    R"({"resourceType":"Bundle","type":"searchset","total":10,"link":[{"relation":"self","url":"http://x/Patient"}],"entry":[{"resource":)" +
    kSmith + "}]}";

std::vector<Case> Cases() {
  return {
      {"response", R"({"response":"okay"})", Ok(kSmith), {404, {{"Content-Type", kJson}}, kOutcome}},
      {"responseCode in", R"({"responseCode":"200,204","operator":"in"})", {204, {}, ""},
       {500, {{"Content-Type", kJson}}, kOutcome}},
      {"responseCode equals", R"({"responseCode":"201"})", {201, {{"Content-Type", kJson}}, kSmith},
       Ok(kSmith)},
      {"contentType json", R"({"contentType":"json"})", Ok(kSmith),
       {200, {{"Content-Type", "text/html"}}, "<html/>"}},
      {"contentType xml", R"({"contentType":"xml"})",
       {200, {{"Content-Type", "application/fhir+xml; charset=utf-8"}}, "<Patient xmlns=\"http://hl7.org/fhir\"/>"},
       Ok(kSmith)},
      {"headerField equals", R"({"headerField":"ETag","value":"W/\"1\""})",
       Ok(kSmith, {{"ETag", "W/\"1\""}}), Ok(kSmith, {{"ETag", "W/\"2\""}})},
      {"headerField present", R"({"headerField":"Last-Modified"})",
       Ok(kSmith, {{"Last-Modified", "Sat, 05 Dec 2026 06:00:00 GMT"}}), Ok(kSmith)},
      {"resource", R"({"resource":"Patient"})", Ok(kSmith), {404, {{"Content-Type", kJson}}, kOutcome}},
      {"resource from XML", R"({"resource":"Patient"})",
       {200, {{"Content-Type", "application/fhir+xml"}}, "<Patient xmlns=\"http://hl7.org/fhir\"><active value=\"true\"/></Patient>"},
       {200, {{"Content-Type", "application/fhir+xml"}}, "<Basic xmlns=\"http://hl7.org/fhir\"><code><text value=\"x\"/></code></Basic>"}},
      {"expression with value", R"({"expression":"Patient.name.family","value":"Smith"})", Ok(kSmith), Ok(kJones)},
      {"expression boolean", R"({"expression":"Patient.birthDate < @1960-01-01"})", Ok(kJones), Ok(kSmith)},
      {"path (XPath)", R"({"path":"fhir:Patient/fhir:name/fhir:family/@value","value":"Smith"})", Ok(kSmith), Ok(kJones)},
      {"compareToSourceExpression",
       R"({"compareToSourceId":"smith","compareToSourceExpression":"Patient.name.family","operator":"equals"})",
       Ok(kSmith), Ok(kJones), kFixtures},
      {"compareToSourceExpression with expression",
       R"({"expression":"Patient.birthDate","compareToSourceId":"smith","compareToSourceExpression":"Patient.birthDate"})",
       Ok(kSmith), Ok(kJones), kFixtures},
      {"minimumId", R"({"minimumId":"minimum"})", Ok(kSmith), Ok(kJones), kFixtures},
      {"navigationLinks", R"({"navigationLinks":true})", Ok(kSelfOnly), Ok(kNoNext)},
      {"validateProfileId", R"({"validateProfileId":"patient"})", Ok(kSmith),
       Ok(R"({"resourceType":"Patient","gender":"robot","birthDate":"05/01/1970"})"), kProfiles},
      {"validateProfileId wrong type", R"({"validateProfileId":"patient"})", Ok(kSmith), Ok(kOutcome), kProfiles},
      {"sourceId", R"({"sourceId":"r","expression":"Patient.active","value":"true"})", Ok(kSmith),
       Ok(kJones), "", R"(,"responseId":"r")"},
      {"operator notEquals", R"({"expression":"Patient.name.family","operator":"notEquals","value":"Jones"})", Ok(kSmith), Ok(kJones)},
      {"operator in", R"({"expression":"Patient.name.family","operator":"in","value":"Brown, Smith"})", Ok(kSmith), Ok(kJones)},
      {"operator notIn", R"({"expression":"Patient.name.family","operator":"notIn","value":"Brown,Jones"})", Ok(kSmith), Ok(kJones)},
      {"operator greaterThan", R"({"expression":"Patient.birthDate","operator":"greaterThan","value":"1960-01-01"})", Ok(kSmith), Ok(kJones)},
      {"operator lessThan", R"j({"expression":"Patient.name.given.count()","operator":"lessThan","value":"2"})j", Ok(kJones), Ok(kSmith)},
      {"operator empty", R"({"expression":"Patient.deceased","operator":"empty"})", Ok(kSmith), Ok(kJones)},
      {"operator notEmpty", R"({"expression":"Patient.name","operator":"notEmpty"})", Ok(kSmith), Ok(kNoName)},
      {"operator contains", R"({"expression":"Patient.name.given","operator":"contains","value":"Lee"})", Ok(kSmith), Ok(kJones)},
      {"operator notContains", R"({"expression":"Patient.name.given","operator":"notContains","value":"Bob"})", Ok(kSmith), Ok(kJones)},
      {"operator eval", R"({"expression":"Patient.active","operator":"eval"})", Ok(kSmith), Ok(kJones)},
      {"headerField operator contains", R"({"headerField":"Content-Type","operator":"contains","value":"fhir+json"})",
       Ok(kSmith), {200, {{"Content-Type", "application/json"}}, kSmith}},
  };
}

engine::ScriptResult RunText(const std::string& text, const std::string& base,
                             engine::RunOptions options = {}) {
  auto script = engine::ParseTestScript(text);
  BOOST_TEST_REQUIRE(script.has_value(), (script.has_value() ? "" : script.error().message()));
  script->source_file = FixtureDir() + "/script.json";
  options.base = base;
  engine::PocoHttpTransport http;
  engine::Executor executor(http, options);
  return executor.Run(*script);
}

std::string Console(const engine::ScriptResult& r) {
  std::ostringstream out;
  engine::WriteConsole({r}, out, true);
  return out.str();
}

const engine::ActionResult& LastAssert(const engine::ScriptResult& r) {
  return r.tests.at(0).actions.back();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(AssertKinds)

BOOST_DATA_TEST_CASE(PassOnTheRightAnswerFailOnTheWrongOne, boost::unit_test::data::make(Cases()), c) {
  WrongServer server;
  std::string text = Script(c.assert_json, c.script_extra, c.op_extra);

  server.Answer("GET /fhir/Patient/p1", c.right);
  auto good = RunText(text, server.base());
  BOOST_TEST((good.outcome == engine::Outcome::kPass), Console(good));
  BOOST_TEST(good.Count(engine::Outcome::kPass) == 1, Console(good));

  server.Answer("GET /fhir/Patient/p1", c.wrong);
  auto bad = RunText(text, server.base());
  BOOST_TEST((bad.outcome == engine::Outcome::kFail), Console(bad));
  BOOST_TEST((LastAssert(bad).outcome == engine::Outcome::kFail), Console(bad));
  BOOST_TEST(!LastAssert(bad).message.empty());
  BOOST_TEST(LastAssert(bad).exchange.has_value());  // the failing request and response
}

// The request side: what the engine sent, which a server cannot get wrong, so the assert's
// expectation is what differs.
BOOST_AUTO_TEST_CASE(RequestMethodAndUrl) {
  WrongServer server;
  server.Answer("GET /fhir/Patient/p1", Ok(kSmith));
  auto run = [&](const std::string& a) { return RunText(Script(a), server.base()).outcome; };
  BOOST_TEST((run(R"({"requestMethod":"get"})") == engine::Outcome::kPass));
  BOOST_TEST((run(R"({"requestMethod":"post"})") == engine::Outcome::kFail));
  BOOST_TEST((run(R"({"requestURL":"Patient/p1"})") == engine::Outcome::kPass));
  BOOST_TEST((run(R"({"requestURL":"Patient/p2"})") == engine::Outcome::kFail));
  BOOST_TEST((run(R"({"direction":"request","headerField":"Accept","operator":"contains","value":"json"})") ==
              engine::Outcome::kPass));
  BOOST_TEST((run(R"({"direction":"request","headerField":"Accept","operator":"contains","value":"xml"})") ==
              engine::Outcome::kFail));
}

BOOST_AUTO_TEST_CASE(WarningOnlyDoesNotFailTheScript) {
  WrongServer server;
  server.Answer("GET /fhir/Patient/p1", {404, {{"Content-Type", kJson}}, kOutcome});
  auto r = RunText(Script(R"({"response":"okay","warningOnly":true})"), server.base());
  BOOST_TEST((r.outcome == engine::Outcome::kPass), Console(r));
  BOOST_TEST((LastAssert(r).outcome == engine::Outcome::kWarning));
}

BOOST_AUTO_TEST_CASE(AFailedAssertStopsItsTest) {
  WrongServer server;
  server.Answer("GET /fhir/Patient/p1", Ok(kJones));
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active","test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"read"},"resource":"Patient","params":"/p1"}},)"
      R"({"assert":{"expression":"Patient.active","value":"true"}},)"
      R"({"operation":{"type":{"code":"delete"},"resource":"Patient","params":"/p1"}}]}]})";
  auto r = RunText(text, server.base());
  BOOST_TEST((r.outcome == engine::Outcome::kFail));
  BOOST_TEST((r.tests[0].actions[2].outcome == engine::Outcome::kSkip));
  for (const auto& req : server.Requests()) BOOST_TEST(req.rfind("DELETE", 0) != 0u, req);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ExecutorBehaviour)

BOOST_AUTO_TEST_CASE(MissingFixtureSkipsWithTheReason) {
  WrongServer server;
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active",)"
      R"("fixture":[{"id":"f","resource":{"reference":"Patient/not-shipped"}}],"test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"create"},"resource":"Patient","sourceId":"f"}},)"
      R"({"assert":{"response":"created"}}]}]})";
  auto r = RunText(text, server.base());
  BOOST_TEST((r.outcome == engine::Outcome::kSkip), Console(r));
  BOOST_TEST(r.message.find("Patient/not-shipped") != std::string::npos, r.message);
  BOOST_TEST(server.Requests().empty());  // nothing was sent
}

BOOST_AUTO_TEST_CASE(AutocreateBeforeSetupAutodeleteAfterTeardown) {
  WrongServer server;
  server.Answer("POST /fhir/Patient",
                {201, {{"Content-Type", kJson}, {"Location", server.base() + "/Patient/p9/_history/1"}}, kSmith});
  server.Answer("GET /fhir/Patient/p9", Ok(kSmith));
  server.Answer("DELETE /fhir/Patient/p9", {204, {}, ""});
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active",)"
      R"("fixture":[{"id":"smith","autocreate":true,"autodelete":true,"resource":{"reference":"smith.json"}}],)"
      R"("setup":{"action":[{"operation":{"type":{"code":"read"},"targetId":"smith"}},{"assert":{"response":"okay"}}]},)"
      R"("test":[{"name":"a","action":[{"operation":{"type":{"code":"read"},"resource":"Patient","params":"/p9"}},)"
      R"({"assert":{"resource":"Patient"}}]}],)"
      R"("teardown":{"action":[{"operation":{"type":{"code":"search"},"resource":"Patient","params":"?_id=p9"}}]}})";
  auto r = RunText(text, server.base());
  BOOST_TEST((r.outcome == engine::Outcome::kPass), Console(r));
  std::vector<std::string> want = {"POST /fhir/Patient", "GET /fhir/Patient/p9", "GET /fhir/Patient/p9",
                                   "GET /fhir/Patient?_id=p9", "DELETE /fhir/Patient/p9"};
  BOOST_TEST(server.Requests() == want, boost::test_tools::per_element());

  // A fixture the server will not create: the setup and the tests do not run.
  WrongServer refusing;
  refusing.Answer("POST /fhir/Patient", {500, {{"Content-Type", kJson}}, kOutcome});
  auto failed = RunText(text, refusing.base());
  BOOST_TEST((failed.outcome == engine::Outcome::kFail), Console(failed));
  BOOST_TEST_REQUIRE(failed.setup.has_value());
  BOOST_TEST(failed.setup->message.find("autocreate of smith was answered 500") != std::string::npos,
             failed.setup->message);
  BOOST_TEST((failed.tests.at(0).outcome == engine::Outcome::kSkip));
  std::vector<std::string> only_create = {"POST /fhir/Patient", "GET /fhir/Patient?_id=p9"};
  BOOST_TEST(refusing.Requests() == only_create, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(VariablesFromHeadersExpressionsAndDefaults) {
  WrongServer server;
  server.Answer("POST /fhir/Patient",
                {201, {{"Content-Type", kJson}, {"Location", server.base() + "/Patient/p1/_history/1"}}, kSmith});
  server.Answer("GET /fhir/Patient/p1/_history/1", Ok(kSmith));
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active",)"
      R"("fixture":[{"id":"smith","resource":{"reference":"smith.json"}}],)"
      R"("variable":[{"name":"loc","headerField":"Location","sourceId":"created"},)"
      R"({"name":"family","expression":"Patient.name.family","sourceId":"created"},)"
      R"({"name":"count","defaultValue":"7"},{"name":"asked","hint":"type a name"}],)"
      R"("test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"create"},"resource":"Patient","sourceId":"smith","responseId":"created"}},)"
      R"({"operation":{"type":{"code":"read"},"url":"${loc}"}},)"
      R"({"assert":{"expression":"Patient.name.family","value":"${family}"}},)"
      R"({"operation":{"type":{"code":"search"},"resource":"Patient","params":"?_count=${count}"}}]},)"
      R"({"name":"b","action":[{"operation":{"type":{"code":"search"},"resource":"Patient","params":"?name=${asked}"}}]}]})";
  auto r = RunText(text, server.base());
  auto requests = server.Requests();
  BOOST_TEST_REQUIRE(requests.size() == 3u);
  BOOST_TEST(requests[1] == "GET /fhir/Patient/p1/_history/1");
  BOOST_TEST(requests[2] == "GET /fhir/Patient?_count=7");
  BOOST_TEST((r.tests[0].outcome == engine::Outcome::kPass), Console(r));
  // A variable nobody gave a value skips its test and says how to give one.
  BOOST_TEST((r.tests[1].outcome == engine::Outcome::kSkip));
  BOOST_TEST(r.tests[1].message.find("--var asked=") != std::string::npos, r.tests[1].message);

  engine::RunOptions with_var;
  with_var.variables["asked"] = "Smith";
  auto r2 = RunText(text, server.base(), with_var);
  BOOST_TEST((r2.outcome == engine::Outcome::kPass), Console(r2));
  BOOST_TEST(server.Requests().back() == "GET /fhir/Patient?name=Smith");
}

BOOST_AUTO_TEST_CASE(OperationTypesMakeTheSpecsRequests) {
  WrongServer server;
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active",)"
      R"("fixture":[{"id":"smith","resource":{"reference":"smith.json"}}],"test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"capabilities"}}},)"
      R"({"operation":{"type":{"code":"vread"},"resource":"Patient","params":"/p1/_history/1"}},)"
      R"({"operation":{"type":{"code":"update"},"resource":"Patient","sourceId":"smith"}},)"
      R"({"operation":{"type":{"code":"patch"},"resource":"Patient","params":"/p1","sourceId":"smith"}},)"
      R"({"operation":{"type":{"code":"history"},"resource":"Patient","targetId":"smith"}},)"
      R"({"operation":{"type":{"code":"transaction"},"sourceId":"smith"}},)"
      R"({"operation":{"type":{"code":"batch"},"sourceId":"smith"}},)"
      R"({"operation":{"type":{"code":"deleteCondMultiple"},"resource":"Patient","params":"?name=x"}},)"
      R"({"operation":{"type":{"code":"everything"},"resource":"Patient","targetId":"smith"}},)"
      R"({"operation":{"type":{"code":"search"},"resource":"Patient","method":"post","url":"Patient/_search"}},)"
      R"({"operation":{"type":{"code":"create"},"resource":"Patient","sourceId":"smith","contentType":"xml"}}]}]})";
  auto r = RunText(text, server.base());
  std::vector<std::string> want = {
      "GET /fhir/metadata", "GET /fhir/Patient/p1/_history/1", "PUT /fhir/Patient/p1",
      "PATCH /fhir/Patient/p1", "GET /fhir/Patient/p1/_history", "POST /fhir", "POST /fhir",
      "DELETE /fhir/Patient?name=x", "GET /fhir/Patient/p1/$everything",
      "POST /fhir/Patient/_search", "POST /fhir/Patient"};
  BOOST_TEST(server.Requests() == want, boost::test_tools::per_element());
  // The JSON fixture went out as XML when the operation asked for XML.
  const auto& create = r.tests[0].actions.back();
  BOOST_TEST_REQUIRE(create.exchange.has_value());
  BOOST_TEST(create.exchange->request.body.rfind("<Patient xmlns=\"http://hl7.org/fhir\">", 0) == 0u,
             create.exchange->request.body);
}

BOOST_AUTO_TEST_CASE(AFixtureMayNameItsIdWithAVariable) {
  WrongServer server;
  std::ofstream(FixtureDir() + "/templated.json")
      << R"({"resourceType":"Patient","id":"${pid}","active":true})";
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active","variable":[{"name":"pid","defaultValue":"p42"}],)"
      R"("fixture":[{"id":"t","resource":{"reference":"templated.json"}}],"test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"update"},"resource":"Patient","sourceId":"t"}},)"
      R"({"operation":{"type":{"code":"read"},"targetId":"t"}}]}]})";
  auto r = RunText(text, server.base());
  std::vector<std::string> want = {"PUT /fhir/Patient/p42", "GET /fhir/Patient/p42"};
  BOOST_TEST(server.Requests() == want, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(r.tests[0].actions[0].exchange.has_value());
  BOOST_TEST(r.tests[0].actions[0].exchange->request.body.find("\"id\":\"p42\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ReceiverWaitsForTheCallback) {
  WrongServer server;
  server.Answer("POST /fhir/callback", Ok(kSmith));
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active",)"
      R"("fixture":[{"id":"smith","resource":{"reference":"smith.json"}}],"test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"callback"},"url":"callback","method":"post","sourceId":"smith",)"
      R"("requestHeader":[{"field":"X-Callback","value":"${receiverUrl}"}]}},)"
      R"({"operation":{"type":{"system":"https://fovea.dev/fhir/CodeSystem/testscript-operation","code":"receiver-wait"},"params":"?timeout=20"}},)"
      R"({"assert":{"requestMethod":"post"}},)"
      R"({"assert":{"expression":"Patient.name.family","value":"Smith"}}]}]})";
  auto r = RunText(text, server.base());
  BOOST_TEST((r.outcome == engine::Outcome::kPass), Console(r));

  // With repeat-until, callbacks that do not match are passed over (and said so).
  std::string twice =
      R"({"resourceType":"TestScript","name":"T","status":"active",)"
      R"("fixture":[{"id":"smith","resource":{"reference":"smith.json"}},{"id":"minimum","resource":{"reference":"minimum.json"}}],)"
      R"("test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"callback"},"url":"callback","method":"post","sourceId":"minimum",)"
      R"("requestHeader":[{"field":"X-Callback","value":"${receiverUrl}"}]}},)"
      R"({"operation":{"type":{"code":"callback"},"url":"callback","method":"post","sourceId":"smith",)"
      R"("requestHeader":[{"field":"X-Callback","value":"${receiverUrl}"}]}},)"
      R"({"operation":{"extension":[{"url":"https://fovea.dev/fhir/StructureDefinition/testscript-repeat-until","valueString":"Patient.active"}],)"
      R"("type":{"system":"https://fovea.dev/fhir/CodeSystem/testscript-operation","code":"receiver-wait"},"params":"?timeout=20"}},)"
      R"({"assert":{"expression":"Patient.id","value":"p1"}}]}]})";
  auto r3 = RunText(twice, server.base());
  BOOST_TEST((r3.outcome == engine::Outcome::kPass), Console(r3));
  BOOST_TEST(r3.tests[0].actions[2].message.find("passed over 1") != std::string::npos,
             r3.tests[0].actions[2].message);

  // No callback: the wait fails (after its timeout) instead of passing.
  std::string silent =
      R"({"resourceType":"TestScript","name":"T","status":"active","test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"system":"https://fovea.dev/fhir/CodeSystem/testscript-operation","code":"receiver-wait"},"params":"?timeout=1"}}]}]})";
  auto r2 = RunText(silent, server.base());
  BOOST_TEST((r2.outcome == engine::Outcome::kFail), Console(r2));
  BOOST_TEST(r2.tests[0].actions[0].message.find("got 0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(DestinationsAndTheReceiverUrlComeFromTheOptions) {
  WrongServer one, two;
  one.Answer("GET /fhir/Patient/p1", Ok(kSmith));
  two.Answer("GET /fhir/Patient/p1", Ok(kJones));
  std::string text =
      R"({"resourceType":"TestScript","name":"T","status":"active","test":[{"name":"a","action":[)"
      R"({"operation":{"type":{"code":"read"},"resource":"Patient","params":"/p1","destination":2}},)"
      R"({"assert":{"expression":"Patient.name.family","value":"Jones"}},)"
      R"({"operation":{"type":{"code":"read"},"resource":"Patient","params":"/p1"}},)"
      R"({"assert":{"expression":"Patient.name.family","value":"Smith"}},)"
      R"({"operation":{"type":{"code":"search"},"resource":"Patient","params":"?hook=${receiverUrl}"}}]}]})";
  engine::RunOptions options;
  options.destinations[2] = two.base();
  options.receiver_url = "https://tunnel.example/hook";
  auto r = RunText(text, one.base(), options);
  BOOST_TEST((r.outcome == engine::Outcome::kPass), Console(r));
  BOOST_TEST(two.Requests().size() == 1u);
  BOOST_TEST(one.Requests().back() == "GET /fhir/Patient?hook=https://tunnel.example/hook");
}

BOOST_AUTO_TEST_CASE(RepeatUntilPollsUntilTheExpressionHolds) {
  WrongServer server;
  server.AnswerInTurn("GET /fhir/Patient/p1", {Ok(kJones), Ok(kJones), Ok(kSmith)});
  auto script = [](const std::string& until) {
    return R"({"resourceType":"TestScript","name":"T","status":"active","test":[{"name":"a","action":[)"
           R"({"operation":{"extension":[{"url":"https://fovea.dev/fhir/StructureDefinition/testscript-repeat-until",)"
           R"("valueString":")" + until + R"("}],"type":{"code":"read"},"resource":"Patient","params":"/p1"}},)"
           R"({"assert":{"expression":"Patient.name.family","value":"Smith"}}]}]})";
  };
  auto r = RunText(script("Patient.active"), server.base());
  BOOST_TEST((r.outcome == engine::Outcome::kPass), Console(r));
  BOOST_TEST(server.Requests().size() == 3u);

  // A condition that never holds: the last answer stands and the assert after it fails.
  WrongServer never;
  never.Answer("GET /fhir/Patient/p1", Ok(kJones));
  engine::RunOptions quick;
  quick.receiver_timeout = std::chrono::milliseconds(500);
  auto r2 = RunText(script("Patient.active"), never.base(), quick);
  BOOST_TEST((r2.outcome == engine::Outcome::kFail), Console(r2));
  BOOST_TEST(never.Requests().size() >= 2u);
}

BOOST_AUTO_TEST_CASE(UnreachableServerIsAnError) {
  std::string text = Script(R"({"response":"okay"})");
  auto r = RunText(text, "http://127.0.0.1:9/fhir");
  BOOST_TEST((r.outcome == engine::Outcome::kError), Console(r));
  BOOST_TEST(r.message.find("could not be reached") != std::string::npos, r.message);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Reports)

BOOST_AUTO_TEST_CASE(TestReportJUnitAndHtmlCarryTheFailure) {
  WrongServer server;
  server.Answer("GET /fhir/Patient/p1", Ok(kJones));
  auto r = RunText(Script(R"({"label":"family-is-smith","expression":"Patient.name.family","value":"Smith"})"),
                   server.base());
  // A TestReport a FHIR server would accept.
  BOOST_TEST(test_support::ValidationIssues(engine::TestReportJson(r)) == "");
  auto report = common::ParseJson(engine::TestReportJson(r));
  BOOST_TEST_REQUIRE(report.has_value());
  BOOST_TEST(report->Find("result")->scalar() == "fail");
  const auto& action = report->Find("test")->items()[0].Find("action")->items()[1];
  BOOST_TEST(action.Find("assert")->Find("result")->scalar() == "fail");
  BOOST_TEST(action.Find("assert")->Find("message")->scalar().find("family-is-smith") == 0u);
  std::string junit = engine::JUnitXml({r});
  BOOST_TEST(junit.find("failures=\"1\"") != std::string::npos, junit);
  BOOST_TEST(junit.find("<failure message=") != std::string::npos, junit);
  std::string html = engine::HtmlReport({r}, server.base());
  BOOST_TEST(html.find("family-is-smith") != std::string::npos);
  BOOST_TEST(html.find("Jones") != std::string::npos);  // the response that failed
}

BOOST_AUTO_TEST_SUITE_END()
