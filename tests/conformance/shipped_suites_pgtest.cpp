// The shipped conformance suites (conformance/suites) and the HL7/crucible example TestScripts
// run through the engine against a real `fovea serve` on a fresh database; the CLI is run as a
// process for its exit codes and report files.

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/json.h"
#include "conformance/engine/executor.h"
#include "conformance/engine/reports.h"
#include "conformance/engine/suites.h"
#include "conformance/engine/test_script.h"
#include "fhir/auth/crypto/jose.h"
#include "tests/support/serve_process.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_database.h"

namespace {

namespace engine = conformance::engine;
namespace fs = std::filesystem;

struct Server {
  test_support::TestDatabase db;
  std::unique_ptr<test_support::ServeProcess> serve;
  Server() : serve(std::make_unique<test_support::ServeProcess>(FOVEA_BIN, db.dsn())) {}
};

// One server for the whole file: suites clean up after themselves and create what they need
// with server-assigned ids, so they do not disturb each other.
Server& Shared() {
  static Server server;
  return server;
}

std::vector<engine::ScriptResult> RunSuite(const std::string& suite_or_dir,
                                           engine::RunOptions options = {}) {
  std::vector<std::string> dirs{std::string(FOVEA_SOURCE_DIR) + "/conformance/suites"};
  auto files = engine::ResolveScripts(suite_or_dir, dirs);
  BOOST_TEST_REQUIRE(files.has_value(), (files.has_value() ? "" : files.error().message()));
  options.base = Shared().serve->base();
  engine::PocoHttpTransport http;
  engine::Executor executor(http, options);
  std::vector<engine::ScriptResult> results;
  for (const auto& f : *files) {
    auto script = engine::ParseTestScriptFile(f);
    BOOST_TEST_REQUIRE(script.has_value(), f);
    results.push_back(executor.Run(*script));
  }
  return results;
}

std::string Console(const std::vector<engine::ScriptResult>& results) {
  std::ostringstream out;
  engine::WriteConsole(results, out, false);
  return out.str();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult RunCli(const std::string& args) {
  std::string cmd = std::string(FOVEA_BIN) + " conformance run " + args + " 2>&1";
  CommandResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* const kSuites[] = {"core", "search", "transactions", "subscriptions", "screening"};

}  // namespace

BOOST_AUTO_TEST_SUITE(ShippedSuites)

BOOST_DATA_TEST_CASE(EverySuitePassesAgainstFovea, boost::unit_test::data::make(kSuites), suite) {
  auto results = RunSuite(suite);
  BOOST_TEST(!results.empty());
  for (const auto& r : results) {
    BOOST_TEST((r.outcome == engine::Outcome::kPass), r.name << "\n" << Console({r}));
    BOOST_TEST(r.Count(engine::Outcome::kPass) > 0, r.name);
  }
}

// The HL7 R4 spec's example TestScripts and the crucible engine's run against a fresh Fovea
// with the outcome each should have, for the reason given: none crashes, none passes by
// accident, and those whose fixtures are not shipped say so.
struct Example {
  const char* file;
  engine::Outcome outcome;
  const char* reason;  // a part of the script's (or its first failing test's) message
};

std::ostream& operator<<(std::ostream& os, const Example& e) { return os << e.file; }

const Example kExamples[] = {
    // Setup deletes Patient/example first (200/204 even when it never existed, R4
    // http.html#delete), then PUTs it and wants 200 where a create is rightly 201.
    {"crucible-testscript-engine/TestScripts/general_testscript.json", engine::Outcome::kFail, "expected '200', got '201'"},
    // Their fixture Patient has a birthDate R4 does not allow: Fovea refuses it with 400.
    {"crucible-testscript-engine/TestScripts/history_testscript.json", engine::Outcome::kFail, "expected '200', got '400'"},
    {"crucible-testscript-engine/TestScripts/update_testscript.json", engine::Outcome::kFail, "expected okay (200), got 400"},
    // Patient/example exists by now (the scripts above made it); R004 wants 400 for
    // ID-may-not-contain-CAPITALS, a valid R4 id: 404 is right.
    {"crucible-testscript-engine/TestScripts/read_testscript.json", engine::Outcome::kFail, "expected bad (400), got 404"},
    // Its last test asks a person for search criteria (variables with only a hint).
    {"crucible-testscript-engine/TestScripts/search_testscript.json", engine::Outcome::kSkip, "--var PatientSearchFamilyName="},
    // The spec's examples name fixtures (Patient/example, Patient/pat1) the spec does not ship.
    {"hl7-r4-spec-examples/TestScript-testscript-example.json", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/TestScript-testscript-example-history.json", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/TestScript-testscript-example-update.json", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/TestScript-testscript-example-search.json", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/TestScript-testscript-example-readtest.json", engine::Outcome::kFail, "expected bad (400), got 404"},
    {"hl7-r4-spec-examples/TestScript-testscript-example-multisystem.json", engine::Outcome::kPass, ""},
    {"hl7-r4-spec-examples/testscript-example.xml", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/testscript-example-history.xml", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/testscript-example-update.xml", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/testscript-example-search.xml", engine::Outcome::kSkip, "not shipped with this TestScript"},
    {"hl7-r4-spec-examples/testscript-example-readtest.xml", engine::Outcome::kFail, "expected bad (400), got 404"},
    {"hl7-r4-spec-examples/testscript-example-multisystem.xml", engine::Outcome::kPass, ""},
};

BOOST_DATA_TEST_CASE(ExampleTestScriptsRunWithTheExpectedOutcome, boost::unit_test::data::make(kExamples), e) {
  fs::path file = test_support::SharedDir() / "testdata/testscripts" / e.file;
  auto results = RunSuite(file.string());
  BOOST_TEST_REQUIRE(results.size() == 1u);
  const auto& r = results[0];
  std::string console = Console(results);
  BOOST_TEST((r.outcome == e.outcome), console);
  BOOST_TEST(console.find(e.reason) != std::string::npos, console);
}

// The same HL7 examples with what they assume: the spec's example resources as fixtures
// (--fixtures examples-json: Patient/example is Patient-example.json) and Patient/example on the
// server (put back before each script, as a tester would). What still fails is the scripts'.
const Example kExamplesWithData[] = {
    {"TestScript-testscript-example.json", engine::Outcome::kPass, ""},
    {"testscript-example.xml", engine::Outcome::kPass, ""},
    {"TestScript-testscript-example-multisystem.json", engine::Outcome::kPass, ""},
    {"testscript-example-multisystem.xml", engine::Outcome::kPass, ""},
    // R004 wants 400 for ID-may-not-contain-CAPITALS, a valid R4 id: 404 is right.
    {"TestScript-testscript-example-readtest.json", engine::Outcome::kFail, "expected bad (400), got 404"},
    {"testscript-example-readtest.xml", engine::Outcome::kFail, "expected bad (400), got 404"},
    // They PUT fixture Patient/pat1 (id pat1) to Patient/example: R4 says 400 for the mismatch.
    {"TestScript-testscript-example-update.json", engine::Outcome::kFail, "expected okay (200), got 400"},
    {"testscript-example-update.xml", engine::Outcome::kFail, "expected okay (200), got 400"},
    {"TestScript-testscript-example-history.json", engine::Outcome::kFail, "expected '200', got '400'"},
    {"testscript-example-history.xml", engine::Outcome::kFail, "expected '200', got '400'"},
    {"TestScript-testscript-example-search.json", engine::Outcome::kSkip, "--var PatientSearchFamilyName="},
    {"testscript-example-search.xml", engine::Outcome::kSkip, "--var PatientSearchFamilyName="},
};

BOOST_AUTO_TEST_CASE(ExampleTestScriptsWithTheSpecsExampleResources) {
  test_support::TestDatabase db;
  test_support::ServeProcess serve(FOVEA_BIN, db.dsn());
  fs::path examples = test_support::SharedDir() / "testdata/examples-json";
  std::string patient = test_support::ReadFile(examples / "Patient-example.json");
  engine::RunOptions options;
  options.base = serve.base();
  options.fixture_dirs.push_back(examples.string());
  engine::PocoHttpTransport http;
  engine::Executor executor(http, options);
  for (const Example& e : kExamplesWithData) {
    BOOST_TEST_CONTEXT(e.file) {
      auto put = serve.Request("PUT", "Patient/example", patient);
      BOOST_TEST_REQUIRE((put.status == 200 || put.status == 201), put.body);
      auto script = engine::ParseTestScriptFile(
          (test_support::SharedDir() / "testdata/testscripts/hl7-r4-spec-examples" / e.file).string());
      BOOST_TEST_REQUIRE(script.has_value());
      auto r = executor.Run(*script);
      std::string console = Console({r});
      BOOST_TEST((r.outcome == e.outcome), console);
      BOOST_TEST(console.find(e.reason) != std::string::npos, console);
      if (e.outcome == engine::Outcome::kPass) BOOST_TEST(r.Count(engine::Outcome::kPass) > 5, console);
    }
  }
}

BOOST_AUTO_TEST_CASE(EveryExampleIsCovered) {
  std::size_t n = 0;
  for (const auto& dir : {"crucible-testscript-engine/TestScripts", "hl7-r4-spec-examples"}) {
    auto files = engine::ResolveScripts((test_support::SharedDir() / "testdata/testscripts" / dir).string(), {});
    BOOST_TEST_REQUIRE(files.has_value());
    n += files->size();
  }
  BOOST_TEST(n == std::size(kExamples));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ConformanceCommand)

BOOST_AUTO_TEST_CASE(PassingSuiteExitsZeroAndWritesReports) {
  fs::path dir = fs::temp_directory_path() / ("fovea-conf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string suite = std::string(FOVEA_SOURCE_DIR) + "/conformance/suites/core/crud.json";
  auto r = RunCli("--base " + Shared().serve->base() + " --junit " + (dir / "j.xml").string() +
                  " --report " + (dir / "r.json").string() + " --html " +
                  (dir / "r.html").string() + " " + suite);
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("PASS  Core: create, read") != std::string::npos, r.output);
  std::string junit = Slurp(dir / "j.xml");
  BOOST_TEST(junit.find("<testsuite name=\"Core: create, read, update, vread, delete\" tests=\"8\" failures=\"0\"") != std::string::npos, junit);
  auto report = common::ParseJson(Slurp(dir / "r.json"));
  BOOST_TEST_REQUIRE(report.has_value());
  const auto* entries = report->Find("entry");
  BOOST_TEST_REQUIRE(entries != nullptr);
  BOOST_TEST(entries->items().size() == 1u);
  const auto& tr = *entries->items()[0].Find("resource");
  BOOST_TEST(tr.Find("resourceType")->scalar() == "TestReport");
  BOOST_TEST(tr.Find("result")->scalar() == "pass");
  BOOST_TEST(tr.Find("test")->items().size() == 8u);
  // --report DIR/: one TestReport per script, named after it.
  auto per_script = RunCli("--base " + Shared().serve->base() + " --report " + (dir / "reports/").string() +
                           " core/crud.json core/history.json");
  BOOST_TEST(per_script.exit_code == 0, per_script.output);
  for (const char* name : {"TestReport-fovea-core-crud.json", "TestReport-fovea-core-history.json"}) {
    auto one = common::ParseJson(Slurp(dir / "reports" / name));
    BOOST_TEST_REQUIRE(one.has_value(), name);
    BOOST_TEST(one->Find("resourceType")->scalar() == "TestReport");
  }
  std::string html = Slurp(dir / "r.html");
  BOOST_TEST(html.find("<!DOCTYPE html>") == 0u);
  BOOST_TEST(html.find("Core: create, read") != std::string::npos);
  BOOST_TEST(html.find("<script") == std::string::npos);  // one page, no external assets
  BOOST_TEST(html.find("src=") == std::string::npos);
  fs::remove_all(dir);
}

// SMART backend services against Fovea with authorisation on: the command signs a client
// assertion, gets a token and runs a suite with it; without credentials the same suite fails.
BOOST_AUTO_TEST_CASE(ClientCredentialsAgainstAuthorisationOn) {
  test_support::TestDatabase db;
  auto key = fhir::auth::JwsKey::Generate(fhir::auth::JwsAlgorithm::kES384, "conf-k1");
  BOOST_TEST_REQUIRE(key.has_value());
  fs::path dir = fs::temp_directory_path() / ("fovea-conf-cc-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "jwks.json") << fhir::auth::JwksJson({*key});
  std::ofstream(dir / "key.pem") << key->PrivateKeyPem();
  std::string add = std::string(FOVEA_BIN) + " client add --client-id conformance-ehr --role ehr-system --jwks " +
                    (dir / "jwks.json").string() + " --database-url '" + db.dsn() + "' >/dev/null 2>&1";
  BOOST_TEST_REQUIRE(std::system(add.c_str()) == 0, add);
  test_support::ServeProcess secured(FOVEA_BIN, db.dsn(), {"--auth", "on"});
  std::string suite = std::string(FOVEA_SOURCE_DIR) + "/conformance/suites/core/crud.json";

  auto anonymous = RunCli("--base " + secured.base() + " " + suite);
  BOOST_TEST(anonymous.exit_code == 1, anonymous.output);
  BOOST_TEST(anonymous.output.find("got 401") != std::string::npos, anonymous.output);

  auto r = RunCli("--base " + secured.base() + " --client-id conformance-ehr --private-key " +
                  (dir / "key.pem").string() + " --key-alg ES384 --kid conf-k1 --scope 'system/*.cruds' " + suite);
  BOOST_TEST(r.exit_code == 0, r.output + secured.log());
  auto shorthand = RunCli("--base " + secured.base() + " --client-credentials conformance-ehr:" +
                          (dir / "key.pem").string() + " --key-alg ES384 --kid conf-k1 --scope 'system/*.cruds' " + suite);
  BOOST_TEST(shorthand.exit_code == 0, shorthand.output);

  auto wrong_key = RunCli("--base " + secured.base() + " --client-id nobody --private-key " +
                          (dir / "key.pem").string() + " --key-alg ES384 --kid conf-k1 " + suite);
  BOOST_TEST(wrong_key.exit_code == 2, wrong_key.output);
  BOOST_TEST(wrong_key.output.find("cannot get an access token") != std::string::npos, wrong_key.output);
  fs::remove_all(dir);
}

// HTTPS and WSS: a server with a certificate the system does not trust is refused (exit 2);
// with --ca-file naming it, the CRUD and websocket scripts pass over TLS.
BOOST_AUTO_TEST_CASE(HttpsAndWssWithAPrivateCa) {
  fs::path dir = fs::temp_directory_path() / ("fovea-conf-tls-" + std::to_string(::getpid()));
  std::string cert = std::string(FOVEA_BIN) + " cert dev --force --out " + dir.string() + " >/dev/null 2>&1";
  BOOST_TEST_REQUIRE(std::system(cert.c_str()) == 0);
  test_support::TestDatabase db;
  test_support::ServeProcess tls(FOVEA_BIN, db.dsn(),
                                 {"--tls-cert", (dir / "dev-cert.pem").string(), "--tls-key",
                                  (dir / "dev-key.pem").string()});
  std::string base = "https://127.0.0.1:" + std::to_string(tls.port()) + "/fhir/R4";
  auto untrusted = RunCli("--base " + base + " core/crud.json");
  BOOST_TEST(untrusted.exit_code == 2, untrusted.output);
  BOOST_TEST(untrusted.output.find("certificate verify failed") != std::string::npos, untrusted.output);
  auto r = RunCli("--base " + base + " --ca-file " + (dir / "dev-cert.pem").string() +
                  " core/crud.json subscriptions/websocket.json");
  BOOST_TEST(r.exit_code == 0, r.output + tls.log());
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(UnreachableServerIsAnErrorNotAPass) {
  std::string suite = std::string(FOVEA_SOURCE_DIR) + "/conformance/suites/core/crud.json";
  // Port 9 on loopback: nothing listens there.
  auto r = RunCli("--base http://127.0.0.1:9/fhir/R4 " + suite);
  BOOST_TEST(r.exit_code == 2, r.output);
  BOOST_TEST(r.output.find("cannot be reached") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_CASE(UnparsableScriptIsAnError) {
  fs::path bad = fs::temp_directory_path() / ("fovea-conf-bad-" + std::to_string(::getpid()) + ".json");
  std::ofstream(bad) << "{\"resourceType\":\"TestScript\",\"test\":[{\"action\":[{}]}]}";
  auto r = RunCli("--base " + Shared().serve->base() + " " + bad.string());
  BOOST_TEST(r.exit_code == 2, r.output);
  BOOST_TEST(r.output.find("exactly one of operation or assert") != std::string::npos, r.output);
  std::ofstream(bad) << "{not json";
  r = RunCli("--base " + Shared().serve->base() + " " + bad.string());
  BOOST_TEST(r.exit_code == 2, r.output);
  fs::remove(bad);
  r = RunCli("--base " + Shared().serve->base() + " no-such-suite");
  BOOST_TEST(r.exit_code == 2, r.output);
  BOOST_TEST(r.output.find("neither a file, a directory nor a suite") != std::string::npos, r.output);
}

BOOST_AUTO_TEST_SUITE_END()
