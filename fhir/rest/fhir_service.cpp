#include "fhir/rest/fhir_service.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <optional>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "fhir/format/xml_schema.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/audit/audit_log.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/derived_provenance.h"
#include "fhir/audit/provenance_history.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/audit_recording.h"
#include "fhir/rest/audit_trail_api.h"
#include "fhir/rest/bundle_request.h"
#include "fhir/rest/bundle_writer.h"
#include "fhir/rest/media_types.h"
#include "fhir/rest/capability_statement.h"
#include "fhir/rest/outcome.h"
#include "fhir/rest/patching.h"
#include "fhir/rest/subsetting.h"
#include "fhir/rest/transaction.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/search_query.h"
#include "fhir/validation/validator.h"

namespace fhir::rest {

using auth::Permission;
using auth::Reach;
using common::Result;
using common::Status;
using common::StatusCode;
using model::Element;

namespace {

constexpr const char* kFhirJson = "application/fhir+json; charset=utf-8";
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// The principal of a call not (yet) authenticated: no identity, no scopes.
const std::shared_ptr<const auth::Principal>& NoPrincipal() {
  static const auto nobody = std::make_shared<const auth::Principal>();
  return nobody;
}

// The principal of every call when authorisation is off (`--auth off`): every permission.
const std::shared_ptr<const auth::Principal>& TrustedPrincipal() {
  static const auto trusted = std::make_shared<const auth::Principal>(auth::Principal::Trusted());
  return trusted;
}

}  // namespace

// One request in flight: the request, the response being built, and the interactions.
class FhirService::Call {
 public:
  Call(const FhirService& service, const RestRequest& request)
      : s_(service), req_(request) {}
  // An entry of a batch (or a transaction's read) run as a request of its own, by the principal
  // of the Bundle's request: authenticated and rate-limited once, as that request.
  Call(const FhirService& service, const RestRequest& request,
       std::shared_ptr<const auth::Principal> principal)
      : s_(service), req_(request), principal_(std::move(principal)), nested_(true) {}

  RestResponse Run() {
    try {
      // One registry for the whole request, even if SearchParameters change meanwhile.
      if (s_.search_.registry != nullptr) registry_ = s_.search_.registry->Get();
      if (nested_) {
        access_.emplace(*principal_, s_.defs_, registry_.get());
        Route();
      } else if (!Authenticate()) {
        // A missing or rejected token is a security event, unless the address is flooding us
        // (then the answer is 429 and nothing is recorded: no audit amplification).
        if (WithinRateLimit()) interaction_ = audit::Interaction::kLoginFailed;
      } else if (WithinRateLimit()) {
        access_.emplace(*principal_, s_.defs_, registry_.get());
        Route();
      }
    } catch (const std::exception& e) {
      // Last resort: log the request id, never the content; answer a generic 500.
      common::LogError("request " + req_.request_id + " failed: unexpected exception");
      Fail(Status(StatusCode::kInternal, "Internal server error (request " + req_.request_id + ")"));
    }
    ConvertResponseFormat();
    if (req_.Query("_pretty") == "true") Prettify();
    res_.SetHeader("X-Request-Id", req_.request_id);
    RecordAudit();
    return std::move(res_);
  }

 private:
  // --- authentication -----------------------------------------------------------------------

  // Establishes principal_; false when the request is refused (the 401 is then set).
  bool Authenticate() {
    if (!s_.security_.authenticate) {
      principal_ = TrustedPrincipal();
      return true;
    }
    // The CapabilityStatement is public: clients read it to find out how to authenticate.
    if (req_.method == "GET" && (req_.path == "/metadata" || req_.path == "metadata")) return true;
    std::string_view token = req_.BearerToken();
    if (token.empty()) {
      Unauthenticated("", "This server requires an OAuth 2.0 bearer token (SMART on FHIR); "
                          "see /.well-known/smart-configuration");
      return false;
    }
    auto principal = s_.security_.authenticate(token);
    if (!principal.has_value()) {
      if (principal.error().code() != StatusCode::kUnauthenticated) {
        Fail(principal.error());
      } else {
        Unauthenticated("invalid_token", principal.error().message());
      }
      return false;
    }
    principal_ = std::move(*principal);
    return true;
  }

  // One bucket per client application and user (per address without a valid token). Keeps
  // the 401 or the answer already set; false (and 429) when the bucket is empty.
  bool WithinRateLimit() {
    if (!s_.rate_limiter_.enabled()) return true;
    std::string key = principal_->kind == auth::Principal::Kind::kTrusted ||
                              principal_->client_id.empty()
                          ? "addr:" + req_.peer_address
                          : principal_->client_id + "|" + principal_->subject;
    int retry_after = s_.rate_limiter_.Acquire(key);
    if (retry_after == 0) return true;
    res_.SetHeader("Retry-After", std::to_string(retry_after));
    Fail(Status(StatusCode::kTooManyRequests,
                "Too many requests from this client; retry in " + std::to_string(retry_after) +
                    " s"));
    return false;
  }

  // 401 with the RFC 6750 challenge.
  void Unauthenticated(std::string_view error, const std::string& message) {
    std::string challenge = "Bearer realm=\"fovea\"";
    if (!error.empty()) challenge += ", error=\"" + std::string(error) + "\"";
    res_.SetHeader("WWW-Authenticate", challenge);
    Fail(Status(StatusCode::kUnauthenticated, message));
  }

  // --- routing ------------------------------------------------------------------------------

  void Route() {
    if (Status st = CheckAcceptable(); !st.ok()) return Fail(st);
    std::vector<std::string_view> p = SplitPath(req_.path);
    const std::string& m = req_.method;
    if (p.empty()) {
      if (m == "GET") return Search(req_.query);  // system-level search, _type to narrow it
      if (m == "POST" && !nested_) return BundleInteraction();
      return MethodNotAllowed();
    }
    if (p.size() == 1 && p[0] == "metadata") {
      return m == "GET" ? Metadata() : MethodNotAllowed();
    }
    if (p.size() == 1 && p[0] == "_history") {
      return m == "GET" ? History(std::nullopt, std::nullopt) : MethodNotAllowed();
    }
    const model::TypeDef* type = s_.defs_.FindResource(p[0]);
    if (type == nullptr) {
      return Fail(Status(StatusCode::kNotFound,
                         "Unknown resource type '" + std::string(p[0]) +
                             "': expected an R4 resource type such as Patient"));
    }
    type_ = type->name;
    if (type_ == "AuditEvent" && s_.security_.audit_store != nullptr) return RouteAuditTrail(p);
    if (type_ == "Provenance" && p.size() >= 2 && audit::IsReservedProvenanceId(p[1])) {
      if (m != "GET" && m != "HEAD") {
        id_ = std::string(p[1]);
        return Fail(audit::ReservedProvenanceIdWrite());
      }
      if (DerivedProvenanceOn() && p.size() == 2) return DerivedProvenanceRead(p[1]);
      if (DerivedProvenanceOn() && p.size() == 3 && p[2] == "_history") {
        return DerivedProvenanceHistory(p[1]);
      }
      if (DerivedProvenanceOn() && p.size() == 4 && p[2] == "_history") {
        if (p[3] == "1") return DerivedProvenanceRead(p[1]);
        id_ = std::string(p[1]);
        return Fail(Status(StatusCode::kNotFound, "Provenance/" + id_ + " has one version only"));
      }
    }
    if (p.size() == 1) {
      if (m == "POST") return Create();
      if (m == "GET") return Search(req_.query);
      if (m == "PUT") return ConditionalUpdate();
      if (m == "DELETE") return ConditionalDelete();
      if (m == "PATCH") return ConditionalPatch();
      return MethodNotAllowed();
    }
    if (p.size() == 2 && p[1] == "_history") {
      return m == "GET" ? History(type_, std::nullopt) : MethodNotAllowed();
    }
    if (p.size() == 2 && p[1] == "$validate") {
      return m == "POST" ? Validate(std::nullopt) : MethodNotAllowed();
    }
    if (p.size() == 2 && !p[1].empty() && p[1].front() == '$') return Operation("", p[1]);
    if (p.size() == 2 && p[1] == "_search") {
      if (m != "POST") return MethodNotAllowed();
      // POST [type]/_search: parameters in a form body, plus any in the URL.
      std::string_view ct = req_.Header("Content-Type");
      if (!ContainsCaseInsensitive(ct, "application/x-www-form-urlencoded")) {
        return Fail(Status(StatusCode::kUnsupportedMedia,
                           "POST _search takes application/x-www-form-urlencoded parameters"));
      }
      auto params = req_.query;
      for (auto& kv : ParseQueryString(req_.body)) params.push_back(std::move(kv));
      return Search(params);
    }
    auto id = model::LogicalId::Parse(p[1]);
    if (!id.has_value()) return Fail(id.error());
    id_ = id->value();
    if (p.size() == 2) {
      if (m == "GET" || m == "HEAD") return Read();
      if (m == "PUT") return Update();
      if (m == "DELETE") return Delete();
      if (m == "PATCH") return Patch();
      return MethodNotAllowed();
    }
    if (p.size() == 3 && p[2] == "$validate") {
      return m == "POST" ? Validate(id_) : MethodNotAllowed();
    }
    if (p.size() == 3 && !p[2].empty() && p[2].front() == '$') return Operation(id_, p[2]);
    if (p.size() == 3 && m == "GET" && registry_ != nullptr && registry_->IsCompartment(type_) &&
        s_.defs_.FindResource(p[2]) != nullptr) {
      return CompartmentSearch(std::string(p[2]));
    }
    if (p[2] == "_history" && p.size() == 3) {
      return m == "GET" ? History(type_, id_) : MethodNotAllowed();
    }
    if (p[2] == "_history" && p.size() == 4) {
      return m == "GET" || m == "HEAD" ? VRead(p[3]) : MethodNotAllowed();
    }
    Fail(Status(StatusCode::kNotFound, "No FHIR interaction matches this URL"));
  }

