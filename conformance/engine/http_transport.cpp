#include "conformance/engine/http_transport.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <memory>
#include <sstream>
#include <strings.h>

#include "conformance/engine/detail/tls.h"

namespace conformance::engine {

const std::string* FindHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), name.size()) == 0) {
      return &v;
    }
  }
  return nullptr;
}

common::Result<HttpResponse> PocoHttpTransport::Send(const HttpRequest& request) {
  try {
    Poco::URI uri(request.url);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(
          uri.getHost(), uri.getPort(), detail::ClientTlsContext(ca_file_));
    } else if (uri.getScheme() == "http") {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    } else {
      return common::InvalidError("not an http(s) URL: " + request.url);
    }
    session->setTimeout(Poco::Timespan(static_cast<long>(timeout_.count()), 0));
    // The path and query exactly as given: POCO would re-encode characters such as '$'.
    std::size_t authority = request.url.find("://");
    std::size_t slash = request.url.find('/', authority + 3);
    std::string target = slash == std::string::npos ? "/" : request.url.substr(slash);
    if (std::size_t hash = target.find('#'); hash != std::string::npos) target.resize(hash);
    Poco::Net::HTTPRequest req(request.method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : request.headers) req.add(k, v);
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      req.setContentLength(static_cast<std::streamsize>(request.body.size()));
    }
    std::ostream& os = session->sendRequest(req);
    os << request.body;
    Poco::Net::HTTPResponse res;
    std::istream& is = session->receiveResponse(res);
    HttpResponse out;
    out.status = static_cast<int>(res.getStatus());
    out.reason = res.getReason();
    for (const auto& [k, v] : res) out.headers.emplace_back(k, v);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(is, body);
    out.body = body.str();
    return out;
  } catch (const Poco::Exception& e) {
    return common::UnavailableError(request.method + " " + request.url + ": " + e.displayText());
  } catch (const std::exception& e) {
    return common::UnavailableError(request.method + " " + request.url + ": " + e.what());
  }
}

}  // namespace conformance::engine
