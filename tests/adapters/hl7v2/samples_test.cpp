// Every sample in ../shared/testdata/hl7v2 parses and re-encodes byte for byte.

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/hl7v2/message.h"

namespace {

namespace fs = std::filesystem;
using adapters::hl7v2::Message;

std::vector<fs::path> Samples() {
  const char* shared = std::getenv("FOVEA_SHARED_DIR");
  fs::path dir = fs::path(shared != nullptr ? shared : FOVEA_SOURCE_DIR "/../shared") / "testdata/hl7v2";
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".hl7") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

BOOST_AUTO_TEST_SUITE(Hl7v2Samples)

BOOST_AUTO_TEST_CASE(EverySampleRoundTripsExactly) {
  auto samples = Samples();
  BOOST_REQUIRE_GE(samples.size(), 40u);
  for (const auto& path : samples) {
    BOOST_TEST_CONTEXT(path.filename().string()) {
      std::string text = Read(path);
      auto parsed = Message::Parse(text);
      BOOST_REQUIRE(parsed.has_value());
      BOOST_TEST(parsed->Encode() == text);
      BOOST_TEST(parsed->segments().front().id() == "MSH");
      BOOST_TEST(!parsed->MessageType().empty());
      BOOST_TEST(!parsed->ControlId().empty());
      BOOST_TEST(adapters::hl7v2::IsSupportedVersion(parsed->Version()));
    }
  }
}

// The same messages with CR (the standard's terminator) and CRLF also round-trip, and read the
// same values.
BOOST_AUTO_TEST_CASE(OtherTerminatorsRoundTrip) {
  for (const auto& path : Samples()) {
    BOOST_TEST_CONTEXT(path.filename().string()) {
      std::string text = Read(path);
      std::string cr = text;
      std::replace(cr.begin(), cr.end(), '\n', '\r');
      std::string crlf;
      for (char c : text) {
        if (c == '\n') crlf += "\r\n"; else crlf.push_back(c);
      }
      auto a = Message::Parse(cr);
      auto b = Message::Parse(crlf);
      BOOST_REQUIRE(a.has_value());
      BOOST_REQUIRE(b.has_value());
      BOOST_TEST(a->Encode() == cr);
      BOOST_TEST(b->Encode() == crlf);
      BOOST_TEST(a->segments().size() == b->segments().size());
      BOOST_TEST(a->Get("PID-5.1") == b->Get("PID-5.1"));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