  // The audit trail lives in its own table: read and search only; the server alone writes it.
  void RouteAuditTrail(const std::vector<std::string_view>& p) {
    const std::string& m = req_.method;
    bool get = m == "GET" || m == "HEAD";
    if (p.size() == 1 && get) return AuditSearch(req_.query);
    if (p.size() == 2 && p[1] == "_search" && m == "POST") {
      auto params = req_.query;
      for (auto& kv : ParseQueryString(req_.body)) params.push_back(std::move(kv));
      return AuditSearch(params);
    }
    if (p.size() == 2 && get && p[1] != "_history") return AuditRead(p[1]);
    if (p.size() == 4 && get && p[2] == "_history") {
      if (p[3] == "1") return AuditRead(p[1]);
      id_ = std::string(p[1]);
      return Fail(Status(StatusCode::kNotFound, "AuditEvents have one version only"));
    }
    Fail(Status(StatusCode::kMethodNotAllowed,
                "The audit trail is append-only and written by the server: AuditEvent supports "
                "read and search only"));
  }

  bool DerivedProvenanceOn() const {
    return s_.options_.provenance == audit::ProvenanceStorage::kAuditTrail &&
           s_.security_.audit != nullptr && s_.security_.audit_store != nullptr;
  }

  // Provenance/audit-<seq>-<activity>: rebuilt from the write's AuditEvent row.
  void DerivedProvenanceRead(std::string_view id) {
    interaction_ = audit::Interaction::kRead;
    auto v = DerivedProvenanceWithin(id);
    if (v) RespondStored(std::move(*v));
  }

  // Its history: its one version.
  void DerivedProvenanceHistory(std::string_view id) {
    interaction_ = audit::Interaction::kHistoryInstance;
    auto v = DerivedProvenanceWithin(id);
    if (!v) return;
    store::HistoryPage page;
    page.entries.push_back(std::move(*v));
    std::string self = req_.base_url + "/Provenance/" + id_ + "/_history";
    Respond(200, HistoryBundleJson(page, req_.base_url, self, std::nullopt, s_.clock_.Now()));
  }

  // The derived Provenance `id` if the caller may read it; else answers (404 when it may not:
  // an existence is not revealed) and returns nullopt.
  std::optional<store::ResourceVersion> DerivedProvenanceWithin(std::string_view id) {
    id_ = std::string(id);
    audit_entities_ = {"Provenance/" + id_};
    if (Status st = access_->Require(type_, Permission::kRead); !st.ok()) {
      Fail(st);
      return std::nullopt;
    }
    auto v = audit::ReadDerivedProvenance(*s_.security_.audit_store, id);
    if (!v.has_value()) {
      if (v.error().code() == StatusCode::kNotFound) NotKnown();
      else Fail(v.error());
      return std::nullopt;
    }
    if (!Reachable(*v, Permission::kRead)) {
      NotKnown();
      return std::nullopt;
    }
    return std::move(v).value();
  }

  void AuditRead(std::string_view id) {
    interaction_ = audit::Interaction::kRead;
    id_ = std::string(id);
    audit_entities_ = {"AuditEvent/" + id_};
    if (Status st = access_->Require(type_, Permission::kRead); !st.ok()) return Fail(st);
    auto seq = AuditEventSeq(id);
    if (!seq.has_value()) return NotKnown();
    auto row = s_.security_.audit_store->Read(*seq);
    if (!row.has_value()) {
      if (row.error().code() == StatusCode::kNotFound) return NotKnown();
      return Fail(row.error());
    }
    if (access_->ReachFor(type_, Permission::kRead) == Reach::kPatientCompartment &&
        row->patient != "Patient/" + principal_->patient) {
      return NotKnown();
    }
    res_.SetHeader("ETag", ETagFor(1));
    res_.SetHeader("Last-Modified", common::FormatHttpDate(row->recorded));
    Respond(200, audit::ServedAuditEventJson(*row));
  }

  void AuditSearch(const std::vector<std::pair<std::string, std::string>>& params) {
    interaction_ = audit::Interaction::kSearchType;
    if (Status st = access_->Require(type_, Permission::kSearch); !st.ok()) return Fail(st);
    model::OperationOutcomeSink issues;
    bool strict = ContainsCaseInsensitive(req_.Header("Prefer"), "handling=strict");
    AuditSearchRequest search = ParseAuditSearch(params, strict, 20, s_.options_.max_page_size,
                                                 issues);
    if (issues.HasErrors()) return Respond(400, OperationOutcomeJson(issues.issues()));
    if (access_->ReachFor(type_, Permission::kSearch) == Reach::kPatientCompartment) {
      std::string own = "Patient/" + principal_->patient;
      if (!search.query.patient.empty() && search.query.patient != own) {
        return Fail(Status(StatusCode::kForbidden,
                           "Access denied: this token reaches only its own patient's events"));
      }
      search.query.patient = own;
    }
    if (!search.query.patient.empty()) audit_patients_ = {search.query.patient};
    auto page = s_.security_.audit_store->Search(search.query);
    if (!page.has_value()) return Fail(page.error());
    search::SearchResult result;
    for (const audit::AuditRow& row : page->rows) {
      result.matches.push_back({"AuditEvent", std::to_string(row.seq), 1, row.recorded,
                                audit::ServedAuditEventJson(row)});
    }
    std::string self = req_.base_url + "/AuditEvent";
    std::optional<std::string> next;
    if (page->next_after_seq) {
      next = PageLink(self, search.applied, AuditCursor(*page->next_after_seq));
    }
    std::optional<std::string> cursor;
    if (search.query.after_seq) cursor = AuditCursor(*search.query.after_seq);
    Respond(200, SearchBundleJson(result, req_.base_url, PageLink(self, search.applied, cursor),
                                  next, std::nullopt, issues.issues(), s_.clock_.Now()));
  }

  // A searchset link: `base` with the parameters applied and, when given, a paging cursor.
  static std::string PageLink(const std::string& base,
                              std::vector<std::pair<std::string, std::string>> applied,
                              const std::optional<std::string>& cursor) {
    if (cursor) applied.emplace_back("_cursor", *cursor);
    std::string query = common::BuildQueryString(applied);
    return query.empty() ? base : base + "?" + query;
  }

  // --- content negotiation ------------------------------------------------------------------

  Status CheckAcceptable() {
    auto format = NegotiateFormat(req_.Query("_format"), req_.Header("Accept"));
    if (!format.has_value()) return format.error();
    format_ = *format;
    return Status::Ok();
  }

  Status CheckBody() const {
    if (body_override_) return Status::Ok();  // a patched resource, checked already
    std::string_view ct = req_.Header("Content-Type");
    if (!BodyFormat(ct)) {
      return Status(StatusCode::kUnsupportedMedia,
                    "Unsupported Content-Type '" + std::string(ct) +
                        "': send application/fhir+json or application/fhir+xml");
    }
    if (req_.body.size() > s_.options_.max_body_bytes) {
      return Status(StatusCode::kTooLarge, "The request body exceeds the limit of " +
                                               std::to_string(s_.options_.max_body_bytes) +
                                               " bytes");
    }
    if (req_.body.empty()) return common::InvalidError("The request body is empty: send a resource");
    return Status::Ok();
  }

  // The body as FHIR JSON: as sent, or converted from FHIR XML (problems in the XML go to
  // `issues`). CheckBody must have passed.
  Result<std::string> BodyJson(model::OperationOutcomeSink& issues) const {
    if (body_override_) return *body_override_;
    if (BodyFormat(req_.Header("Content-Type")) != FhirFormat::kXml) return req_.body;
    FOVEA_RETURN_IF_ERROR(CheckXmlSchema(req_.body));
    return XmlToJson(req_.body, s_.defs_, issues, s_.options_.max_json_depth);
  }

