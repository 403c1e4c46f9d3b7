#include "fhir/rest/bundle_request.h"

#include "common/base64.h"
#include "common/url.h"

namespace fhir::rest {

namespace {

constexpr std::pair<EntryMethod, std::string_view> kMethods[] = {
    {EntryMethod::kGet, "GET"},       {EntryMethod::kHead, "HEAD"},
    {EntryMethod::kPost, "POST"},     {EntryMethod::kPut, "PUT"},
    {EntryMethod::kDelete, "DELETE"}, {EntryMethod::kPatch, "PATCH"},
};

std::string StringMember(const common::JsonValue& object, std::string_view key) {
  const common::JsonValue* v = object.Find(key);
  return v != nullptr && v->is_string() ? v->scalar() : std::string();
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::vector<std::string_view> EntryRequest::Segments() const {
  std::vector<std::string_view> out;
  std::string_view rest = path;
  while (!rest.empty()) {
    std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return out;
}

std::string_view EntryMethodName(EntryMethod method) {
  for (const auto& [m, name] : kMethods) {
    if (m == method) return name;
  }
  return "GET";
}

common::Result<EntryRequest> ParseEntryRequest(const common::JsonValue& entry,
                                               std::string_view base_url) {
  const common::JsonValue* request = entry.Find("request");
  if (request == nullptr || !request->is_object()) {
    return common::InvalidError("the entry has no request (method and url are required)");
  }
  EntryRequest out;
  std::string method = StringMember(*request, "method");
  bool known = false;
  for (const auto& [m, name] : kMethods) {
    if (method == name) {
      out.method = m;
      known = true;
    }
  }
  if (!known) {
    return common::InvalidError("request.method '" + method +
                                "' is not one of GET, HEAD, POST, PUT, DELETE, PATCH");
  }
  std::string url = StringMember(*request, "url");
  std::string_view u = url;
  if (!base_url.empty() && StartsWith(u, base_url) &&
      (u.size() == base_url.size() || u[base_url.size()] == '/' || u[base_url.size()] == '?')) {
    u.remove_prefix(base_url.size());
  } else if (u.substr(0, u.find('?')).find("://") != std::string_view::npos) {
    return common::InvalidError("request.url '" + url +
                                "' is absolute and not on this server: use a relative url such "
                                "as Patient/123");
  }
  while (!u.empty() && u.front() == '/') u.remove_prefix(1);
  if (u.empty() || u.front() == '?') {
    return common::InvalidError("request.url is empty: it names the interaction, e.g. Patient");
  }
  std::size_t q = u.find('?');
  out.path = std::string(u.substr(0, q));
  if (q != std::string_view::npos) out.query = common::ParseQueryString(u.substr(q + 1));
  out.if_match = StringMember(*request, "ifMatch");
  out.if_none_match = StringMember(*request, "ifNoneMatch");
  out.if_none_exist = StringMember(*request, "ifNoneExist");
  out.if_modified_since = StringMember(*request, "ifModifiedSince");
  return out;
}

RestRequest EntryAsRestRequest(const EntryRequest& entry, const RestRequest& outer,
                               std::string body, std::string_view content_type) {
  RestRequest r;
  r.method = std::string(EntryMethodName(entry.method));
  r.path = entry.path;
  r.query = entry.query;
  r.base_url = outer.base_url;
  r.request_id = outer.request_id;
  r.peer_address = outer.peer_address;
  r.headers.emplace_back("Accept", "application/fhir+json");
  if (std::string_view prefer = outer.Header("Prefer"); !prefer.empty()) {
    r.headers.emplace_back("Prefer", std::string(prefer));
  }
  auto header = [&](const char* name, const std::string& value) {
    if (!value.empty()) r.headers.emplace_back(name, value);
  };
  header("If-Match", entry.if_match);
  header("If-None-Match", entry.if_none_match);
  header("If-None-Exist", entry.if_none_exist);
  header("If-Modified-Since", entry.if_modified_since);
  if (!body.empty()) r.headers.emplace_back("Content-Type", std::string(content_type));
  r.body = std::move(body);
  return r;
}

EntryResponse EntryResponseFrom(const RestResponse& response, std::string_view base_url) {
  EntryResponse out;
  out.status = response.status;
  for (const auto& [name, value] : response.headers) {
    if (name == "Location") {
      std::string_view location = value;
      if (StartsWith(location, base_url) && location.size() > base_url.size()) {
        location.remove_prefix(base_url.size() + 1);
      }
      out.location = std::string(location);
    } else if (name == "ETag") {
      out.etag = value;
    } else if (name == "Last-Modified") {
      common::TimePoint t;
      if (common::ParseHttpDate(value, t)) out.last_modified = t;
    }
  }
  if (!response.body.empty()) {
    bool outcome = response.status >= 400 ||
                   response.body.find("\"resourceType\":\"OperationOutcome\"") == 1;
    (outcome ? out.outcome : out.resource) = response.body;
  }
  return out;
}

common::Result<std::string> JsonPatchOfBinary(const common::JsonValue& resource) {
  const common::JsonValue* type = resource.Find("resourceType");
  const common::JsonValue* content_type = resource.Find("contentType");
  const common::JsonValue* data = resource.Find("data");
  if (type == nullptr || type->scalar() != "Binary" || content_type == nullptr ||
      content_type->scalar().rfind("application/json-patch+json", 0) != 0 || data == nullptr) {
    return common::Status(common::StatusCode::kUnsupportedMedia,
                          "A PATCH entry's resource must be a Binary with contentType "
                          "application/json-patch+json and the patch, base64, in data");
  }
  auto text = common::Base64Decode(data->scalar());
  if (!text) return common::InvalidError("Binary.data is not base64");
  return std::move(*text);
}

}  // namespace fhir::rest
