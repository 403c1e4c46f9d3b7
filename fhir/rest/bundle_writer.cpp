#include "fhir/rest/bundle_writer.h"

#include "common/json.h"
#include "fhir/model/ids.h"

namespace fhir::rest {

std::string ETagFor(int version) { return "W/\"" + std::to_string(version) + "\""; }

std::string HistoryBundleJson(const store::HistoryPage& page, const std::string& base_url,
                              const std::string& self_url,
                              const std::optional<std::string>& next_url, common::TimePoint now) {
  std::string out = R"({"resourceType":"Bundle","id":")";
  out += model::LogicalId::Generate().value();
  out += R"(","meta":{"lastUpdated":")";
  out += common::FormatInstant(now);
  out += R"("},"type":"history","link":[{"relation":"self","url":)";
  common::AppendJsonString(out, self_url);
  out += '}';
  if (next_url) {
    out += R"(,{"relation":"next","url":)";
    common::AppendJsonString(out, *next_url);
    out += '}';
  }
  out += ']';
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
