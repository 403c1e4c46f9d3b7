// Fovea's HTTP/1.1 connection handling on the wire, with raw sockets: what curl, browsers and
// EHR integration engines actually send (Expect: 100-continue, chunked bodies, pipelining,
// HTTP/1.0) and what they must never see (a reset before the answer).

#include <boost/test/unit_test.hpp>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "tests/support/test_server.h"

namespace {

class Wire {
 public:
  explicit Wire(int port) : sock_(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port))) {
    sock_.setReceiveTimeout(Poco::Timespan(10, 0));
  }
  void Send(const std::string& s) { sock_.sendBytes(s.data(), static_cast<int>(s.size())); }
  // Reads until `needle` has been seen `times` times (or the peer closes).
  std::string ReadUntil(const std::string& needle, int times = 1) {
    while (Count(needle) < times) {
      char buf[8192];
      int n = sock_.receiveBytes(buf, sizeof buf);
      if (n <= 0) break;
      data_.append(buf, static_cast<std::size_t>(n));
    }
    return data_;
  }
  std::string ReadAll() {
    while (true) {
      char buf[8192];
      int n = sock_.receiveBytes(buf, sizeof buf);
      if (n <= 0) return data_;
      data_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int Count(const std::string& needle) const {
    int n = 0;
    for (std::size_t p = data_.find(needle); p != std::string::npos; p = data_.find(needle, p + 1)) ++n;
    return n;
  }
  Poco::Net::StreamSocket sock_;
  std::string data_;
};

const std::string kBody = R"({"resourceType":"Patient","active":true})";

}  // namespace

BOOST_FIXTURE_TEST_SUITE(HttpWire, test_support::TestServer)

BOOST_AUTO_TEST_CASE(ExpectContinueGetsInterimThenFinalAnswer) {
  Wire w(port());
  w.Send("POST /fhir/R4/Patient HTTP/1.1\r\nHost: t\r\nContent-Type: application/fhir+json\r\n"
         "Content-Length: " + std::to_string(kBody.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  BOOST_TEST(w.ReadUntil("\r\n\r\n").rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
  w.Send(kBody);
  std::string all = w.ReadUntil("HTTP/1.1 201 Created");
  BOOST_TEST(all.find("HTTP/1.1 201 Created") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ChunkedRequestBody) {
  Wire w(port());
  std::string half1 = kBody.substr(0, 10), half2 = kBody.substr(10);
  char size1[16], size2[16];
  std::snprintf(size1, sizeof size1, "%zx", half1.size());
  std::snprintf(size2, sizeof size2, "%zx", half2.size());
  w.Send("POST /fhir/R4/Patient HTTP/1.1\r\nHost: t\r\nContent-Type: application/fhir+json\r\n"
         "Transfer-Encoding: chunked\r\n\r\n" + std::string(size1) + "\r\n" + half1 + "\r\n" +
         std::string(size2) + "\r\n" + half2 + "\r\n0\r\n\r\n");
  BOOST_TEST(w.ReadUntil("\"active\":true").find("HTTP/1.1 201 Created") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(PipelinedRequestsAnswerInOrder) {
  Wire w(port());
  w.Send("GET /fhir/R4/Patient/none HTTP/1.1\r\nHost: t\r\n\r\n"
         "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string all = w.ReadUntil("HTTP/1.1", 2);
  std::size_t first = all.find("HTTP/1.1 404");
  std::size_t second = all.find("HTTP/1.1 200");
  BOOST_TEST(first != std::string::npos);
  BOOST_TEST(second != std::string::npos);
  BOOST_TEST(first < second);
}

BOOST_AUTO_TEST_CASE(Http10ClosesAfterTheAnswer) {
  Wire w(port());
  w.Send("GET /healthz HTTP/1.0\r\n\r\n");
  std::string all = w.ReadAll();  // returns only because the server closed
  BOOST_TEST(all.rfind("HTTP/1.1 200 OK", 0) == 0);
  BOOST_TEST(all.find("Connection: close") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(GarbageGets400AndAClose) {
  Wire w(port());
  w.Send("HELLO THERE\r\n\r\n");
  std::string all = w.ReadAll();
  BOOST_TEST(all.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
  BOOST_TEST(all.find("OperationOutcome") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(HugeHeadersGet431) {
  Wire w(port());
  w.Send("GET /healthz HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n");
  BOOST_TEST(w.ReadAll().rfind("HTTP/1.1 431", 0) == 0);
}

BOOST_AUTO_TEST_CASE(HeadHasHeadersButNoBody) {
  BOOST_REQUIRE(Request("PUT", "Patient/h", R"({"resourceType":"Patient","id":"h"})").status == 201);
  Wire w(port());
  w.Send("HEAD /fhir/R4/Patient/h HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  std::string all = w.ReadAll();
  BOOST_TEST(all.rfind("HTTP/1.1 200 OK", 0) == 0);
  BOOST_TEST(all.find("ETag: W/\"1\"") != std::string::npos);
  BOOST_TEST(all.substr(all.size() - 4) == "\r\n\r\n");
}

BOOST_AUTO_TEST_SUITE_END()
