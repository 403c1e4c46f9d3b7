#include "fhir/rest/fhir_service.h"

#include <charconv>
#include <exception>
#include <optional>
#include <vector>

#include "common/json.h"
#include "common/log.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/rest/bundle_writer.h"
#include "fhir/rest/capability_statement.h"
#include "fhir/rest/outcome.h"
#include "fhir/rest/subsetting.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/search_query.h"
#include "fhir/validation/validator.h"

namespace fhir::rest {

using common::Result;
using common::Status;
using common::StatusCode;
using model::Element;

namespace {

constexpr const char* kFhirJson = "application/fhir+json; charset=utf-8";
// Attempts at a compare-and-set write before giving up with 409 (only reached under heavy
// contention on one resource without If-Match).
constexpr int kMaxWriteAttempts = 16;

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

bool ContainsCaseInsensitive(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    bool match = true;
    for (std::size_t j = 0; j < needle.size() && match; ++j) {
      match = std::tolower(static_cast<unsigned char>(haystack[i + j])) ==
              std::tolower(static_cast<unsigned char>(needle[j]));
    }
    if (match) return true;
  }
  return false;
}

enum class PreferReturn { kRepresentation, kMinimal, kOperationOutcome };

PreferReturn ParsePrefer(std::string_view prefer) {
  if (ContainsCaseInsensitive(prefer, "return=minimal")) return PreferReturn::kMinimal;
  if (ContainsCaseInsensitive(prefer, "return=operationoutcome"))
    return PreferReturn::kOperationOutcome;
  return PreferReturn::kRepresentation;
}

// Sets id, meta.versionId and meta.lastUpdated on a resource root, keeping the rest of meta.
void StampResource(Element& root, const std::string& id, int version, common::TimePoint at) {
  root.SetPrimitiveChild("id", id);
  Element* meta = root.ChildOrAdd("meta");
  meta->SetPrimitiveChild("versionId", std::to_string(version));
  meta->SetPrimitiveChild("lastUpdated", common::FormatInstant(at));
}

}  // namespace

// One request in flight: the request, the response being built, and the interactions.
class FhirService::Call {
 public:
  Call(const FhirService& service, const RestRequest& request)
      : s_(service), req_(request) {}

  RestResponse Run() {
    try {
      // One registry for the whole request, even if SearchParameters change meanwhile.
      if (s_.search_.registry != nullptr) registry_ = s_.search_.registry->Get();
      Route();
    } catch (const std::exception& e) {
      // Last resort: log the request id, never the content; answer a generic 500.
      common::LogError("request " + req_.request_id + " failed: unexpected exception");
      Fail(Status(StatusCode::kInternal, "Internal server error (request " + req_.request_id + ")"));
    }
    res_.SetHeader("X-Request-Id", req_.request_id);
    return std::move(res_);
  }

 private:
  // --- routing ------------------------------------------------------------------------------

