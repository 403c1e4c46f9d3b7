#include "subscriptions/rest/hook_sender.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <memory>
#include <sstream>

namespace subscriptions {
namespace {

// The answer's body is read (so the connection ends cleanly) and dropped after this much.
constexpr std::streamsize kMaxAnswerBytes = 64 * 1024;

HookOutcome Failure(std::string code, std::string message) {
  HookOutcome o;
  o.error_code = std::move(code);
  o.message = std::move(message);
  return o;
}

std::unique_ptr<Poco::Net::HTTPClientSession> SessionFor(const Poco::URI& uri) {
  if (uri.getScheme() == "https") {
    // The system's CA store, full chain and host name verification.
    static const Poco::Net::Context::Ptr context(new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", "", "", Poco::Net::Context::VERIFY_STRICT, 9, true));
    return std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), context);
  }
  return std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
}

}  // namespace

HookOutcome SendHook(const HookRequest& request, std::chrono::milliseconds timeout) {
  try {
    Poco::URI uri(request.url);
    if (uri.getScheme() != "https" && uri.getScheme() != "http") {
      return Failure("error-response", "the endpoint is not an http(s) URL");
    }
    std::unique_ptr<Poco::Net::HTTPClientSession> session = SessionFor(uri);
    session->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
    std::string target = uri.getPathAndQuery();
    if (target.empty()) target = "/";
    Poco::Net::HTTPRequest http(request.method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    http.set("User-Agent", "Fovea-Subscriptions");
    for (const auto& [name, value] : request.headers) http.set(name, value);
    if (!request.body.empty() || request.method != "DELETE") {
      http.setContentLength(static_cast<std::streamsize>(request.body.size()));
    }
    std::ostream& out = session->sendRequest(http);
    out.write(request.body.data(), static_cast<std::streamsize>(request.body.size()));
    Poco::Net::HTTPResponse response;
    std::istream& in = session->receiveResponse(response);
    char buf[4096];
    std::streamsize drained = 0;
    while (drained < kMaxAnswerBytes && (in.read(buf, sizeof buf) || in.gcount() > 0)) {
      drained += in.gcount();
    }
    HookOutcome o;
    o.http_status = static_cast<int>(response.getStatus());
    o.delivered = o.http_status >= 200 && o.http_status < 300;
    if (!o.delivered) {
      o.error_code = "error-response";
      o.message = "the endpoint answered HTTP " + std::to_string(o.http_status);
    }
    return o;
  } catch (const Poco::Net::HostNotFoundException&) {
    return Failure("dns-resolution-error", "the endpoint's host name did not resolve");
  } catch (const Poco::Net::NoAddressFoundException&) {
    return Failure("dns-resolution-error", "the endpoint's host name did not resolve");
  } catch (const Poco::TimeoutException&) {
    return Failure("no-response", "the endpoint did not answer within the timeout");
  } catch (const Poco::Net::ConnectionRefusedException&) {
    return Failure("no-response", "the endpoint refused the connection");
  } catch (const Poco::Exception& e) {
    return Failure("no-response", "the endpoint could not be reached: " + e.displayText());
  } catch (const std::exception& e) {
    return Failure("no-response", std::string("the endpoint could not be reached: ") + e.what());
  }
}

}  // namespace subscriptions
