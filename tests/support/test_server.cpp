#include "tests/support/test_server.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/StreamCopier.h>
#include <strings.h>

#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "fhir/definitions/definitions.h"
#include "fhir/rest/access_control.h"
#include "server/cert_command.h"
#include "server/reindex_command.h"

namespace test_support {

std::string HttpResult::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return {};
}

TestServer::TestServer(fhir::rest::ServiceOptions options)
    : TestServer(std::move(options), fhir::rest::HttpServerOptions{}) {}

namespace {

std::unique_ptr<server::SubscriptionStack> OpenSubscriptions(
    fhir::store::pg::ConnectionPool& pool, std::shared_ptr<fhir::search::LiveRegistry> registry,
    fhir::store::ResourceStore& store, const common::Clock& clock,
    fhir::audit::ProvenanceStorage provenance = fhir::audit::kDefaultProvenanceStorage) {
  server::SubscriptionSettings settings;
  settings.provenance = provenance;
  auto stack = server::SubscriptionStack::Open(pool, std::move(registry), store, clock, settings);
  if (!stack.has_value()) throw std::runtime_error(stack.error().message());
  return std::move(stack).value();
}

std::unique_ptr<workflow::ScreeningApi> OpenScreening(workflow::WorkflowRules& rules,
                                                      fhir::store::ResourceStore& store,
                                                      fhir::search::SearchBackend& search,
                                                      std::shared_ptr<fhir::search::LiveRegistry> registry,
                                                      const common::Clock& clock,
                                                      server::SubscriptionStack& subscriptions,
                                                      workflow::ScreeningAudit audit = {}) {
  auto api = std::make_unique<workflow::ScreeningApi>(rules, store, search, std::move(registry), clock,
                                                      std::move(audit));
  if (auto st = api->EnsureShipped(); !st.ok()) throw std::runtime_error(st.message());
  api->SetPresence(subscriptions.PresenceLookup());
  return api;
}

std::unique_ptr<server::SecurityStack> OpenSecurity(fhir::store::pg::ConnectionPool& pool,
                                                    const common::Clock& clock,
                                                    fhir::audit::AuditLog* audit) {
  fhir::auth::AuthSettings settings;
  settings.issuer = TestServer::kTestIssuer;
  auto stack = server::SecurityStack::Open(pool, clock, settings, audit);
  if (!stack.has_value()) throw std::runtime_error(stack.error().message());
  return std::move(stack).value();
}

fhir::rest::SecuritySupport SecuritySupportFor(server::SecurityStack& stack,
                                              fhir::audit::AuditStore* audit_store) {
  fhir::rest::SecuritySupport support = stack.ForFhirService();
  support.audit_store = audit_store;
  return support;
}

}  // namespace

