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
#include "tests/support/serve_process.h"
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

const char* const kSuites[] = {"core"};

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
  BOOST_TEST(junit.find("<testsuite name=\"Core: create, read, update, vread, delete\" tests=\"7\" failures=\"0\"") != std::string::npos, junit);
  auto report = common::ParseJson(Slurp(dir / "r.json"));
  BOOST_TEST_REQUIRE(report.has_value());
  const auto* entries = report->Find("entry");
  BOOST_TEST_REQUIRE(entries != nullptr);
  BOOST_TEST(entries->items().size() == 1u);
  const auto& tr = *entries->items()[0].Find("resource");
  BOOST_TEST(tr.Find("resourceType")->scalar() == "TestReport");
  BOOST_TEST(tr.Find("result")->scalar() == "pass");
  BOOST_TEST(tr.Find("test")->items().size() == 7u);
  std::string html = Slurp(dir / "r.html");
  BOOST_TEST(html.find("<!DOCTYPE html>") == 0u);
  BOOST_TEST(html.find("Core: create, read") != std::string::npos);
  BOOST_TEST(html.find("<script") == std::string::npos);  // one page, no external assets
  BOOST_TEST(html.find("src=") == std::string::npos);
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
