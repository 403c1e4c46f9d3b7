// server/load_command: `fovea load` over NDJSON and Bundles, through a real server's write path:
// bad resources reported with file and line and skipped (or stopping everything with --strict),
// fullUrls of a collection Bundle kept as references, and the command end to end on a database.

#include "server/load_command.h"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json.h"
#include "tests/support/test_database.h"
#include "tests/support/test_server.h"

namespace {

using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using test_support::TestServer;

// A scratch directory for the files to load, removed afterwards.
struct Scratch {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("fovea-load-" + std::to_string(::getpid()) + "-" +
                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  Scratch() { std::filesystem::create_directories(dir); }
  ~Scratch() { std::filesystem::remove_all(dir); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream((dir / name).string()) << text;
    return (dir / name).string();
  }
};

// The loader's requests, sent over HTTP to the test server.
std::function<RestResponse(const RestRequest&)> Over(const TestServer& server) {
  return [&server](const RestRequest& r) {
    auto result = server.Request(r.method, "", r.body, r.headers);
    RestResponse response;
    response.status = result.status;
    response.body = result.body;
    return response;
  };
}

int Count(const TestServer& server, const std::string& query) {
  auto r = server.Request("GET", query + (query.find('?') == std::string::npos ? "?" : "&") +
                                     "_summary=count");
  return std::atoi(common::ParseJson(r.body)->Find("total")->scalar().c_str());
}

const char* kNdjson =
    R"({"resourceType":"Patient","id":"n1","name":[{"family":"Ang"}]})" "\n"
    R"({"resourceType":"Patient","id":"n2","name":[{"family":"Bo"}]})" "\n"
    R"({"resourceType":"Patient","id":"n3","gender":"sometimes"})" "\n"
    "\n"
    R"(not json)" "\n"
    R"({"resourceType":"Observation","status":"final","code":{"text":"VA"},"subject":{"reference":"Patient/n1"}})" "\n";

BOOST_AUTO_TEST_SUITE(LoadCommand)

BOOST_AUTO_TEST_CASE(BadLinesAreReportedAndTheRestLoads) {
  TestServer server;
  Scratch scratch;
  std::string file = scratch.Write("mixed.ndjson", kNdjson);
  std::ostringstream progress, err;
  server::LoadOptions options;
  options.batch_size = 2;
  server::LoadSummary s = server::LoadFiles({file}, options, Over(server), progress, err);
  BOOST_TEST(s.loaded == 3u);
  BOOST_TEST(s.failed == 2u);
  BOOST_TEST(!s.stopped);
  BOOST_TEST(err.str().find("mixed.ndjson:3: ") != std::string::npos, err.str());
  BOOST_TEST(err.str().find("gender") != std::string::npos, err.str());
  BOOST_TEST(err.str().find("mixed.ndjson:5: ") != std::string::npos, err.str());
  BOOST_TEST(progress.str().find("/5 resources") != std::string::npos, progress.str());
  BOOST_TEST(progress.str().find("loaded 3 resources") != std::string::npos, progress.str());
  BOOST_TEST(server.Request("GET", "Patient/n2").status == 200);  // ids kept
  BOOST_TEST(server.Request("GET", "Patient/n3").status == 404);
  BOOST_TEST(Count(server, "Observation?subject=Patient/n1") == 1);
}

BOOST_AUTO_TEST_CASE(StrictStopsAtTheFirstFailure) {
  TestServer server;
  Scratch scratch;
  std::string file = scratch.Write("mixed.ndjson", kNdjson);
  std::ostringstream progress, err;
  server::LoadOptions options;
  options.batch_size = 10;
  options.strict = true;
  server::LoadSummary s = server::LoadFiles({file}, options, Over(server), progress, err);
  BOOST_TEST(s.stopped);
  BOOST_TEST(s.failed == 1u);
  BOOST_TEST(err.str().find("mixed.ndjson:5:") != std::string::npos, err.str());  // parse first
  BOOST_TEST(Count(server, "Patient") == 0);
}

BOOST_AUTO_TEST_CASE(BundlesLoadWithTheirReferences) {
  TestServer server;
  Scratch scratch;
  std::string collection = scratch.Write("visit.json", R"({"resourceType":"Bundle","type":"collection","entry":[
    {"fullUrl":"urn:uuid:7f5a0c1e-0000-4000-8000-0000000000a1","resource":{"resourceType":"Patient","name":[{"family":"Chua"}]}},
    {"resource":{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"FLD"},
      "subject":{"reference":"urn:uuid:7f5a0c1e-0000-4000-8000-0000000000a1"}}}]})");
  std::string batch = scratch.Write("batch.json", R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":{"resourceType":"Patient","name":[{"family":"Dee"}]},"request":{"method":"POST","url":"Patient"}},
    {"resource":{"resourceType":"Patient","gender":"x"},"request":{"method":"POST","url":"Patient"}}]})");
  std::ostringstream progress, err;
  server::LoadSummary s = server::LoadFiles({collection, batch}, {}, Over(server), progress, err);
  BOOST_TEST(s.loaded == 3u);
  BOOST_TEST(s.failed == 1u);
  BOOST_TEST(err.str().find("batch.json entry 1") != std::string::npos, err.str());
  auto found = server.Request("GET", "Patient?family=Chua");
  std::string id = common::ParseJson(found.body)->Find("entry")->items()[0].Find("resource")->Find("id")->scalar();
  BOOST_TEST(Count(server, "Encounter?subject=Patient/" + id) == 1);
}

BOOST_AUTO_TEST_CASE(TheCommandLoadsIntoADatabase) {
  test_support::TestDatabase db;
  Scratch scratch;
  std::string file = scratch.Write("p.ndjson",
                                   R"({"resourceType":"Patient","id":"cmd1"})" "\n"
                                   R"({"resourceType":"Patient","id":"cmd2"})" "\n");
  std::ostringstream out, err;
  int status = server::RunLoadCommand({"--database-url", db.dsn(), "--batch-size", "1", file}, out, err);
  BOOST_TEST(status == 0, err.str());
  BOOST_TEST(out.str().find("loaded 2 resources") != std::string::npos, out.str());
  std::ostringstream out2, err2;
  BOOST_TEST(server::RunLoadCommand({"--database-url", db.dsn()}, out2, err2) == 2);
  BOOST_TEST(err2.str().find("usage") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
