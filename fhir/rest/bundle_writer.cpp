#include "fhir/rest/bundle_writer.h"

#include "common/json.h"
#include "fhir/model/ids.h"
#include "fhir/rest/outcome.h"

namespace fhir::rest {

std::string ETagFor(int version) { return "W/\"" + std::to_string(version) + "\""; }

namespace {

void AppendBundleHead(std::string& out, const char* type, common::TimePoint now) {
  out += R"({"resourceType":"Bundle","id":")";
  out += model::LogicalId::Generate().value();
  out += R"(","meta":{"lastUpdated":")";
  out += common::FormatInstant(now);
  out += R"("},"type":")";
  out += type;
  out += '"';
}

void AppendLinks(std::string& out, const std::string& self_url,
                 const std::optional<std::string>& next_url,
                 const std::optional<std::string>& previous_url = std::nullopt) {
  out += R"(,"link":[{"relation":"self","url":)";
  common::AppendJsonString(out, self_url);
  out += '}';
  if (next_url) {
    out += R"(,{"relation":"next","url":)";
    common::AppendJsonString(out, *next_url);
    out += '}';
  }
  if (previous_url) {
    out += R"(,{"relation":"previous","url":)";
    common::AppendJsonString(out, *previous_url);
    out += '}';
  }
  out += ']';
}

}  // namespace

std::string SearchBundleJson(const search::SearchResult& result,
                             const std::string& base_url, const std::string& self_url,
                             const std::optional<std::string>& next_url,
                             const std::optional<std::string>& previous_url,
                             const std::vector<model::Issue>& warnings, common::TimePoint now) {
  std::string out;
  out.reserve(256 + result.matches.size() * 1024);
  AppendBundleHead(out, "searchset", now);
  if (result.total) {
    out += R"(,"total":)";
    out += std::to_string(*result.total);
  }
  AppendLinks(out, self_url, next_url, previous_url);
  if (!result.matches.empty() || !result.included.empty() || !warnings.empty()) {
    out += R"(,"entry":[)";
    bool first = true;
    auto append = [&](const search::SearchMatch& m, const char* mode) {
      if (!first) out += ',';
      first = false;
      out += R"({"fullUrl":)";
      common::AppendJsonString(out, base_url + "/" + m.type + "/" + m.id);
      out += R"(,"resource":)";
      out += m.content;
      out += R"(,"search":{"mode":")";
      out += mode;
      out += R"("}})";
    };
    for (const auto& m : result.matches) append(m, "match");
    for (const auto& m : result.included) append(m, "include");
    if (!warnings.empty()) {
      if (!first) out += ',';
      out += R"({"resource":)";
      out += OperationOutcomeJson(warnings);
      out += R"(,"search":{"mode":"outcome"}})";
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string HistoryBundleJson(const store::HistoryPage& page, const std::string& base_url,
                              const std::string& self_url,
                              const std::optional<std::string>& next_url, common::TimePoint now) {
  std::string out;
  AppendBundleHead(out, "history", now);
  AppendLinks(out, self_url, next_url);
  if (!page.entries.empty()) {
    out += R"(,"entry":[)";
    bool first = true;
    for (const auto& v : page.entries) {
      if (!first) out += ',';
      first = false;
      std::string relative = v.type + "/" + v.id;
      out += R"({"fullUrl":)";
      common::AppendJsonString(out, base_url + "/" + relative);
      if (!v.deleted && !v.content.empty()) {
        out += R"(,"resource":)";
        out += v.content;
      }
      out += R"(,"request":{"method":")";
      out += store::MethodName(v.method);
      out += R"(","url":)";
      common::AppendJsonString(out, v.method == store::Method::kCreate ? v.type : relative);
      out += R"(},"response":{"status":")";
      out += v.method == store::Method::kCreate || v.version == 1 ? "201 Created"
             : v.deleted                        ? "204 No Content"
                                                : "200 OK";
      out += R"(","etag":)";
      common::AppendJsonString(out, ETagFor(v.version));
      out += R"(,"lastModified":")";
      out += common::FormatInstant(v.last_updated);
      out += R"("}})";
    }
    out += ']';
  }
  out += '}';
  return out;
}

std::string StatusLine(int status) {
  const char* reason = "";
  switch (status) {
    case 200: reason = "OK"; break;
    case 201: reason = "Created"; break;
    case 204: reason = "No Content"; break;
    case 304: reason = "Not Modified"; break;
    case 400: reason = "Bad Request"; break;
    case 401: reason = "Unauthorized"; break;
    case 403: reason = "Forbidden"; break;
    case 404: reason = "Not Found"; break;
    case 405: reason = "Method Not Allowed"; break;
    case 409: reason = "Conflict"; break;
    case 410: reason = "Gone"; break;
    case 412: reason = "Precondition Failed"; break;
    case 413: reason = "Payload Too Large"; break;
    case 415: reason = "Unsupported Media Type"; break;
    case 422: reason = "Unprocessable Entity"; break;
    case 428: reason = "Precondition Required"; break;
    case 429: reason = "Too Many Requests"; break;
    case 500: reason = "Internal Server Error"; break;
    case 501: reason = "Not Implemented"; break;
    case 503: reason = "Service Unavailable"; break;
    default: break;
  }
  std::string line = std::to_string(status);
  if (*reason != '\0') line += std::string(" ") + reason;
  return line;
}

std::string ResponseBundleJson(std::string_view type, const std::vector<EntryResponse>& entries,
                               common::TimePoint now) {
  std::string out;
  std::size_t size = 256;
  for (const EntryResponse& e : entries) size += 160 + e.resource.size() + e.outcome.size();
  out.reserve(size);
  AppendBundleHead(out, std::string(type).c_str(), now);
  out += R"(,"entry":[)";
  bool first = true;
  for (const EntryResponse& e : entries) {
    if (!first) out += ',';
    first = false;
    out += '{';
    if (!e.resource.empty()) {
      out += R"("resource":)";
      out += e.resource;
      out += ',';
    }
    out += R"("response":{"status":)";
    common::AppendJsonString(out, StatusLine(e.status));
    if (!e.location.empty()) {
      out += R"(,"location":)";
      common::AppendJsonString(out, e.location);
    }
    if (!e.etag.empty()) {
      out += R"(,"etag":)";
      common::AppendJsonString(out, e.etag);
    }
    if (e.last_modified) {
      out += R"(,"lastModified":)";
      common::AppendJsonString(out, common::FormatInstant(*e.last_modified));
    }
    if (!e.outcome.empty()) {
      out += R"(,"outcome":)";
      out += e.outcome;
    }
    out += "}}";
  }
  out += "]}";
  return out;
}

}  // namespace fhir::rest