  // --strict-xml: XML bodies must be valid against the official R4 schema before anything else.
  Status CheckXmlSchema(std::string_view xml) const {
    if (!s_.options_.strict_xml) return Status::Ok();
    FOVEA_ASSIGN_OR_RETURN(const format::XmlSchema* schema, format::XmlSchema::R4());
    Status st = schema->Validate(xml);
    if (st.ok()) return st;
    return common::InvalidError("The XML is not valid against the FHIR R4 schema (fhir-single.xsd): " +
                                st.message());
  }

  // Answers in XML when that was negotiated: every FHIR JSON body goes through the element tree
  // once more (stored resources, Bundles and OperationOutcomes alike).
  void ConvertResponseFormat() {
    if (format_ != FhirFormat::kXml || res_.body.empty() || res_.content_type != kFhirJson) return;
    auto xml = JsonToXml(res_.body, s_.defs_);
    if (!xml.has_value()) {
      common::LogError("request " + req_.request_id + ": a response could not be written as XML");
      format_ = FhirFormat::kJson;
      return Fail(Status(StatusCode::kInternal, "The answer could not be written as XML (request " +
                                                    req_.request_id + ")"));
    }
    res_.body = std::move(xml).value();
    res_.content_type = ContentTypeOf(FhirFormat::kXml);
  }

  // _pretty=true: indented for people reading it; the same content.
  void Prettify() {
    if (res_.body.empty()) return;
    if (res_.content_type == kFhirJson) {
      res_.body = common::PrettyJson(res_.body);
    } else if (res_.content_type == ContentTypeOf(FhirFormat::kXml)) {
      res_.body = format::PrettyXml(res_.body);
    }
  }

  // Parses and validates the body as a resource of this URL's type. On failure the response
  // is already set and nullopt is returned.
  // On create, the id the client sent is dropped before validation (the server assigns one).
  enum class BodyId { kKeep, kDrop };

  std::optional<Element> ParseBody(model::OperationOutcomeSink& issues, BodyId body_id) {
    if (Status st = CheckBody(); !st.ok()) {
      Fail(st);
      return std::nullopt;
    }
    auto body = BodyJson(issues);
    if (!body.has_value() || issues.HasErrors()) {
      if (!body.has_value()) {
        Fail(body.error());
      } else {
        Respond(400, OperationOutcomeJson(issues.issues()));
      }
      return std::nullopt;
    }
    auto parsed = format::ParseResourceJson(*body, s_.defs_, issues,
                                            {.max_depth = s_.options_.max_json_depth});
    if (!parsed.has_value()) {
      Fail(parsed.error());
      return std::nullopt;
    }
    Element root = std::move(parsed).value();
    if (body_id == BodyId::kDrop) root.RemoveChildren("id");
    model::IssueScope scope(issues, root.type()->name);
    if (root.type()->name != type_) {
      scope.Error(model::IssueType::kInvalid, "The resource is a " + root.type()->name +
                                                  " but the URL is for " + type_);
    }
    validation::ValidateResource(root, scope);
    if (!issues.HasErrors() && type_ == "SearchParameter") CheckSearchable(root, scope);
    if (issues.HasErrors()) {
      Respond(400, OperationOutcomeJson(issues.issues()));
      return std::nullopt;
    }
    return root;
  }

  // An active SearchParameter written here becomes searchable, so it must be one Fovea can
  // search.
  void CheckSearchable(const Element& root, const model::IssueScope& scope) {
    if (registry_ == nullptr || s_.search_.backend == nullptr) return;
    auto json = common::ParseJson(format::WriteResourceJson(root));
    if (!json.has_value()) return;
    // Only active parameters are searched (as in HAPI); drafts and retired ones are just stored.
    const common::JsonValue* status = json->Find("status");
    if (status == nullptr || status->scalar() != "active") return;
    auto parameter = s_.search_.registry->base().FromResource(*json);
    if (!parameter.has_value()) {
      scope.Error(model::IssueType::kNotSupported, parameter.error().message());
    }
  }

  // After a SearchParameter changed: reload the registry and reindex what it concerns.
  void SearchParametersChanged() {
    if (type_ != "SearchParameter" || s_.search_.registry == nullptr ||
        s_.search_.backend == nullptr) {
      return;
    }
    auto types = s_.search_.registry->Reload(*s_.search_.backend);
    if (!types.has_value()) {
      common::LogWarning("request " + req_.request_id +
                         ": search parameters not reloaded; they apply after a restart");
      return;
    }
    if (s_.search_.reindex && !types->empty()) s_.search_.reindex(*types);
  }

  // --- interactions -------------------------------------------------------------------------

  // An operation another module serves ($status, $events, ...).
  void Operation(const std::string& id, std::string_view name) {
    interaction_ = audit::Interaction::kOperation;
    if (!id.empty()) audit_entities_ = {type_ + "/" + id};
    std::optional<RestResponse> answer;
    if (s_.extensions_.operation) {
      answer = s_.extensions_.operation(type_, id, std::string(name.substr(1)), req_, *access_);
    }
    if (!answer) {
      return Fail(Status(StatusCode::kNotFound, "The operation " + std::string(name) +
                                                    " is not supported on " + type_));
    }
    res_ = std::move(*answer);
    audited_ = res_.audited;
    if (res_.status >= 400) {
      auto outcome = common::ParseJson(res_.body);
      const common::JsonValue* issues = outcome.has_value() ? outcome->Find("issue") : nullptr;
      if (issues != nullptr && issues->is_array() && !issues->items().empty()) {
        const common::JsonValue* d = issues->items().front().Find("diagnostics");
        if (d != nullptr) failure_ = d->scalar();
      }
    }
  }

  void Metadata() {
    CapabilityOptions options{s_.options_.software_version, s_.options_.require_if_match,
                              s_.search_.backend != nullptr ? registry_.get() : nullptr,
                              s_.security_.authorize_url, s_.security_.token_url,
                              s_.security_.audit_store != nullptr,
                              s_.options_.max_conditional_deletes,
                              s_.extensions_.subscription_topics,
                              s_.extensions_.operations};
    Respond(200, BuildCapabilityStatement(s_.defs_, options, req_.base_url, s_.started_at_));
  }

  // --- batch and transaction (http.html#transaction) ----------------------------------------

  // POST [base] with a Bundle of type batch or transaction.
  void BundleInteraction() {
    interaction_ = audit::Interaction::kBatch;
    if (Status st = CheckBody(); !st.ok()) return Fail(st);
    model::OperationOutcomeSink issues;
    auto body = BodyJson(issues);
    if (!body.has_value()) return Fail(body.error());
    if (issues.HasErrors()) return Respond(400, OperationOutcomeJson(issues.issues()));
    auto bundle = common::ParseJson(*body, {.max_depth = s_.options_.max_json_depth});
    if (!bundle.has_value()) return Fail(bundle.error());
    const common::JsonValue* rt = bundle->Find("resourceType");
    const common::JsonValue* type = bundle->Find("type");
    if (rt == nullptr || rt->scalar() != "Bundle" || type == nullptr ||
        (type->scalar() != "transaction" && type->scalar() != "batch")) {
      return Fail(common::InvalidError(
          "POST to the FHIR base takes a Bundle of type batch or transaction"));
    }
    if (type->scalar() == "batch") return Batch(*bundle);
    Transaction(*bundle);
  }

  void Transaction(const common::JsonValue& bundle) {
    interaction_ = audit::Interaction::kTransaction;
    // The hooks (match, audit, run, before_write, plan_write, before_delete) are set below.
    TransactionContext context{s_.defs_, s_.store_, s_.clock_, registry_.get(), *access_, req_,
                               s_.options_.max_bundle_entries, s_.options_.max_json_depth,
                               {}, {}, {}, {}, {}, {}};
    if (s_.search_.backend != nullptr && registry_ != nullptr) {
      context.match = [this](const std::string& type, const Params& criteria) {
        return MatchesOf(type, criteria);
      };
    }
    if (s_.security_.audit != nullptr) {
      context.audit = [this](const std::vector<store::PlannedWrite>& writes) {
        return WritesAudit(writes, audit::Interaction::kTransaction, 200);
      };
    }
    context.run = [this](const RestRequest& entry) { return Call(s_, entry, principal_).Run(); };
    context.before_write = s_.extensions_.before_write;
    context.plan_write = s_.extensions_.plan_write;
    context.before_delete = s_.extensions_.before_delete;
    TransactionResult result = ExecuteTransaction(bundle, context);
    failure_ = result.failure;
    audited_ = result.status == 200 && !result.written.empty() && s_.security_.audit != nullptr;
    audit_entities_ = result.written;
    if (std::find(result.written_types.begin(), result.written_types.end(), "SearchParameter") !=
        result.written_types.end()) {
      type_ = "SearchParameter";
      SearchParametersChanged();
    }
    Respond(result.status, std::move(result.body));
  }