  void Route() {
    if (Status st = CheckAcceptable(); !st.ok()) return Fail(st);
    std::vector<std::string_view> p = SplitPath(req_.path);
    const std::string& m = req_.method;
    if (p.empty()) {
      if (m == "GET") return Search(req_.query);  // system-level search, _type to narrow it
      return Fail(Status(StatusCode::kNotSupported,
                         "Batch and transaction Bundles are not supported yet"));
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
    if (p.size() == 1) {
      if (m == "POST") return Create();
      if (m == "GET") return Search(req_.query);
      return MethodNotAllowed();
    }
    if (p.size() == 2 && p[1] == "_history") {
      return m == "GET" ? History(type_, std::nullopt) : MethodNotAllowed();
    }
    if (p.size() == 2 && p[1] == "$validate") {
      return m == "POST" ? Validate(std::nullopt) : MethodNotAllowed();
    }
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
      if (m == "PATCH") return Fail(Status(StatusCode::kNotSupported, "PATCH is not supported yet"));
      return MethodNotAllowed();
    }
    if (p.size() == 3 && p[2] == "$validate") {
      return m == "POST" ? Validate(id_) : MethodNotAllowed();
    }
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

  // --- content negotiation ------------------------------------------------------------------

  static bool IsJsonMediaType(std::string_view t) {
    return ContainsCaseInsensitive(t, "application/fhir+json") ||
           ContainsCaseInsensitive(t, "application/json") || ContainsCaseInsensitive(t, "*/*") ||
           ContainsCaseInsensitive(t, "application/*") || t == "json";
  }

  Status CheckAcceptable() const {
    std::string_view format = req_.Query("_format");
    if (!format.empty()) {
      if (IsJsonMediaType(format)) return Status::Ok();
      return Status(StatusCode::kNotAcceptable,
                    "Unsupported _format '" + std::string(format) +
                        "': this server answers application/fhir+json");
    }
    std::string_view accept = req_.Header("Accept");
    if (accept.empty() || IsJsonMediaType(accept)) return Status::Ok();
    return Status(StatusCode::kNotAcceptable,
                  "Cannot answer in the requested media type; accept application/fhir+json");
  }

  Status CheckBody() const {
    std::string_view ct = req_.Header("Content-Type");
    if (!ct.empty() && !ContainsCaseInsensitive(ct, "application/fhir+json") &&
        !ContainsCaseInsensitive(ct, "application/json")) {
      return Status(StatusCode::kUnsupportedMedia,
                    "Unsupported Content-Type '" + std::string(ct) +
                        "': send application/fhir+json");
    }
    if (req_.body.size() > s_.options_.max_body_bytes) {
      return Status(StatusCode::kTooLarge, "The request body exceeds the limit of " +
                                               std::to_string(s_.options_.max_body_bytes) +
                                               " bytes");
    }
    if (req_.body.empty()) return common::InvalidError("The request body is empty: send a resource");
    return Status::Ok();
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
    auto parsed = format::ParseResourceJson(req_.body, s_.defs_, issues,
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

  void Metadata() {
    CapabilityOptions options{s_.options_.software_version, s_.options_.require_if_match,
                              s_.search_.backend != nullptr ? registry_.get() : nullptr};
    Respond(200, BuildCapabilityStatement(s_.defs_, options, req_.base_url, s_.started_at_));
  }

  void Create() {
    model::OperationOutcomeSink issues;
    std::optional<Element> root = ParseBody(issues, BodyId::kDrop);
    if (!root) return;
    // The server assigns the id of a created resource (http.html#create): any id sent is ignored.
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      id_ = model::LogicalId::Generate().value();
      Status st = WriteVersion(*root, 1, 0, store::Method::kCreate);
      if (st.code() == StatusCode::kVersionConflict) continue;
      if (!st.ok()) return Fail(st);
      return RespondWritten(201, 1);
    }
    Fail(Status(StatusCode::kVersionConflict, "Could not allocate a resource id; retry"));
  }

  void Update() {
    model::OperationOutcomeSink issues;
    std::optional<Element> root = ParseBody(issues, BodyId::kKeep);
    if (!root) return;
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
    auto turn = s_.resource_writers_.Lock(type_ + "/" + id_);
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      auto head = s_.store_.Head(type_, id_);
      if (!head.has_value() && head.error().code() != StatusCode::kNotFound) {
        return Fail(head.error());
      }
      int current = head.has_value() ? head->version : 0;
      bool exists = head.has_value() && !head->deleted;
      if (Status st = CheckPreconditions(*if_match, current, exists); !st.ok()) return Fail(st);
      int next = current + 1;
      Status st = WriteVersion(*root, next, current, store::Method::kUpdate);
      if (st.code() == StatusCode::kVersionConflict) {
        if (*if_match != 0) {
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
    auto if_match = IfMatchVersion();
    if (!if_match.has_value()) return Fail(if_match.error());
    auto turn = s_.resource_writers_.Lock(type_ + "/" + id_);
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      auto head = s_.store_.Head(type_, id_);
      if (!head.has_value()) {
        if (head.error().code() != StatusCode::kNotFound) return Fail(head.error());
        return Fail(Status(StatusCode::kNotFound, type_ + "/" + id_ + " does not exist"));
      }
      if (head->deleted) {
        res_.status = 204;  // deleting a deleted resource changes nothing
        res_.SetHeader("ETag", ETagFor(head->version));
        return;
      }
      if (Status st = CheckPreconditions(*if_match, head->version, true); !st.ok()) return Fail(st);
      store::ResourceVersion v;
      v.type = type_;
      v.id = id_;
      v.version = head->version + 1;
      v.last_updated = s_.clock_.Now();
      v.deleted = true;
      v.method = store::Method::kDelete;
      Status st = s_.store_.Write(v, head->version);
      if (st.code() == StatusCode::kVersionConflict) {
        if (*if_match != 0) {
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
    auto current = s_.store_.Read(type_, id_);
    if (!current.has_value()) {
      if (current.error().code() == StatusCode::kNotFound) {
        return Fail(Status(StatusCode::kNotFound, type_ + "/" + id_ + " is not known"));
      }
      return Fail(current.error());
    }
    RespondStored(std::move(current).value());
  }

  void VRead(std::string_view version_text) {
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
    RespondStored(std::move(stored).value());
  }

  void History(std::optional<std::string> type, std::optional<std::string> id) {
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
        if (head.error().code() == StatusCode::kNotFound) {
          return Fail(Status(StatusCode::kNotFound, *type + "/" + *id + " is not known"));
        }
        return Fail(head.error());
      }
    }
    auto page = s_.store_.History(q);
    if (!page.has_value()) return Fail(page.error());
    std::string path = req_.base_url + "/" + (type ? *type + "/" : "") +
                       (id ? *id + "/" : "") + "_history";
    std::string params = "_count=" + std::to_string(q.count);
    if (q.since) params += "&_since=" + UrlEncode(common::FormatInstant(*q.since));
    std::string self = path + "?" + params +
                       (q.before_seq ? "&_before_seq=" + std::to_string(*q.before_seq) : "");
    std::optional<std::string> next;
    if (page->next_before_seq) {
      next = path + "?" + params + "&_before_seq=" + std::to_string(*page->next_before_seq);
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
    auto result = s_.search_.backend->Search(query);
    if (!result.has_value()) return Fail(result.error());
    if (subset->active()) {
      for (auto* list : {&result->matches, &result->included}) {
        for (auto& m : *list) {
          auto reduced = ApplySubset(m.content, *subset, s_.defs_);
          if (!reduced.has_value()) return Fail(reduced.error());
          m.content = std::move(reduced).value();
        }
      }
    }
    std::string applied;
    for (const auto& [k, v] : query.applied) {
      applied += (applied.empty() ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
    }
    auto page_link = [&](const std::optional<std::string>& cursor) -> std::optional<std::string> {
      if (!cursor) return std::nullopt;
      return self + applied + (applied.empty() ? "?" : "&") + "_cursor=" + UrlEncode(*cursor);
    };
    std::optional<std::string> next = page_link(result->next_cursor);
    std::optional<std::string> previous = page_link(result->previous_cursor);
    if (query.cursor) {
      applied += (applied.empty() ? "?" : "&") + std::string("_cursor=") + UrlEncode(*query.cursor);
    }
    Respond(200, SearchBundleJson(*result, req_.base_url, self + applied, next, previous,
                                  issues.issues(), s_.clock_.Now()));
  }

  void Validate(std::optional<std::string> id) {
    model::OperationOutcomeSink issues;
    if (Status st = CheckBody(); !st.ok()) return Fail(st);
    // The body is the resource itself, or a Parameters with a `resource` parameter.
    auto json = common::ParseJson(req_.body, {.max_depth = s_.options_.max_json_depth});
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

  Status WriteVersion(Element& root, int version, int expected, store::Method method) {
    common::TimePoint now = s_.clock_.Now();
    StampResource(root, id_, version, now);
    store::ResourceVersion v;
    v.type = type_;
    v.id = id_;
    v.version = version;
    v.last_updated = now;
    v.method = method;
    v.content = format::WriteResourceJson(root);
    if (registry_ != nullptr) v.index_rows_json = search::ExtractIndex(root, *registry_).ToJson();
    Status st = s_.store_.Write(v, expected);
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
    Respond(HttpStatusFor(status.code()), OperationOutcomeJson(status));
  }

  const FhirService& s_;
  const RestRequest& req_;
  std::shared_ptr<const search::SearchParameterRegistry> registry_;
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
                         SearchSupport search)
    : defs_(defs),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      search_(std::move(search)),
      started_at_(clock.Now()) {}

RestResponse FhirService::Handle(const RestRequest& request) const {
  return Call(*this, request).Run();
}

}  // namespace fhir::rest
