// HTTPS on the wire: the real server with a certificate from `fovea cert dev`, real TLS clients
// (POCO's HTTPSClientSession, and raw OpenSSL where a test needs to choose protocol versions or
// send bytes one at a time), and the slow-request limits.

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "server/cert_command.h"
#include "tests/support/test_server.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A certificate and key made by `fovea cert dev`, in a fresh directory.
struct DevPair {
  DevPair() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fovea-https-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    auto written = server::WriteDevCertificate(dir, false);
    if (!written.has_value()) throw std::runtime_error(written.error().message());
    pair = *written;
  }
  ~DevPair() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  fhir::rest::HttpServerOptions Https(int head_timeout_seconds) const {
    fhir::rest::HttpServerOptions http;
    http.tls.cert_chain_file = pair.cert_path;
    http.tls.private_key_file = pair.key_path;
    http.request_head_timeout_seconds = head_timeout_seconds;
    http.request_body_timeout_seconds = 1;
    return http;
  }
  std::string dir;
  server::DevCertificate pair;
};

// The server with short slow-request limits: 1 s for a head, 1 s (plus rate) for a body.
struct HttpsServer : DevPair, test_support::TestServer {
  HttpsServer() : TestServer(fhir::rest::ServiceOptions{}, Https(1)) {}
};

// The server with a generous head limit, so a blocked accept loop could not hide behind it.
struct PatientHttpsServer : DevPair, test_support::TestServer {
  PatientHttpsServer() : TestServer(fhir::rest::ServiceOptions{}, Https(60)) {}
};

// GET over HTTPSClientSession, trusting exactly the generated certificate.
test_support::HttpResult HttpsGet(const DevPair& dev, int port, const std::string& uri) {
  Poco::Net::Context::Ptr context(new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "",
                                                         dev.pair.cert_path,
                                                         Poco::Net::Context::VERIFY_RELAXED));
  Poco::Net::HTTPSClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port), context);
  session.setTimeout(Poco::Timespan(5, 0));
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, uri,
                             Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  Poco::Net::HTTPResponse res;
  std::istream& in = session.receiveResponse(res);
  test_support::HttpResult out;
  out.status = static_cast<int>(res.getStatus());
  std::ostringstream body;
  Poco::StreamCopier::copyStream(in, body);
  out.body = body.str();
  return out;
}

