// server/jwks_fetcher: a real HTTP fetch from a loopback key server, and the refusals.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include <boost/test/unit_test.hpp>

#include <string>

#include "server/jwks_fetcher.h"

namespace {

// Serves /jwks.json, a 404 elsewhere, and /huge with 100 KB.
class KeyServer final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  class Handler final : public Poco::Net::HTTPRequestHandler {
   public:
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& res) override {
      if (req.getURI() == "/jwks.json") {
        res.setContentType("application/json");
        res.send() << R"({"keys":[]})";
      } else if (req.getURI() == "/huge") {
        res.send() << std::string(100 * 1024, ' ');
      } else {
        res.setStatus(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
        res.send();
      }
    }
  };
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new Handler;
  }
};

struct Served {
  Poco::Net::ServerSocket socket{Poco::Net::SocketAddress("127.0.0.1", 0)};
  Poco::Net::HTTPServer http{new KeyServer, socket, new Poco::Net::HTTPServerParams};
  Served() { http.start(); }
  ~Served() { http.stopAll(true); }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(socket.address().port()) + path;
  }
};

BOOST_FIXTURE_TEST_SUITE(JwksFetcher, Served)

BOOST_AUTO_TEST_CASE(FetchesFromALoopbackKeyServer) {
  auto text = server::FetchJwks(Url("/jwks.json"));
  BOOST_REQUIRE(text.has_value());
  BOOST_TEST(*text == R"({"keys":[]})");
}

BOOST_AUTO_TEST_CASE(RefusesErrorsOversizeAndPlainHttpElsewhere) {
  BOOST_TEST(!server::FetchJwks(Url("/missing")).has_value());
  BOOST_TEST(!server::FetchJwks(Url("/huge")).has_value());
  BOOST_TEST(!server::FetchJwks("http://ehr.example/jwks.json").has_value());
  BOOST_TEST(!server::FetchJwks("ftp://127.0.0.1/jwks.json").has_value());
  BOOST_TEST(!server::FetchJwks("not a url").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