  // The AuditEvent of several writes made at once (one, naming every version) and their
  // Provenance, committed with them.
  Result<WriteAudit> WritesAudit(const std::vector<store::PlannedWrite>& writes,
                                 audit::Interaction interaction, int http_status) {
    return AuditWrites(writes, WriteRecord(interaction, http_status), registry_.get(),
                       s_.options_.provenance);
  }

  // The audit record of this request's writes, before AuditWrites adds what they wrote.
  audit::AuditRecord WriteRecord(audit::Interaction interaction, int http_status) const {
    audit::AuditRecord record = AuditRecordFor(req_, *principal_, s_.security_.server_name);
    record.interaction = interaction;
    record.http_status = http_status;
    return record;
  }

  // Each entry on its own, as its own request; one failing changes nothing for the others.
  void Batch(const common::JsonValue& bundle) {
    const common::JsonValue* list = bundle.Find("entry");
    std::size_t n = list != nullptr && list->is_array() ? list->items().size() : 0;
    if (n > s_.options_.max_bundle_entries) {
      return Fail(Status(StatusCode::kTooLarge,
                         "The batch has " + std::to_string(n) + " entries; this server takes at "
                         "most " + std::to_string(s_.options_.max_bundle_entries) +
                             " per Bundle: split it"));
    }
    std::vector<EntryResponse> responses;
    responses.reserve(n);
    for (std::size_t i = 0; i < n; ++i) responses.push_back(BatchEntry(list->items()[i]));
    Respond(200, ResponseBundleJson("batch-response", responses, s_.clock_.Now()));
  }

  EntryResponse BatchEntry(const common::JsonValue& entry) {
    auto failed = [&](const Status& st) {
      EntryResponse r;
      r.status = HttpStatusFor(st.code());
      r.outcome = OperationOutcomeJson(st);
      return r;
    };
    if (!entry.is_object()) return failed(common::InvalidError("The entry is not a JSON object"));
    auto request = ParseEntryRequest(entry, req_.base_url);
    if (!request.has_value()) return failed(request.error());
    std::string body;
    std::string content_type = "application/fhir+json";
    if (const common::JsonValue* resource = entry.Find("resource"); resource != nullptr) {
      if (request->method == EntryMethod::kPatch) {
        auto patch = PatchOfEntry(*resource);
        if (!patch.has_value()) return failed(patch.error());
        if (patch->format == PatchFormat::kJsonPatch) content_type = "application/json-patch+json";
        body = std::move(patch->json);
      } else {
        body = common::ToJson(*resource);
      }
    }
    RestRequest sub = EntryAsRestRequest(*request, req_, std::move(body), content_type);
    return EntryResponseFrom(Call(s_, sub, principal_).Run(), req_.base_url);
  }

  void Create() {
    interaction_ = audit::Interaction::kCreate;
    if (Status st = access_->Require(type_, Permission::kCreate); !st.ok()) return Fail(st);
    model::OperationOutcomeSink issues;
    std::optional<Element> root = ParseBody(issues, BodyId::kDrop);
    if (!root) return;
    if (Status st = CheckWriteReach(Permission::kCreate, *root); !st.ok()) return Fail(st);
    // Conditional create (http.html#ccreate): the check and the write happen under one lock on
    // the criteria, here and on every other node, so concurrent identical requests create one.
    if (std::string_view criteria = req_.Header("If-None-Exist"); !criteria.empty()) {
      auto existing = LockAndMatch(ParseQueryString(criteria));
      if (!existing.has_value()) return Fail(existing.error());
      if (existing->size() > 1) {
        return Fail(Status(StatusCode::kPreconditionFailed,
                           "If-None-Exist matches more than one " + type_ +
                               "; make the criteria more selective"));
      }
      if (existing->size() == 1) {
        // Already there: 200 with the existing resource, nothing written.
        const search::SearchMatch& m = existing->front();
        id_ = m.id;
        std::string location = req_.base_url + "/" + type_ + "/" + id_ + "/_history/" +
                               std::to_string(m.version);
        res_.SetHeader("Location", location);
        res_.SetHeader("ETag", ETagFor(m.version));
        res_.SetHeader("Last-Modified", common::FormatHttpDate(m.last_updated));
        return Respond(200, m.content);
      }
    }
    // The server assigns the id of a created resource (http.html#create): any id sent is ignored.
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      id_ = model::LogicalId::Generate().value();
      Status st = WriteVersion(*root, 1, 0, store::Method::kCreate, 201);
      if (st.code() == StatusCode::kVersionConflict) continue;
      if (!st.ok()) return Fail(st);
      return RespondWritten(201, 1);
    }
    Fail(Status(StatusCode::kVersionConflict, "Could not allocate a resource id; retry"));
  }

  // PATCH [type]/[id] with a JSON Patch (RFC 6902) or a FHIRPath Patch (a Parameters resource):
  // applied to the current version, then validated and written exactly like an update. The
  // version patched is pinned: if someone changes the resource meanwhile the answer is 412,
  // never a lost update.
  void Patch() {
    interaction_ = audit::Interaction::kPatch;
    if (Status st = access_->Require(type_, Permission::kUpdate); !st.ok()) return Fail(st);
    if (req_.body.size() > s_.options_.max_body_bytes) {
      return Fail(Status(StatusCode::kTooLarge, "The patch exceeds the body size limit"));
    }
    if (BodyFormat(req_.Header("Content-Type")) == FhirFormat::kXml) {
      if (Status st = CheckXmlSchema(req_.body); !st.ok()) return Fail(st);
    }
    auto patch = PatchOfRequest(req_.Header("Content-Type"), req_.body, s_.defs_,
                                s_.options_.max_json_depth);
    if (!patch.has_value()) return Fail(patch.error());
    auto current = s_.store_.Read(type_, id_);
    if (!current.has_value()) {
      if (current.error().code() == StatusCode::kNotFound) return NotKnown();
      return Fail(current.error());
    }
    if (!Reachable(*current, Permission::kUpdate)) return NotKnown();
    if (current->deleted) {
      return Fail(Status(StatusCode::kGone, type_ + "/" + id_ + " was deleted"));
    }
    auto patched = ApplyPatch(*patch, current->content, type_, id_, s_.defs_,
                              s_.options_.max_json_depth);
    if (!patched.has_value()) return Fail(patched.error());
    body_override_ = std::move(patched).value();
    pinned_version_ = current->version;
    Update(audit::Interaction::kPatch);
  }

  // PATCH [type]?criteria: exactly one match is patched; none is 404, more is 412.
  void ConditionalPatch() {
    interaction_ = audit::Interaction::kPatch;
    if (Status st = access_->Require(type_, Permission::kUpdate); !st.ok()) return Fail(st);
    auto matches = LockAndMatch(req_.query);
    if (!matches.has_value()) return Fail(matches.error());
    if (matches->empty()) {
      return Fail(Status(StatusCode::kNotFound, "The criteria match no " + type_ + " to patch"));
    }
    if (matches->size() > 1) {
      return Fail(Status(StatusCode::kPreconditionFailed,
                         "The criteria match more than one " + type_ +
                             "; make them more selective"));
    }
    id_ = matches->front().id;
    Patch();
  }

