#include "fhir/rest/http_server.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>

#include "common/log.h"
#include "fhir/rest/outcome.h"

namespace fhir::rest {
namespace {

std::string NewRequestId() {
  static const std::uint32_t prefix = std::random_device{}();
  static std::atomic<std::uint64_t> counter{0};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08x-%llu", prefix,
                static_cast<unsigned long long>(++counter));
  return buf;
}

// Route shape for the access log: resource type and interaction, never ids or parameters.
std::string RouteShape(const std::string& path) {
  std::string shape;
  std::size_t start = 0;
  int segment = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    std::string part = path.substr(start, slash == std::string::npos ? std::string::npos
                                                                       : slash - start);
    if (!part.empty()) {
      bool keep = segment == 0 || part[0] == '_' || part[0] == '$';
      shape += "/" + (keep ? part : std::string("{id}"));
      ++segment;
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return shape.empty() ? "/" : shape;
}

void Send(Poco::Net::HTTPServerResponse& out, const RestResponse& res) {
  out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(res.status));
  for (const auto& [k, v] : res.headers) out.set(k, v);
  if (res.content_type.empty() || res.status == 304 || res.status == 204) {
    out.setContentLength(0);
    out.send();
    return;
  }
  out.setContentType(res.content_type);
  out.setContentLength(static_cast<std::streamsize>(res.body.size()));
  out.send().write(res.body.data(), static_cast<std::streamsize>(res.body.size()));
}

class FhirRequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  FhirRequestHandler(const FhirService& service, const std::function<common::Status()>& health,
                     const HttpServerOptions& options)
      : service_(service), health_(health), options_(options) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    auto started = std::chrono::steady_clock::now();
    RestRequest req;
    req.request_id = NewRequestId();
    RestResponse res;
    try {
      res = Dispatch(in, req);
    } catch (const std::exception&) {
      common::LogError("request " + req.request_id + ": unexpected exception in the HTTP layer");
      res = RestResponse{};
      res.status = 500;
      res.content_type = "application/fhir+json; charset=utf-8";
      res.body = OperationOutcomeJson(common::InternalError(
          "Internal server error (request " + req.request_id + ")"));
    }
    if (res.status == 413) out.setKeepAlive(false);  // the unread body makes the stream unusable
    try {
      Send(out, res);
    } catch (const Poco::Exception&) {
      // The client went away; nothing to answer.
    }
    if (options_.access_log || res.status >= 500) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
      common::Log(res.status >= 500 ? common::LogLevel::kError : common::LogLevel::kInfo,
                  "request " + req.request_id + " " + req.method + " " + RouteShape(req.path) +
                      " -> " + std::to_string(res.status) + " in " + std::to_string(us) + "us");
    }
  }

 private:
  RestResponse Dispatch(Poco::Net::HTTPServerRequest& in, RestRequest& req) {
    Poco::URI uri(in.getURI());
    std::string path = uri.getPath();
    req.method = in.getMethod();
    req.path = path;
    if (path == "/healthz") {
      RestResponse res;
      common::Status st = health_();
      res.status = st.ok() ? 200 : 503;
      res.content_type = "application/json";
      res.body = st.ok() ? R"({"status":"ok"})" : R"({"status":"unavailable","database":"unreachable"})";
      return res;
    }
    std::string base = kFhirBasePath;
    if (path.compare(0, base.size(), base) != 0 ||
        (path.size() > base.size() && path[base.size()] != '/')) {
      RestResponse res;
      res.status = 404;
      res.content_type = "application/fhir+json; charset=utf-8";
      res.body = OperationOutcomeJson(common::NotFoundError(
          "Not found: the FHIR R4 API is under " + base));
      return res;
    }
    req.path = path.substr(base.size());
    req.query = ParseQueryString(uri.getRawQuery());
    for (const auto& [k, v] : in) req.headers.emplace_back(k, v);
    std::string host = in.getHost();
    if (host.empty()) host = options_.bind + ":" + std::to_string(options_.port);
    req.base_url = "http://" + host + base;
    if (Poco::Net::HTTPServerRequest::UNKNOWN_CONTENT_LENGTH != in.getContentLength64() &&
        in.getContentLength64() > static_cast<Poco::Int64>(service_.options().max_body_bytes)) {
      RestResponse res;
      res.status = 413;
      res.content_type = "application/fhir+json; charset=utf-8";
      res.body = OperationOutcomeJson(common::Status(
          common::StatusCode::kTooLarge, "The request body exceeds the limit of " +
                                             std::to_string(service_.options().max_body_bytes) +
                                             " bytes"));
      return res;
    }
    if (in.getMethod() == "POST" || in.getMethod() == "PUT" || in.getMethod() == "PATCH") {
      // Read at most one byte past the limit: the service rejects oversized bodies with 413.
      std::istream& body = in.stream();
      std::size_t limit = service_.options().max_body_bytes + 1;
      char buf[16384];
      while (req.body.size() < limit && body) {
        body.read(buf, static_cast<std::streamsize>(
                           std::min(sizeof buf, limit - req.body.size())));
        req.body.append(buf, static_cast<std::size_t>(body.gcount()));
      }
    }
    return service_.Handle(req);
  }

  const FhirService& service_;
  const std::function<common::Status()>& health_;
  const HttpServerOptions& options_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const FhirService& service, const std::function<common::Status()>& health,
          const HttpServerOptions& options)
      : service_(service), health_(health), options_(options) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new FhirRequestHandler(service_, health_, options_);  // POCO takes ownership
  }

 private:
  const FhirService& service_;
  const std::function<common::Status()>& health_;
  const HttpServerOptions& options_;
};

}  // namespace

HttpServer::HttpServer(const FhirService& service, std::function<common::Status()> health,
                       HttpServerOptions options)
    : service_(service), health_(std::move(health)), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

common::Status HttpServer::Start() {
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)),
                true);
    socket.listen(128);
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;  // HTTPServer takes ownership
    params->setMaxThreads(options_.max_threads);
    params->setMaxQueued(options_.max_queued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);  // unlimited
    params->setKeepAliveTimeout(Poco::Timespan(15, 0));
    params->setServerName("Fovea");
    threads_ = std::make_unique<Poco::ThreadPool>(2, options_.max_threads);
    server_ = std::make_unique<Poco::Net::HTTPServer>(
        new Factory(service_, health_, options_), *threads_, socket, params);  // takes ownership
    server_->start();
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("Cannot listen on " + options_.bind + ":" +
                                    std::to_string(options_.port) + ": " + e.displayText());
  }
  return common::Status::Ok();
}

void HttpServer::Stop() {
  if (server_) {
    server_->stopAll(true);
    server_.reset();
  }
  if (threads_) {
    threads_->joinAll();
    threads_.reset();
  }
}

}  // namespace fhir::rest
