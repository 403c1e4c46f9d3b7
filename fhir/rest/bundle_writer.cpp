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

}  // namespace fhir::rest