  void Update(audit::Interaction interaction = audit::Interaction::kUpdate) {
    interaction_ = interaction;
    if (Status st = access_->Require(type_, Permission::kUpdate); !st.ok()) return Fail(st);
    model::OperationOutcomeSink issues;
    std::optional<Element> root = ParseBody(issues, BodyId::kKeep);
    if (!root) return;
    if (Status st = CheckWriteReach(Permission::kUpdate, *root); !st.ok()) return Fail(st);
    const Element* body_id = root->Child("id");
    if (body_id == nullptr || !body_id->has_value()) {
      return Fail(common::InvalidError("The resource in a PUT must have an id equal to the id in "
                                       "the URL (" + id_ + ")"));
    }
    if (body_id->value() != id_) {
      return Fail(common::InvalidError("The resource id '" + body_id->value() +
                                       "' does not match the id in the URL '" + id_ + "'"));
    }
    auto if_match = IfMatchVersion();
    if (!if_match.has_value()) return Fail(if_match.error());
    // A patch was computed from one version: without If-Match, that version is the condition.
    if (*if_match == 0 && pinned_version_ != 0) *if_match = pinned_version_;
    auto turn = s_.resource_writers_.Lock(type_ + "/" + id_);
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      auto head = s_.store_.Head(type_, id_);
      if (!head.has_value() && head.error().code() != StatusCode::kNotFound) {
        return Fail(head.error());
      }
      int current = head.has_value() ? head->version : 0;
      bool exists = head.has_value() && !head->deleted;
      // Reach before preconditions: a 412 would reveal the version of a resource out of reach.
      if (Status st = CheckExistingReach(exists, Permission::kUpdate); !st.ok()) return Fail(st);
      if (Status st = CheckPreconditions(*if_match, current, exists); !st.ok()) return Fail(st);
      int next = current + 1;
      Status st = WriteVersion(*root, next, current, store::Method::kUpdate, exists ? 200 : 201);
      if (st.code() == StatusCode::kVersionConflict) {
        if (*if_match != 0 && !effect_conflict_) {
          return Fail(Status(StatusCode::kPreconditionFailed,
                             "The resource was changed by someone else (If-Match " +
                                 ETagFor(*if_match) + " no longer current)"));
        }
        continue;  // someone else wrote first: read the new version and try again
      }
      if (!st.ok()) return Fail(st);
      return RespondWritten(exists ? 200 : 201, next);
    }
    Fail(Status(StatusCode::kVersionConflict,
                "The resource is being changed by others too often; retry"));
  }

  void Delete() {
    interaction_ = audit::Interaction::kDelete;
    audit_entities_ = {type_ + "/" + id_};
    if (Status st = access_->Require(type_, Permission::kDelete); !st.ok()) return Fail(st);
    auto if_match = IfMatchVersion();
    if (!if_match.has_value()) return Fail(if_match.error());
    auto turn = s_.resource_writers_.Lock(type_ + "/" + id_);
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      auto head = s_.store_.Head(type_, id_);
      if (!head.has_value()) {
        if (head.error().code() != StatusCode::kNotFound) return Fail(head.error());
        // R4 (http.html#delete): deleting what does not exist at all succeeds too, and says
        // nothing about whether it ever did; only a version asked for cannot match.
        if (*if_match != 0) return Fail(Status(StatusCode::kPreconditionFailed, type_ + "/" + id_ + " has no version " + std::to_string(*if_match)));
        res_.status = 204;
        return;
      }
      if (head->deleted) {
        res_.status = 204;  // deleting a deleted resource changes nothing
        res_.SetHeader("ETag", ETagFor(head->version));
        return;
      }
      if (Status st = CheckExistingReach(true, Permission::kDelete); !st.ok()) return Fail(st);
      if (Status st = CheckPreconditions(*if_match, head->version, true); !st.ok()) return Fail(st);
      if (s_.extensions_.before_delete) {
        if (Status st = s_.extensions_.before_delete(type_, id_, *access_); !st.ok()) return Fail(st);
      }
      store::ResourceVersion v;
      v.type = type_;
      v.id = id_;
      v.version = head->version + 1;
      v.last_updated = s_.clock_.Now();
      v.deleted = true;
      v.method = store::Method::kDelete;
      Status st = StoreVersion(v, head->version, 204);
      if (st.code() == StatusCode::kVersionConflict) {
        if (*if_match != 0 && !effect_conflict_) {
          return Fail(Status(StatusCode::kPreconditionFailed,
                             "The resource was changed by someone else"));
        }
        continue;
      }
      if (!st.ok()) return Fail(st);
      SearchParametersChanged();
      res_.status = 204;
      res_.SetHeader("ETag", ETagFor(v.version));
      return;
    }
    Fail(Status(StatusCode::kVersionConflict, "The resource is being changed too often; retry"));
  }

  void Read() {
    interaction_ = audit::Interaction::kRead;
    audit_entities_ = {type_ + "/" + id_};
    if (Status st = access_->Require(type_, Permission::kRead); !st.ok()) return Fail(st);
    auto current = s_.store_.Read(type_, id_);
    if (!current.has_value()) {
      if (current.error().code() == StatusCode::kNotFound) return NotKnown();
      return Fail(current.error());
    }
    if (!Reachable(*current, Permission::kRead)) return NotKnown();
    if (s_.security_.audit != nullptr) audit_patients_ = PatientsOf(type_, id_, current->content);
    RespondStored(std::move(current).value());
  }

  void VRead(std::string_view version_text) {
    interaction_ = audit::Interaction::kVread;
    audit_entities_ = {type_ + "/" + id_ + "/_history/" + std::string(version_text)};
    if (Status st = access_->Require(type_, Permission::kRead); !st.ok()) return Fail(st);
    auto version = model::VersionId::Parse(version_text);
    if (!version.has_value()) return Fail(version.error());
    auto stored = s_.store_.ReadVersion(type_, id_, version->value());
    if (!stored.has_value()) {
      if (stored.error().code() == StatusCode::kNotFound) {
        return Fail(Status(StatusCode::kNotFound, type_ + "/" + id_ + " has no version " +
                                                      std::string(version_text)));
      }
      return Fail(stored.error());
    }
    if (!Reachable(*stored, Permission::kRead)) return NotKnown();
    if (s_.security_.audit != nullptr) audit_patients_ = PatientsOf(type_, id_, stored->content);
    RespondStored(std::move(stored).value());
  }

  void History(std::optional<std::string> type, std::optional<std::string> id) {
    interaction_ = id     ? audit::Interaction::kHistoryInstance
                   : type ? audit::Interaction::kHistoryType
                          : audit::Interaction::kHistorySystem;
    if (id) audit_entities_ = {*type + "/" + *id};
    if (type) {
      if (Status st = access_->Require(*type, Permission::kRead); !st.ok()) return Fail(st);
    }
    store::HistoryQuery q;
    q.type = type;
    q.id = id;
    q.count = s_.options_.default_page_size;
    if (req_.HasQuery("_count")) {
      std::string_view c = req_.Query("_count");
      int n = 0;
      auto [ptr, ec] = std::from_chars(c.data(), c.data() + c.size(), n);
      if (ec != std::errc() || ptr != c.data() + c.size() || n < 0) {
        return Fail(common::InvalidError("_count must be a non-negative whole number"));
      }
      q.count = std::min(n, s_.options_.max_page_size);
    }
    if (req_.HasQuery("_since")) {
      common::TimePoint since;
      if (!common::ParseInstant(req_.Query("_since"), since)) {
        return Fail(common::InvalidError("_since must be an instant such as "
                                         "2026-11-28T05:00:00Z"));
      }
      q.since = since;
    }
    if (req_.HasQuery("_before_seq")) {
      std::string_view c = req_.Query("_before_seq");
      std::int64_t seq = 0;
      auto [ptr, ec] = std::from_chars(c.data(), c.data() + c.size(), seq);
      if (ec != std::errc() || ptr != c.data() + c.size()) {
        return Fail(common::InvalidError("Malformed paging cursor"));
      }
      q.before_seq = seq;
    }
    if (id) {
      auto head = s_.store_.Head(*type, *id);
      if (!head.has_value()) {
        if (head.error().code() == StatusCode::kNotFound) return NotKnown();
        return Fail(head.error());
      }
      if (Status st = CheckExistingReach(!head->deleted, Permission::kRead); !st.ok()) {
        return NotKnown();
      }
    }
    // Provenance read from the audit trail joins the type and system histories it belongs to.
    std::optional<audit::AuditHistoryCursor> before_audit;
    const bool merged = !id && DerivedProvenanceOn() && audit::HistoryHasDerivedProvenance(type);
    if (merged && req_.HasQuery("_before_audit")) {
      before_audit = audit::AuditHistoryCursor::Parse(req_.Query("_before_audit"));
      if (!before_audit) return Fail(common::InvalidError("Malformed paging cursor"));
    }
    std::optional<audit::MergedHistoryPage::Next> merged_next;
    auto page = [&]() -> Result<store::HistoryPage> {
      if (!merged) return s_.store_.History(q);
      FOVEA_ASSIGN_OR_RETURN(audit::MergedHistoryPage m,
                             audit::MergedHistory(s_.store_, *s_.security_.audit_store, q, before_audit));
      merged_next = m.next;
      return std::move(m.page);
    }();
    if (!page.has_value()) return Fail(page.error());
    // Entries the principal may not read are left out (a deleted entry has no content to
    // place in a compartment, so only full access shows it).
    std::erase_if(page->entries, [&](const store::ResourceVersion& v) {
      return !Reachable(v, Permission::kRead);
    });
    std::string path = req_.base_url + "/" + (type ? *type + "/" : "") +
                       (id ? *id + "/" : "") + "_history";
    std::string params = "_count=" + std::to_string(q.count);
    if (q.since) params += "&_since=" + UrlEncode(common::FormatInstant(*q.since));
    std::string self = path + "?" + params +
                       (q.before_seq ? "&_before_seq=" + std::to_string(*q.before_seq) : "") +
                       (before_audit ? "&_before_audit=" + before_audit->ToString() : "");
    std::optional<std::string> next;
    if (page->next_before_seq) {
      next = path + "?" + params + "&_before_seq=" + std::to_string(*page->next_before_seq);
    }
    if (merged_next) {
      next = path + "?" + params + "&_before_seq=" + std::to_string(merged_next->before_seq) +
             "&_before_audit=" + merged_next->audit.ToString();
    }
    Respond(200, HistoryBundleJson(*page, req_.base_url, self, next, s_.clock_.Now()));
  }

  // GET Patient/123/Observation?...: the search, restricted to the compartment of Patient/123.
  void CompartmentSearch(std::string member_type) {
    const auto& params = registry_->CompartmentParams(type_, member_type);
    if (params.empty() && member_type != type_) {
      return Fail(common::InvalidError(member_type + " resources are not in the " + type_ +
                                       " compartment"));
    }
    compartment_ = {type_, id_, params};
    type_ = std::move(member_type);
    Search(req_.query);
  }

  void Search(const std::vector<std::pair<std::string, std::string>>& params) {
    interaction_ = type_.empty() ? audit::Interaction::kSearchSystem
                                 : audit::Interaction::kSearchType;
    if (compartment_.type == "Patient") audit_patients_ = {"Patient/" + compartment_.id};
    if (s_.search_.backend == nullptr || registry_ == nullptr) {
      return Fail(Status(StatusCode::kNotSupported, "Search is not enabled on this server"));
    }
    search::SearchOptions options;
    options.strict = ContainsCaseInsensitive(req_.Header("Prefer"), "handling=strict");
    options.default_count = 20;
    options.max_count = s_.options_.max_page_size;
    model::OperationOutcomeSink issues;
    search::SearchQuery query =
        search::ParseSearch(type_, params, *registry_, options, issues);
    if (issues.HasErrors()) return Respond(400, OperationOutcomeJson(issues.issues()));
    query.base_url = req_.base_url;
    std::string self = req_.base_url + (type_.empty() ? "" : "/" + type_);
    if (!compartment_.type.empty()) {
      query.compartment_type = compartment_.type;
      query.compartment_id = compartment_.id;
      query.compartment_params = compartment_.params;
      self = req_.base_url + "/" + compartment_.type + "/" + compartment_.id + "/" + type_;
    }
    auto subset = RequestedSubset(params);
    if (!subset.has_value()) return Fail(subset.error());
    if (Status st = access_->NarrowSearch(query); !st.ok()) return Fail(st);
    if (query.compartment_type == "Patient") audit_patients_ = {"Patient/" + query.compartment_id};
    auto result = s_.search_.backend->Search(query);
    if (!result.has_value()) return Fail(result.error());
    // _include/_revinclude may pull in anything the references lead to: keep what is readable.
    std::erase_if(result->included, [&](const search::SearchMatch& m) {
      return !access_->MayAccess(m.type, Permission::kRead, m.content);
    });
    if (subset->active()) {
      for (auto* list : {&result->matches, &result->included}) {
        for (auto& m : *list) {
          auto reduced = ApplySubset(m.content, *subset, s_.defs_);
          if (!reduced.has_value()) return Fail(reduced.error());
          m.content = std::move(reduced).value();
        }
      }
    }
    auto page_link = [&](const std::optional<std::string>& cursor) -> std::optional<std::string> {
      if (!cursor) return std::nullopt;
      return PageLink(self, query.applied, cursor);
    };
    std::optional<std::string> next = page_link(result->next_cursor);
    std::optional<std::string> previous = page_link(result->previous_cursor);
    Respond(200, SearchBundleJson(*result, req_.base_url, PageLink(self, query.applied, query.cursor),
                                  next, previous, issues.issues(), s_.clock_.Now()));
  }

  void Validate(std::optional<std::string> id) {
    interaction_ = audit::Interaction::kOperation;
    model::OperationOutcomeSink issues;
    if (Status st = CheckBody(); !st.ok()) return Fail(st);
    // XML problems are part of the validation outcome.
    auto body = BodyJson(issues);
    if (!body.has_value()) return Fail(body.error());
    // The body is the resource itself, or a Parameters with a `resource` parameter.
    auto json = common::ParseJson(*body, {.max_depth = s_.options_.max_json_depth});
    if (!json.has_value()) return Fail(json.error());
    const common::JsonValue* resource = &json.value();
    const common::JsonValue* rt = json->Find("resourceType");
    if (rt != nullptr && rt->scalar() == "Parameters" && type_ != "Parameters") {
      resource = nullptr;
      if (const common::JsonValue* params = json->Find("parameter")) {
        for (const auto& p : params->items()) {
          const common::JsonValue* name = p.Find("name");
          if (name != nullptr && name->scalar() == "resource") resource = p.Find("resource");
        }
      }
      if (resource == nullptr) {
        return Fail(common::InvalidError("$validate with Parameters needs a 'resource' parameter"));
      }
    }
    auto parsed = format::ResourceFromJson(*resource, s_.defs_, issues);
    if (!parsed.has_value()) return Fail(parsed.error());
    model::IssueScope scope(issues, parsed->type()->name);
    if (parsed->type()->name != type_) {
      scope.Error(model::IssueType::kInvalid, "The resource is a " + parsed->type()->name +
                                                  " but the URL is for " + type_);
    }
    if (id) {
      const Element* body_id = parsed->Child("id");
      if (body_id != nullptr && body_id->has_value() && body_id->value() != *id) {
        scope.Child("id").Error(model::IssueType::kInvalid,
                                "The resource id does not match the id in the URL");
      }
    }
    validation::ValidateResource(*parsed, scope);
    if (issues.issues().empty()) {
      return Respond(200, InformationOutcomeJson("Validation successful: no issues found"));
    }
    Respond(200, OperationOutcomeJson(issues.issues()));
  }

  // --- helpers ------------------------------------------------------------------------------

  // _summary / _elements among the request's parameters.
  static Result<Subset> RequestedSubset(
      const std::vector<std::pair<std::string, std::string>>& params) {
    std::string summary, elements;
    for (const auto& [k, v] : params) {
      if (k == "_summary") summary = v;
      if (k == "_elements") elements = v;
    }
    return ParseSubset(summary, elements);
  }

  // The version named by If-Match (0 when absent); 400 when malformed.
  Result<int> IfMatchVersion() const {
    std::string_view h = req_.Header("If-Match");
    if (h.empty()) return 0;
    int v = model::ParseETagVersion(h);
    if (v == 0) {
      return common::InvalidError("If-Match must be an ETag such as W/\"3\"");
    }
    return v;
  }

  Status CheckPreconditions(int if_match, int current, bool exists) const {
    if (if_match != 0) {
      if (!exists) {
        return Status(StatusCode::kPreconditionFailed,
                      "If-Match was given but " + type_ + "/" + id_ + " does not exist");
      }
      if (if_match != current) {
        return Status(StatusCode::kPreconditionFailed,
                      "Version conflict: If-Match " + ETagFor(if_match) +
                          " but the current version is " + ETagFor(current) +
                          "; read the resource again and reapply your change");
      }
    } else if (exists && s_.options_.require_if_match) {
      return Status(StatusCode::kPreconditionRequired,
                    "This server requires If-Match for updates and deletes: read the resource, "
                    "then send its ETag in If-Match");
    }
    return Status::Ok();
  }

  // Writes `v` with its audit trail (AuditEvent and Provenance in the same transaction) when
  // auditing is on; `http_status` is the answer the write will get.
  // `effects`: the writes plan_write added, in the same transaction. A conflict on one of them
  // (not on `v`) sets effect_conflict_: the request re-plans even when If-Match pinned `v`.
  Status StoreVersion(const store::ResourceVersion& v, int expected, int http_status,
                      const std::vector<store::PlannedWrite>& effects = {}) {
    effect_conflict_ = false;
    std::vector<store::PlannedWrite> writes;
    if (!effects.empty()) {
      writes.push_back({v, expected});
      writes.insert(writes.end(), effects.begin(), effects.end());
    }
    auto write_all = [&](const std::vector<store::ResourceVersion>& companions, const std::string& audit_rows) {
      std::size_t conflict = writes.size();
      Status st = s_.store_.WriteAll(writes, companions, audit_rows, &conflict);
      effect_conflict_ = st.code() == StatusCode::kVersionConflict && conflict != 0;
      return st;
    };
    if (s_.security_.audit == nullptr) return effects.empty() ? s_.store_.Write(v, expected) : write_all({}, "");
    std::vector<const store::ResourceVersion*> versions{&v};
    for (const store::PlannedWrite& w : effects) versions.push_back(&w.version);
    FOVEA_ASSIGN_OR_RETURN(
        WriteAudit audit,
        AuditWrites(versions, WriteRecord(interaction_.value_or(audit::Interaction::kUpdate), http_status),
                    registry_.get(), s_.options_.provenance));
    Status st = effects.empty() ? s_.store_.WriteWith(v, expected, audit.companions, audit.audit_rows_json)
                                : write_all(audit.companions, audit.audit_rows_json);
    audited_ = st.ok();
    return st;
  }

  Status WriteVersion(Element& root, int version, int expected, store::Method method,
                      int http_status) {
    if (s_.extensions_.before_write) FOVEA_RETURN_IF_ERROR(s_.extensions_.before_write(root));
    std::vector<store::PlannedWrite> effects;
    if (s_.extensions_.plan_write) {
      FOVEA_ASSIGN_OR_RETURN(effects, s_.extensions_.plan_write(root, id_, expected, *access_));
    }
    common::TimePoint now = s_.clock_.Now();
    store::ResourceVersion v = VersionOf(root, type_, id_, version, method, now, registry_.get());
    Status st = StoreVersion(v, expected, http_status, effects);
    if (st.ok()) {
      written_content_ = std::move(v.content);
      written_at_ = now;
      SearchParametersChanged();
    }
    return st;
  }

  void RespondWritten(int status, int version) {
    std::string location = req_.base_url + "/" + type_ + "/" + id_ + "/_history/" +
                           std::to_string(version);
    res_.SetHeader("Location", location);
    res_.SetHeader("Content-Location", location);
    res_.SetHeader("ETag", ETagFor(version));
    res_.SetHeader("Last-Modified", common::FormatHttpDate(written_at_));
    switch (ParsePrefer(req_.Header("Prefer"))) {
      case PreferReturn::kMinimal:
        res_.status = status;
        return;
      case PreferReturn::kOperationOutcome:
        return Respond(status, InformationOutcomeJson(
                                   std::string(status == 201 ? "Created " : "Updated ") + type_ +
                                   "/" + id_ + " version " + std::to_string(version)));
      case PreferReturn::kRepresentation:
        return Respond(status, std::move(written_content_));
    }
  }

  void RespondStored(store::ResourceVersion v) {
    res_.SetHeader("ETag", ETagFor(v.version));
    res_.SetHeader("Last-Modified", common::FormatHttpDate(v.last_updated));
    if (v.deleted) {
      return Fail(Status(StatusCode::kGone, type_ + "/" + id_ + " was deleted (version " +
                                                std::to_string(v.version) + ")"));
    }
    if (NotModified(v)) {
      res_.status = 304;
      return;
    }
    auto subset = RequestedSubset(req_.query);
    if (!subset.has_value()) return Fail(subset.error());
    if (subset->active()) {
      auto reduced = ApplySubset(v.content, *subset, s_.defs_);
      if (!reduced.has_value()) return Fail(reduced.error());
      return Respond(200, std::move(reduced).value());
    }
    Respond(200, std::move(v.content));
  }

  bool NotModified(const store::ResourceVersion& v) const {
    std::string_view inm = req_.Header("If-None-Match");
    if (!inm.empty()) {
      if (inm == "*") return true;
      // A list of ETags: any match means the client's copy is current.
      std::string_view rest = inm;
      while (!rest.empty()) {
        std::size_t comma = rest.find(',');
        if (model::ParseETagVersion(rest.substr(0, comma)) == v.version) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return false;  // If-None-Match takes precedence over If-Modified-Since (RFC 7232)
    }
    std::string_view ims = req_.Header("If-Modified-Since");
    common::TimePoint since;
    if (!ims.empty() && common::ParseHttpDate(ims, since)) {
      auto modified_seconds = std::chrono::floor<std::chrono::seconds>(v.last_updated);
      return modified_seconds <= since;
    }
    return false;
  }

  // --- conditional operations ---------------------------------------------------------------

  // Takes this call's turn on `criteria` (kept until the call ends, so the write that follows
  // is decided and made under it), then returns up to two matches. Every conditional write
  // goes through here: concurrent identical requests decide one after the other, on every node.
  Result<std::vector<search::SearchMatch>> LockAndMatch(Params criteria, std::size_t most = 2) {
    criteria = WithoutFormatParameters(std::move(criteria));
    std::string question = CanonicalCriteria(type_, criteria);
    criteria_local_turn_ = s_.criteria_turns_.Lock(question);
    FOVEA_ASSIGN_OR_RETURN(criteria_turn_, s_.store_.LockCriteria({CriteriaLockKey(question)}));
    return MatchesOf(type_, criteria, most);
  }

  // PUT [type]?criteria (http.html#cond-update): no match creates (with the body's id, if it has
  // one), one match is updated (the body's id, if any, must be the match's), more is 412.
  void ConditionalUpdate() {
    interaction_ = audit::Interaction::kUpdate;
    if (Status st = access_->Require(type_, Permission::kUpdate); !st.ok()) return Fail(st);
    if (Status st = CheckBody(); !st.ok()) return Fail(st);
    model::OperationOutcomeSink issues;
    auto body = BodyJson(issues);
    if (!body.has_value()) return Fail(body.error());
    if (issues.HasErrors()) return Respond(400, OperationOutcomeJson(issues.issues()));
    auto json = common::ParseJson(*body, {.max_depth = s_.options_.max_json_depth});
    if (!json.has_value()) return Fail(json.error());
    const common::JsonValue* body_id = json->Find("id");
    auto matches = LockAndMatch(req_.query);
    if (!matches.has_value()) return Fail(matches.error());
    if (matches->size() > 1) {
      return Fail(Status(StatusCode::kPreconditionFailed,
                         "The criteria match more than one " + type_ +
                             "; make them more selective"));
    }
    if (matches->empty() && body_id == nullptr) return Create();
    if (matches->size() == 1 && body_id != nullptr && body_id->scalar() != matches->front().id) {
      return Fail(common::InvalidError("The resource id '" + body_id->scalar() +
                                       "' is not the id of the resource the criteria match"));
    }
    id_ = matches->empty() ? body_id->scalar() : matches->front().id;
    auto id = model::LogicalId::Parse(id_);
    if (!id.has_value()) return Fail(id.error());
    json->Set("id", common::JsonValue::String(id_));
    body_override_ = common::ToJson(*json);
    Update();
  }

  // DELETE [type]?criteria: one match is deleted; none is 204 (nothing to do); more is 412.
  void ConditionalDelete() {
    interaction_ = audit::Interaction::kDelete;
    if (Status st = access_->Require(type_, Permission::kDelete); !st.ok()) return Fail(st);
    const std::size_t most = std::max<std::size_t>(1, s_.options_.max_conditional_deletes);
    auto matches = LockAndMatch(req_.query, most + 1);
    if (!matches.has_value()) return Fail(matches.error());
    if (matches->size() > most) {
      return Fail(Status(StatusCode::kPreconditionFailed,
                         most == 1 ? "The criteria match more than one " + type_ +
                                         "; this server deletes one resource per conditional "
                                         "delete (see --conditional-delete-max)"
                                   : "The criteria match more than " + std::to_string(most) +
                                         " " + type_ + " resources, the most this server "
                                         "deletes at once"));
    }
    if (matches->empty()) {
      res_.status = 204;
      return;
    }
    if (matches->size() == 1) {
      id_ = matches->front().id;
      return Delete();
    }
    DeleteAll(*matches);
  }

  // Deletes every match in one transaction (still under the criteria lock), with one
  // AuditEvent and Provenance for all.
  void DeleteAll(const std::vector<search::SearchMatch>& matches) {
    for (const search::SearchMatch& m : matches) audit_entities_.push_back(type_ + "/" + m.id);
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      std::vector<store::PlannedWrite> writes;
      common::TimePoint now = s_.clock_.Now();
      for (const search::SearchMatch& m : matches) {
        auto head = s_.store_.Head(type_, m.id);
        if (!head.has_value()) return Fail(head.error());
        if (head->deleted) continue;
        if (s_.extensions_.before_delete) {
          if (Status st = s_.extensions_.before_delete(type_, m.id, *access_); !st.ok()) return Fail(st);
        }
        store::PlannedWrite w;
        w.expected_version = head->version;
        w.version.type = type_;
        w.version.id = m.id;
        w.version.version = head->version + 1;
        w.version.last_updated = now;
        w.version.deleted = true;
        w.version.method = store::Method::kDelete;
        writes.push_back(std::move(w));
      }
      WriteAudit audit;
      if (s_.security_.audit != nullptr && !writes.empty()) {
        auto made = WritesAudit(writes, audit::Interaction::kDelete, 204);
        if (!made.has_value()) return Fail(made.error());
        audit = std::move(made).value();
      }
      Status st = s_.store_.WriteAll(writes, audit.companions, audit.audit_rows_json);
      if (st.code() == StatusCode::kVersionConflict) continue;
      if (!st.ok()) return Fail(st);
      audited_ = !writes.empty() && s_.security_.audit != nullptr;
      SearchParametersChanged();
      res_.status = 204;
      return;
    }
    Fail(Status(StatusCode::kVersionConflict, "The resources are being changed too often; retry"));
  }

  // Up to two resources of this type matching `criteria`, within what the principal may
  // search. Strict: unknown or malformed criteria are an error, never ignored (ignoring them
  // would match everything).
  Result<std::vector<search::SearchMatch>> MatchesOf(const std::string& type,
                                                     const Params& criteria,
                                                     std::size_t most = 2) {
    if (s_.search_.backend == nullptr || registry_ == nullptr) {
      return Status(StatusCode::kNotSupported, "Conditional operations need search");
    }
    FOVEA_RETURN_IF_ERROR(access_->Require(type, Permission::kSearch));
    search::SearchOptions options;
    options.strict = true;
    options.max_count = s_.options_.max_page_size;
    model::OperationOutcomeSink issues;
    search::SearchQuery query =
        search::ParseSearch(type, criteria, *registry_, options, issues);
    if (issues.HasErrors()) {
      return common::InvalidError("Invalid conditional criteria: " +
                                  issues.issues().front().diagnostics);
    }
    if (query.clauses.empty()) {
      return common::InvalidError("Conditional criteria must name at least one search parameter");
    }
    query.base_url = req_.base_url;
    query.count = static_cast<int>(most);
    query.includes.clear();
    FOVEA_RETURN_IF_ERROR(access_->NarrowSearch(query));
    FOVEA_ASSIGN_OR_RETURN(search::SearchResult result, s_.search_.backend->Search(query));
    return std::move(result.matches);
  }

  // --- access ------------------------------------------------------------------------------

  // Out of reach and never existed look the same: nothing is revealed about other patients.
  void NotKnown() { Fail(Status(StatusCode::kNotFound, type_ + "/" + id_ + " is not known")); }

  bool Reachable(const store::ResourceVersion& v, Permission permission) const {
    Reach reach = access_->ReachFor(v.type, permission);
    if (reach == Reach::kAll) return true;
    if (reach == Reach::kNone || v.deleted) return false;
    return access_->MayAccess(v.type, permission, v.content);
  }

  // Where the principal's access to this type ends, for a 403's message.
  std::string ReachWords(Permission permission) const {
    return access_->ReachFor(type_, permission) == Reach::kPatientCompartment
               ? "of its own patient"
               : "that its granular scopes reach (their search criteria, and the patient's "
                 "compartment for patient/ scopes)";
  }

  // A resource being written must land within the principal's reach.
  Status CheckWriteReach(Permission permission, const Element& root) const {
    if (access_->ReachFor(type_, permission) == Reach::kAll) return Status::Ok();
    if (access_->MayAccess(type_, permission, format::WriteResourceJson(root))) {
      return Status::Ok();
    }
    return Status(StatusCode::kForbidden, "Access denied: this token may only write " + type_ +
                                              " resources " + ReachWords(permission));
  }

  // Before changing a resource: the current version must be within reach, and an update that
  // creates needs create permission too.
  Status CheckExistingReach(bool exists, Permission permission) const {
    if (!exists) {
      return permission == Permission::kUpdate ? access_->Require(type_, Permission::kCreate)
                                               : Status::Ok();
    }
    if (access_->ReachFor(type_, permission) == Reach::kAll) return Status::Ok();
    auto current = s_.store_.Read(type_, id_);
    if (current.has_value() && Reachable(*current, permission)) return Status::Ok();
    return Status(StatusCode::kForbidden, "Access denied: this token may only change " + type_ +
                                              " resources " + ReachWords(permission));
  }

  void MethodNotAllowed() {
    Fail(Status(StatusCode::kMethodNotAllowed,
                "HTTP " + req_.method + " is not allowed on this URL"));
  }

  void Respond(int status, std::string body) {
    res_.status = status;
    res_.content_type = kFhirJson;
    res_.body = std::move(body);
  }

  void Fail(const Status& status) {
    failure_ = status.message();
    Respond(HttpStatusFor(status.code()), OperationOutcomeJson(status));
  }

  // Every interaction leaves an AuditEvent; writes have stored theirs with the data already.
  void RecordAudit() {
    if (s_.security_.audit == nullptr || !interaction_ || audited_) return;
    audit::AuditRecord r = AuditRecordFor(req_, *principal_, s_.security_.server_name);
    r.interaction = *interaction_;
    r.http_status = res_.status;
    if (res_.status >= 400) r.failure = failure_.empty() ? "The request was invalid" : failure_;
    r.entities = std::move(audit_entities_);
    r.patients = std::move(audit_patients_);
    switch (*interaction_) {
      case audit::Interaction::kSearchType:
      case audit::Interaction::kSearchSystem:
      case audit::Interaction::kHistoryType:
      case audit::Interaction::kHistorySystem:
      case audit::Interaction::kOperation:
        r.query = AuditQuery(req_);
        break;
      default:
        break;
    }
    s_.security_.audit->Record(std::move(r));
  }

  const FhirService& s_;
  const RestRequest& req_;
  std::shared_ptr<const search::SearchParameterRegistry> registry_;
  // Who is calling: nobody (an empty Principal) until Authenticate; shared, never copied.
  std::shared_ptr<const auth::Principal> principal_ = NoPrincipal();
  std::optional<AccessControl> access_;
  // The audit trail's view of this call.
  std::optional<audit::Interaction> interaction_;
  std::vector<std::string> audit_entities_;
  std::vector<std::string> audit_patients_;
  std::string failure_;
  bool audited_ = false;  // stored with a write already
  bool effect_conflict_ = false;  // the last write lost on a write plan_write added, not its own
  const bool nested_ = false;  // a batch entry: no Bundle inside, principal given
  FhirFormat format_ = FhirFormat::kJson;  // of the answer
  std::optional<std::string> body_override_;  // PATCH: the patched resource stands for the body
  int pinned_version_ = 0;                    // PATCH: the version the patch was applied to
  // A conditional write's turn on its criteria: this node's, then every node's.
  std::unique_lock<std::mutex> criteria_local_turn_;
  std::unique_ptr<store::ResourceStore::Guard> criteria_turn_;
  RestResponse res_;
  std::string type_;
  std::string id_;
  std::string written_content_;
  common::TimePoint written_at_;
  struct {
    std::string type, id;
    std::vector<std::string> params;
  } compartment_;
};