fhir::rest::HttpServerOptions TestServer::DevTls() {
  static const server::DevCertificate cert = [] {
    char dir[] = "/tmp/fovea-test-tls.XXXXXX";
    if (mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    auto written = server::WriteDevCertificate(dir, false);
    if (!written.has_value()) throw std::runtime_error(written.error().message());
    return std::move(written).value();
  }();
  fhir::rest::HttpServerOptions http;
  http.tls.cert_chain_file = cert.cert_path;
  http.tls.private_key_file = cert.key_path;
  return http;
}

TestServer::TestServer(Secured, fhir::rest::HttpServerOptions http,
                       fhir::rest::ServiceOptions options)
    : pool_(db_.dsn(), 16),
      store_(pool_),
      search_(pool_),
      registry_(std::make_shared<fhir::search::LiveRegistry>(
          fhir::search::SearchParameterRegistry::R4())),
      audit_store_(std::make_unique<fhir::audit::pg::PgAuditStore>(pool_)),
      audit_(std::make_unique<fhir::audit::AuditLog>(*audit_store_, clock_)),
      provenance_search_(options.provenance == fhir::audit::ProvenanceStorage::kAuditTrail
                             ? std::make_unique<fhir::audit::ProvenanceMergingSearch>(
                                   search_, *audit_store_, registry_, fhir::definitions::Definitions::R4())
                             : nullptr),
      security_(OpenSecurity(pool_, clock_, audit_.get())),
      subscriptions_(OpenSubscriptions(pool_, registry_, store_, clock_, options.provenance)),
      workflow_rules_(std::make_unique<workflow::WorkflowRules>(store_, search(), registry_, clock_)),
      screening_(OpenScreening(*workflow_rules_, store_, search(), registry_, clock_, *subscriptions_,
                               {security_->ForFhirService().server_name, options.provenance})),
      service_(fhir::definitions::Definitions::R4(), store_, clock_, std::move(options),
               {registry_, &search(), [this](const auto& types) { ReindexNow(types); }},
               SecuritySupportFor(*security_, audit_store_.get()),
               fhir::rest::CombineExtensions({subscriptions_->ForFhirService(), screening_->Extensions()})) {
  security_->tokens().SetGranularCheck(fhir::rest::EnforceableGranularScopes(registry_));
  http.port = 0;
  http_ = std::make_unique<fhir::rest::HttpServer>(service_, [this] { return store_.Ping(); }, http);
  security_->Mount(*http_);
  WakeMatcherOnWrites();
  if (auto st = http_->Start(); !st.ok()) throw std::runtime_error(st.message());
  if (auto st = subscriptions_->StartChannel(*http_); !st.ok()) throw std::runtime_error(st.message());
}

TestServer::TestServer(fhir::rest::ServiceOptions options, fhir::rest::HttpServerOptions http)
    : pool_(db_.dsn(), 16),
      store_(pool_),
      search_(pool_),
      registry_(std::make_shared<fhir::search::LiveRegistry>(
          fhir::search::SearchParameterRegistry::R4())),
      subscriptions_(OpenSubscriptions(pool_, registry_, store_, clock_)),
      workflow_rules_(std::make_unique<workflow::WorkflowRules>(store_, search_, registry_, clock_)),
      screening_(OpenScreening(*workflow_rules_, store_, search_, registry_, clock_, *subscriptions_)),
      service_(fhir::definitions::Definitions::R4(), store_, clock_, std::move(options),
               {registry_, &search_, [this](const auto& types) { ReindexNow(types); }}, {},
               fhir::rest::CombineExtensions({subscriptions_->ForFhirService(), screening_->Extensions()})) {
  http.port = 0;
  http_ = std::make_unique<fhir::rest::HttpServer>(service_, [this] { return store_.Ping(); }, http);
  WakeMatcherOnWrites();
  if (auto st = http_->Start(); !st.ok()) throw std::runtime_error(st.message());
  if (auto st = subscriptions_->StartChannel(*http_); !st.ok()) throw std::runtime_error(st.message());
}

TestServer::~TestServer() {
  http_->Stop();
  subscriptions_->channel().Stop();
  subscriptions_->matcher().Stop();
  if (audit_ != nullptr) audit_->Stop();
}

// As `fovea serve` does: writes wake this server's matcher directly while it holds the lock.
void TestServer::WakeMatcherOnWrites() {
  local_matcher_wake_ = std::make_unique<server::LocalMatcherWake>(store_, subscriptions_->matcher());
}

// Synchronous here, so tests see the result of a SearchParameter change without waiting.
void TestServer::ReindexNow(const std::vector<std::string>& types) {
  if (!server::ReindexTypes(db_.dsn(), *registry_->Get(), types).has_value()) {
    throw std::runtime_error("reindex failed");
  }
}

std::string TestServer::base() const {
  return std::string(http_->tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
         fhir::rest::kFhirBasePath;
}

HttpResult TestServer::Request(const std::string& method, const std::string& path,
                               const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers) const {
  auto host_port = static_cast<Poco::UInt16>(port());
  std::unique_ptr<Poco::Net::HTTPClientSession> client;
  if (http_->tls()) {
    Poco::Net::Context::Ptr context(new Poco::Net::Context(
        Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE));
    client = std::make_unique<Poco::Net::HTTPSClientSession>("127.0.0.1", host_port, context);
  } else {
    client = std::make_unique<Poco::Net::HTTPClientSession>("127.0.0.1", host_port);
  }
  Poco::Net::HTTPClientSession& session = *client;
  std::string uri = path.rfind('/', 0) == 0 ? path : std::string(fhir::rest::kFhirBasePath) + "/" + path;
  Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  bool has_content_type = false;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
    if (strcasecmp(k.c_str(), "Content-Type") == 0) has_content_type = true;
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!has_content_type) req.setContentType("application/fhir+json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
  }
  session.sendRequest(req) << body;
  Poco::Net::HTTPResponse res;
  std::istream& in = session.receiveResponse(res);
  HttpResult out;
  out.status = static_cast<int>(res.getStatus());
  for (const auto& [k, v] : res) out.headers.emplace_back(k, v);
  std::ostringstream ss;
  Poco::StreamCopier::copyStream(in, ss);
  out.body = ss.str();
  return out;
}

}  // namespace test_support