// A raw OpenSSL client on a blocking socket, for exact control of versions, ciphers and timing.
class TlsClient {
 public:
  TlsClient(int port, int min_version, int max_version, const char* tls12_ciphers = nullptr)
      : socket_(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port))),
        ctx_(SSL_CTX_new(TLS_client_method())) {
    socket_.setReceiveTimeout(Poco::Timespan(5, 0));
    // Security level 0, so this client is able to offer TLS 1.0/1.1 at all (OpenSSL 3 refuses
    // them at level 1): any refusal then comes from the server.
    SSL_CTX_set_security_level(ctx_.get(), 0);
    SSL_CTX_set_min_proto_version(ctx_.get(), min_version);
    SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    SSL_CTX_set_cipher_list(ctx_.get(),
                            tls12_ciphers != nullptr ? tls12_ciphers : "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), socket_.impl()->sockfd());
  }

  bool Handshake() {
    ERR_clear_error();
    bool ok = SSL_connect(ssl_.get()) == 1;
    ERR_clear_error();
    return ok;
  }
  std::string Version() const { return SSL_get_version(ssl_.get()); }
  std::string Cipher() const { return SSL_get_cipher_name(ssl_.get()); }

  void Send(const std::string& data) {
    BOOST_REQUIRE(SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())) ==
                  static_cast<int>(data.size()));
  }
  // True when the server has sent application data, or closed, within `wait`. (TLS 1.3
  // session tickets also make the socket readable; they do not count.)
  bool ServerSpoke(std::chrono::milliseconds wait) {
    Clock::time_point deadline = Clock::now() + wait;
    while (SSL_pending(ssl_.get()) == 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{socket_.impl()->sockfd(), POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      socket_.setBlocking(false);
      char c;
      int n = SSL_peek(ssl_.get(), &c, 1);
      int error = SSL_get_error(ssl_.get(), n);
      socket_.setBlocking(true);
      ERR_clear_error();
      if (n > 0 || error != SSL_ERROR_WANT_READ) return true;
    }
    return true;
  }
  // Reads until the server closes; gives up after the 5 s receive timeout.
  std::string ReadAll() {
    std::string data;
    char buf[4096];
    while (true) {
      int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    ERR_clear_error();
    return data;
  }

 private:
  struct CtxFree {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };
  Poco::Net::StreamSocket socket_;
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

// Reads from a plain TCP socket until the peer closes (or resets); false after 5 s of silence.
bool ReadUntilClosed(Poco::Net::StreamSocket& socket, std::string& data) {
  socket.setReceiveTimeout(Poco::Timespan(5, 0));
  char buf[4096];
  try {
    while (true) {
      int n = socket.receiveBytes(buf, sizeof buf);
      if (n <= 0) return true;
      data.append(buf, static_cast<std::size_t>(n));
    }
  } catch (const Poco::TimeoutException&) {
    return false;
  } catch (const Poco::Exception&) {
    return true;  // reset
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(Https, HttpsServer)

BOOST_AUTO_TEST_CASE(MetadataOverHttpsLinksWithHttps) {
  BOOST_TEST(base().rfind("https://127.0.0.1:", 0) == 0u);
  auto res = HttpsGet(*this, port(), "/fhir/R4/metadata");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.body.find("\"url\":\"" + base() + "\"") != std::string::npos);
  BOOST_TEST(res.body.find("http://127.0.0.1") == std::string::npos);

  auto search = HttpsGet(*this, port(), "/fhir/R4/Patient");
  BOOST_TEST(search.status == 200);
  BOOST_TEST(search.body.find("\"url\":\"" + base() + "/Patient") != std::string::npos);
  BOOST_TEST(search.body.find("http://") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(TestServerRequestWorksOverHttps) {
  BOOST_TEST(Request("GET", "/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(Tls12And13AreAccepted) {
  TlsClient tls13(port(), TLS1_3_VERSION, TLS1_3_VERSION);
  BOOST_REQUIRE(tls13.Handshake());
  BOOST_TEST(tls13.Version() == "TLSv1.3");

  TlsClient tls12(port(), TLS1_2_VERSION, TLS1_2_VERSION);
  BOOST_REQUIRE(tls12.Handshake());
  BOOST_TEST(tls12.Version() == "TLSv1.2");
  BOOST_TEST(tls12.Cipher().rfind("ECDHE-ECDSA-", 0) == 0u);  // the key is EC P-256
  BOOST_TEST((tls12.Cipher().find("GCM") != std::string::npos ||
              tls12.Cipher().find("CHACHA20") != std::string::npos));
  tls12.Send("GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  BOOST_TEST(tls12.ReadAll().rfind("HTTP/1.1 200 OK", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(OldProtocolVersionsAreRefused) {
  TlsClient tls11(port(), TLS1_1_VERSION, TLS1_1_VERSION);
  BOOST_TEST(!tls11.Handshake());
  TlsClient tls10(port(), TLS1_VERSION, TLS1_VERSION);
  BOOST_TEST(!tls10.Handshake());
  // The same client code succeeds once it may use TLS 1.2: the refusal was the server's.
  TlsClient control(port(), TLS1_VERSION, TLS1_2_VERSION);
  BOOST_TEST(control.Handshake());
}

BOOST_AUTO_TEST_CASE(CbcAndNonForwardSecretCiphersAreRefused) {
  TlsClient cbc(port(), TLS1_2_VERSION, TLS1_2_VERSION,
                "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:@SECLEVEL=0");
  BOOST_TEST(!cbc.Handshake());
  TlsClient static_rsa(port(), TLS1_2_VERSION, TLS1_2_VERSION,
                       "AES128-GCM-SHA256:AES256-GCM-SHA384:@SECLEVEL=0");
  BOOST_TEST(!static_rsa.Handshake());
}

BOOST_AUTO_TEST_CASE(PlainHttpOnTheTlsPortIsNotServed) {
  Poco::Net::StreamSocket plain(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port())));
  std::string request = "GET /fhir/R4/metadata HTTP/1.1\r\nHost: t\r\n\r\n";
  plain.sendBytes(request.data(), static_cast<int>(request.size()));
  std::string answer;
  BOOST_TEST(ReadUntilClosed(plain, answer));  // the server hangs up
  BOOST_TEST(answer.find("HTTP/1.1 200") == std::string::npos);
  BOOST_TEST(answer.find("CapabilityStatement") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(TrickledRequestHeadGets408) {
  TlsClient slow(port(), TLS1_2_VERSION, TLS1_3_VERSION);
  BOOST_REQUIRE(slow.Handshake());
  // One byte per 100 ms, never finishing the head: each byte alone would reset a per-read
  // timeout (15 s keep-alive), so only the 1 s total head deadline can stop this.
  const std::string head =
      "GET /fhir/R4/metadata HTTP/1.1\r\nHost: t\r\nX-Slow: " + std::string(200, 'a');
  Clock::time_point start = Clock::now();
  std::size_t sent = 0;
  while (sent < head.size() && !slow.ServerSpoke(std::chrono::milliseconds(100))) {
    slow.Send(head.substr(sent++, 1));
  }
  BOOST_TEST_MESSAGE("server answered after " << sent << " bytes");
  BOOST_TEST(sent < head.size());  // cut off well before the 20 s this trickle would take
  std::string answer = slow.ReadAll();
  BOOST_TEST(answer.rfind("HTTP/1.1 408 Request Timeout", 0) == 0u);
  BOOST_TEST(answer.find("OperationOutcome") != std::string::npos);
  BOOST_TEST(SecondsSince(start) < 5.0);
}

BOOST_AUTO_TEST_CASE(TrickledBodyGets408) {
  TlsClient slow(port(), TLS1_2_VERSION, TLS1_3_VERSION);
  BOOST_REQUIRE(slow.Handshake());
  slow.Send(
      "POST /fhir/R4/Patient HTTP/1.1\r\nHost: t\r\nContent-Type: application/fhir+json\r\n"
      "Content-Length: 500\r\n\r\n");
  const std::string body(500, ' ');
  std::size_t sent = 0;
  while (sent < body.size() && !slow.ServerSpoke(std::chrono::milliseconds(100))) {
    slow.Send(body.substr(sent++, 1));
  }
  BOOST_TEST(sent < body.size());
  BOOST_TEST(slow.ReadAll().rfind("HTTP/1.1 408", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(TrickledHandshakeIsCutOff) {
  // The first bytes of a TLS record, one at a time: the handshake has the head's deadline.
  Poco::Net::StreamSocket raw(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port())));
  const std::string record_start("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  Clock::time_point start = Clock::now();
  std::size_t sent = 0;
  pollfd p{raw.impl()->sockfd(), POLLIN, 0};
  while (::poll(&p, 1, 100) == 0 && Clock::now() - start < std::chrono::seconds(5)) {
    raw.sendBytes(record_start.data() + sent % record_start.size(), 1);
    ++sent;
  }
  std::string answer;
  BOOST_TEST(ReadUntilClosed(raw, answer));
  BOOST_TEST(answer.empty());
  BOOST_TEST(SecondsSince(start) < 4.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(HttpsWithSilentClients, PatientHttpsServer)

BOOST_AUTO_TEST_CASE(SilentConnectionsDoNotBlockOtherClients) {
  // Connected, but never a byte: their handshakes wait in their own threads (for up to the
  // 60 s head limit), so the next client is served at once — within the client's 5 s timeout.
  Poco::Net::StreamSocket silent1(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port())));
  Poco::Net::StreamSocket silent2(
      Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port())));
  auto res = HttpsGet(*this, port(), "/fhir/R4/metadata");
  BOOST_TEST(res.status == 200);
  TlsClient raw(port(), TLS1_2_VERSION, TLS1_3_VERSION);
  BOOST_TEST(raw.Handshake());
}

BOOST_AUTO_TEST_SUITE_END()