FhirService::FhirService(const definitions::Definitions& defs, store::ResourceStore& store,
                         const common::Clock& clock, ServiceOptions options,
                         SearchSupport search, SecuritySupport security,
                         ExtensionSupport extensions)
    : defs_(defs),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      search_(std::move(search)),
      security_(std::move(security)),
      extensions_(std::move(extensions)),
      started_at_(clock.Now()),
      rate_limiter_(options_.rate_limit) {}

RestResponse FhirService::Handle(const RestRequest& request) const {
  return Call(*this, request).Run();
}

}  // namespace fhir::rest

namespace fhir::rest {

ExtensionSupport CombineExtensions(std::vector<ExtensionSupport> parts) {
  ExtensionSupport all;
  auto shared = std::make_shared<std::vector<ExtensionSupport>>(std::move(parts));
  all.operation = [shared](const std::string& type, const std::string& id, const std::string& name,
                           const RestRequest& request, const AccessControl& access) {
    for (const ExtensionSupport& p : *shared) {
      if (!p.operation) continue;
      if (auto answer = p.operation(type, id, name, request, access)) return answer;
    }
    return std::optional<RestResponse>();
  };
  all.before_write = [shared](model::Element& resource) {
    for (const ExtensionSupport& p : *shared) {
      if (p.before_write) FOVEA_RETURN_IF_ERROR(p.before_write(resource));
    }
    return common::Status::Ok();
  };
  all.before_delete = [shared](const std::string& type, const std::string& id, const AccessControl& access) {
    for (const ExtensionSupport& p : *shared) {
      if (p.before_delete) FOVEA_RETURN_IF_ERROR(p.before_delete(type, id, access));
    }
    return common::Status::Ok();
  };
  all.plan_write = [shared](model::Element& resource, const std::string& id, int replaces,
                            const AccessControl& access)
      -> common::Result<std::vector<store::PlannedWrite>> {
    std::vector<store::PlannedWrite> writes;
    for (const ExtensionSupport& p : *shared) {
      if (!p.plan_write) continue;
      FOVEA_ASSIGN_OR_RETURN(auto more, p.plan_write(resource, id, replaces, access));
      for (store::PlannedWrite& w : more) writes.push_back(std::move(w));
    }
    return writes;
  };
  for (const ExtensionSupport& p : *shared) {
    all.subscription_topics.insert(all.subscription_topics.end(), p.subscription_topics.begin(),
                                   p.subscription_topics.end());
    all.operations.insert(all.operations.end(), p.operations.begin(), p.operations.end());
  }
  return all;
}

}  // namespace fhir::rest
