#include "fhir/rest/media_types.h"

#include <strings.h>

#include <cstdlib>

#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"

namespace fhir::rest {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A bare media type (no parameters) or _format value as a FHIR format; nullopt when it is
// neither. `any` is set for wildcards.
std::optional<FhirFormat> FormatOf(std::string_view t, bool* any = nullptr) {
  t = Trim(t);
  for (std::string_view json : {"application/fhir+json", "application/json", "json",
                                "application/json+fhir", "text/json"}) {
    if (EqualsNoCase(t, json)) return FhirFormat::kJson;
  }
  for (std::string_view xml : {"application/fhir+xml", "application/xml", "xml", "text/xml",
                               "application/xml+fhir"}) {
    if (EqualsNoCase(t, xml)) return FhirFormat::kXml;
  }
  if (EqualsNoCase(t, "*/*") || EqualsNoCase(t, "application/*")) {
    if (any != nullptr) *any = true;
    return FhirFormat::kJson;
  }
  return std::nullopt;
}

}  // namespace

common::Result<FhirFormat> NegotiateFormat(std::string_view format_param,
                                           std::string_view accept) {
  if (!format_param.empty()) {
    // `_format` carries a MIME type or json/xml; a '+' may have become a space in the URL.
    std::string f(format_param);
    for (char& c : f) {
      if (c == ' ') c = '+';
    }
    std::string_view bare = std::string_view(f).substr(0, f.find(';'));
    if (auto format = FormatOf(bare)) return *format;
    return common::Status(common::StatusCode::kNotAcceptable,
                          "Unsupported _format '" + std::string(format_param) +
                              "': use json or xml (or their MIME types)");
  }
  if (Trim(accept).empty()) return FhirFormat::kJson;
  // The supported entry with the highest q; ties go to the first listed.
  std::optional<FhirFormat> best;
  double best_q = 0;
  while (!accept.empty()) {
    std::size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    std::size_t semi = item.find(';');
    double q = 1.0;
    for (std::string_view params = semi == std::string_view::npos ? "" : item.substr(semi + 1);
         !params.empty();) {
      std::size_t next = params.find(';');
      std::string_view p = Trim(params.substr(0, next));
      if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
        q = std::strtod(std::string(p.substr(2)).c_str(), nullptr);
      }
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    }
    auto format = FormatOf(item.substr(0, semi));
    if (format && q > best_q) {
      best = format;
      best_q = q;
    }
  }
  if (best) return *best;
  return common::Status(common::StatusCode::kNotAcceptable,
                        "Cannot answer in the requested media type; accept application/fhir+json "
                        "or application/fhir+xml");
}

std::optional<FhirFormat> BodyFormat(std::string_view content_type) {
  if (Trim(content_type).empty()) return FhirFormat::kJson;
  bool any = false;
  auto format = FormatOf(content_type.substr(0, content_type.find(';')), &any);
  if (any) return std::nullopt;  // a body has one type, not a wildcard
  return format;
}

const char* ContentTypeOf(FhirFormat format) {
  return format == FhirFormat::kXml ? "application/fhir+xml; charset=utf-8"
                                    : "application/fhir+json; charset=utf-8";
}

common::Result<std::string> JsonToXml(std::string_view json, const definitions::Definitions& defs) {
  model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(model::Element root, format::ParseResourceJson(json, defs, issues));
  return format::WriteResourceXml(root);
}

common::Result<std::string> XmlToJson(std::string_view xml, const definitions::Definitions& defs,
                                      model::IssueSink& issues, std::size_t max_depth) {
  FOVEA_ASSIGN_OR_RETURN(model::Element root,
                         format::ParseResourceXml(xml, defs, issues, {.max_depth = max_depth}));
  return format::WriteResourceJson(root);
}

}  // namespace fhir::rest
