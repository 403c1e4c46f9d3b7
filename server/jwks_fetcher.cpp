#include "server/jwks_fetcher.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/URI.h>

#include <memory>

#include "fhir/rest/bind_address.h"

namespace server {
namespace {

constexpr std::size_t kMaxJwksBytes = 64 * 1024;
constexpr int kTimeoutSeconds = 5;

}  // namespace

common::Result<std::string> FetchJwks(const std::string& url) {
  try {
    Poco::URI uri(url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      // The system's CA store, full chain and host name verification.
      Poco::Net::Context::Ptr context(new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_STRICT, 9,
          true));
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                context);
    } else if (uri.getScheme() == "http" && fhir::rest::IsLoopbackAddress(uri.getHost())) {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    } else {
      return common::InvalidError("a JWKS URL must be https:// (http:// only on loopback)");
    }
    session->setTimeout(Poco::Timespan(kTimeoutSeconds, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/json");
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
      return common::UnavailableError("the JWKS URL answered " +
                                      std::to_string(static_cast<int>(response.getStatus())));
    }
    std::string body;
    char buf[4096];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      body.append(buf, static_cast<std::size_t>(in.gcount()));
      if (body.size() > kMaxJwksBytes) return common::InvalidError("the JWKS is too large");
    }
    return body;
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("the JWKS URL could not be fetched: " + e.displayText());
  }
}

}  // namespace server
