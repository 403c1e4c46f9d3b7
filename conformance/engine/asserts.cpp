#include "conformance/engine/asserts.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/json.h"
#include "fhir/definitions/definitions.h"
#include "fhir/fhirpath/fhirpath.h"
#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "fhir/model/issues.h"
#include "fhir/validation/validator.h"

namespace conformance::engine {

namespace {

using common::JsonValue;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    out.push_back(Trim(s.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

std::string Quote(const std::vector<std::string>& values) {
  if (values.empty()) return "(nothing)";
  std::string out;
  for (std::size_t i = 0; i < values.size() && i < 5; ++i) {
    if (i > 0) out += ", ";
    std::string v = values[i].size() > 200 ? values[i].substr(0, 200) + "..." : values[i];
    out += "'" + v + "'";
  }
  if (values.size() > 5) out += ", ... (" + std::to_string(values.size()) + " values)";
  return out;
}

std::optional<double> Number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return d;
}

// The MIME type a TestScript content-type code stands for.
std::string MimeOf(const std::string& code) {
  std::string c = Lower(code);
  if (c == "xml") return "application/fhir+xml";
  if (c == "json") return "application/fhir+json";
  if (c == "ttl") return "text/turtle";
  return c;
}

std::string MediaType(const std::string* header) {
  if (header == nullptr) return {};
  std::string v = *header;
  if (std::size_t semi = v.find(';'); semi != std::string::npos) v.resize(semi);
  return Lower(Trim(v));
}

// The failure text for a kind, or empty when it holds.
using Check = std::string;

std::string ResourceTypeOf(const std::string& json) {
  if (json.empty()) return {};
  auto parsed = common::ParseJson(json);
  if (!parsed.has_value() || !parsed->is_object()) return {};
  const JsonValue* rt = parsed->Find("resourceType");
  return rt != nullptr && rt->is_string() ? rt->scalar() : std::string();
}

int ResponseCodeOf(const std::string& name) {
  static const std::map<std::string, int, std::less<>> kCodes = {
      {"okay", 200},           {"created", 201},  {"noContent", 204},
      {"notModified", 304},    {"bad", 400},      {"forbidden", 403},
      {"notFound", 404},       {"methodNotAllowed", 405}, {"conflict", 409},
      {"gone", 410},           {"preconditionFailed", 412}, {"unprocessable", 422}};
  auto it = kCodes.find(name);
  return it == kCodes.end() ? -1 : it->second;
}

// `min` is contained in `actual`: every member and value of min is there (arrays: each item
// of min matches some item of actual). Returns the first path that is not, or empty.
std::string Missing(const JsonValue& min, const JsonValue& actual, const std::string& path,
                    bool root) {
  if (min.is_object()) {
    if (!actual.is_object()) return path;
    for (const auto& [k, v] : min.members()) {
      // The server sets these; a minimum fixture's copies say nothing about the content.
      if (root && (k == "id" || k == "meta" || k == "text")) continue;
      const JsonValue* a = actual.Find(k);
      std::string child = path.empty() ? k : path + "." + k;
      if (a == nullptr) return child;
      if (std::string m = Missing(v, *a, child, false); !m.empty()) return m;
    }
    return {};
  }
  if (min.is_array()) {
    if (!actual.is_array()) return path;
    for (std::size_t i = 0; i < min.items().size(); ++i) {
      bool found = false;
      for (const JsonValue& a : actual.items()) {
        if (Missing(min.items()[i], a, path, false).empty()) {
          found = true;
          break;
        }
      }
      if (!found) return path + "[" + std::to_string(i) + "]";
    }
    return {};
  }
  if (min.kind() != actual.kind() || min.scalar() != actual.scalar()) return path;
  return {};
}

const Exchange* Need(const AssertContext& ctx, std::string& error) {
  if (ctx.last == nullptr) error = "no operation has run yet, so there is nothing to assert on";
  return ctx.last;
}

bool IsRequest(const Assert& a) { return a.direction == "request"; }

Check CheckResponse(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return {};
  int want = ResponseCodeOf(a.response);
  if (want < 0) {
    error = "unknown response code '" + a.response + "'";
    return {};
  }
  if (ex->response.status == want) return {};
  return "response: expected " + a.response + " (" + std::to_string(want) + "), got " +
         std::to_string(ex->response.status);
}

Check CheckResponseCode(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return {};
  std::string op = a.op.empty() ? "equals" : a.op;
  std::string why = ApplyOperator(op, {std::to_string(ex->response.status)}, a.response_code);
  return why.empty() ? why : "responseCode: " + why;
}

Check CheckContentType(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return {};
  const HeaderList& headers = IsRequest(a) ? ex->request.headers : ex->response.headers;
  std::string actual = MediaType(FindHeader(headers, "Content-Type"));
  std::string want = MimeOf(a.content_type);
  if (want == "none") {
    return actual.empty() ? Check() : "contentType: expected none, got '" + actual + "'";
  }
  std::string op = a.op.empty() ? "equals" : a.op;
  std::string why = ApplyOperator(op, {actual}, want);
  return why.empty() ? why : "contentType: " + why;
}

Check CheckHeaderField(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return {};
  const HeaderList& headers = IsRequest(a) ? ex->request.headers : ex->response.headers;
  const std::string* v = FindHeader(headers, a.header_field);
  std::vector<std::string> actual;
  if (v != nullptr) actual.push_back(*v);
  std::string op = a.op;
  if (op.empty()) op = a.value.empty() ? "notEmpty" : "equals";
  std::string why = ApplyOperator(op, actual, a.value);
  return why.empty() ? why : "header " + a.header_field + ": " + why;
}

const Source* SourceOf(const Assert& a, const AssertContext& ctx, Source& holder,
                       std::string& error) {
  if (!a.source_id.empty()) {
    const Source* s = ctx.fixture ? ctx.fixture(a.source_id) : nullptr;
    if (s == nullptr) error = "sourceId '" + a.source_id + "' names no fixture, response or request";
    return s;
  }
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return nullptr;
  holder = Source::FromExchange(*ex, IsRequest(a));
  return &holder;
}

Check CheckResource(const Assert& a, const AssertContext& ctx, std::string& error) {
  Source holder;
  const Source* s = SourceOf(a, ctx, holder, error);
  if (s == nullptr) return {};
  std::string actual = ResourceTypeOf(s->json());
  std::string op = a.op.empty() ? "equals" : a.op;
  std::vector<std::string> values;
  if (!actual.empty()) values.push_back(actual);
  std::string why = ApplyOperator(op, values, a.resource);
  return why.empty() ? why : "resource type: " + why;
}

Check CheckMinimum(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Source* min = ctx.fixture ? ctx.fixture(a.minimum_id) : nullptr;
  if (min == nullptr || min->json().empty()) {
    error = "minimumId '" + a.minimum_id + "' names no fixture with a resource";
    return {};
  }
  Source holder;
  const Source* s = SourceOf(a, ctx, holder, error);
  if (s == nullptr) return {};
  if (s->json().empty()) return "minimumId: the response holds no resource";
  auto want = common::ParseJson(min->json());
  auto got = common::ParseJson(s->json());
  if (!want.has_value() || !got.has_value()) return "minimumId: unreadable JSON";
  std::string missing = Missing(*want, *got, "", true);
  return missing.empty() ? Check()
                         : "minimumId: the response lacks " + missing + " of fixture " +
                               a.minimum_id;
}

Check CheckNavigationLinks(const Assert& a, const AssertContext& ctx, std::string& error) {
  Source holder;
  const Source* s = SourceOf(a, ctx, holder, error);
  if (s == nullptr) return {};
  auto bundle = common::ParseJson(s->json().empty() ? "{}" : s->json());
  if (!bundle.has_value() || ResourceTypeOf(s->json()) != "Bundle") {
    return "navigationLinks: the response is not a Bundle";
  }
  std::map<std::string, std::string> links;
  if (const JsonValue* l = bundle->Find("link"); l != nullptr && l->is_array()) {
    for (const JsonValue& link : l->items()) {
      const JsonValue* rel = link.Find("relation");
      const JsonValue* url = link.Find("url");
      if (rel != nullptr) links[rel->scalar()] = url != nullptr ? url->scalar() : "";
    }
  }
  bool paging = links.count("next") + links.count("previous") + links.count("prev") +
                    links.count("first") + links.count("last") > 0;
  if (!*a.navigation_links) {
    return paging ? "navigationLinks: expected no paging links, found some" : Check();
  }
  if (links.count("self") == 0 || links["self"].empty()) {
    return "navigationLinks: the Bundle has no self link";
  }
  for (const auto& [rel, url] : links) {
    if (url.empty()) return "navigationLinks: link '" + rel + "' has no url";
  }
  // A page shorter than the total must say where the rest is.
  std::size_t entries = 0;
  if (const JsonValue* e = bundle->Find("entry"); e != nullptr && e->is_array()) {
    entries = e->items().size();
  }
  if (const JsonValue* total = bundle->Find("total"); total != nullptr) {
    auto n = Number(total->scalar());
    if (n && *n > static_cast<double>(entries) && links.count("next") == 0) {
      return "navigationLinks: total is " + total->scalar() + " but the page holds " +
             std::to_string(entries) + " entries and there is no next link";
    }
  }
  return {};
}

Check CheckProfile(const Assert& a, const AssertContext& ctx, std::string& error,
                   std::string& note) {
  std::string url;
  if (ctx.profiles != nullptr) {
    auto it = ctx.profiles->find(a.validate_profile_id);
    if (it != ctx.profiles->end()) url = it->second;
  }
  if (url.empty()) {
    error = "validateProfileId '" + a.validate_profile_id + "' names no TestScript.profile";
    return {};
  }
  Source holder;
  const Source* s = SourceOf(a, ctx, holder, error);
  if (s == nullptr) return {};
  if (s->tree() == nullptr) {
    return "validateProfileId: no resource to validate" +
           (s->parse_error().empty() ? std::string() : " (" + s->parse_error() + ")");
  }
  std::string type = ResourceTypeOf(s->json());
  constexpr std::string_view kBase = "http://hl7.org/fhir/StructureDefinition/";
  if (url.rfind(kBase, 0) == 0) {
    std::string profile_type = url.substr(kBase.size());
    if (profile_type != type && profile_type != "Resource" && profile_type != "DomainResource") {
      return "validateProfileId: " + url + " is for " + profile_type + ", the resource is a " + type;
    }
  } else {
    note = "only the R4 base definition of " + type + " was checked, not the profile " + url;
  }
  fhir::model::OperationOutcomeSink sink;
  // Re-parse so that structural problems (unknown elements) count as well.
  const auto& defs = fhir::definitions::Definitions::R4();
  auto reparsed = fhir::format::ParseResourceJson(s->json(), defs, sink);
  if (reparsed.has_value()) {
    fhir::validation::ValidateResource(*reparsed, fhir::model::IssueScope(sink, type));
  }
  std::vector<std::string> errors;
  for (const auto& issue : sink.issues()) {
    if (issue.severity == fhir::model::IssueSeverity::kError ||
        issue.severity == fhir::model::IssueSeverity::kFatal) {
      errors.push_back((issue.location.empty() ? "" : issue.location + ": ") + issue.diagnostics);
    }
  }
  if (errors.empty()) return {};
  return "validateProfileId: " + std::to_string(errors.size()) + " error(s): " + Quote(errors);
}

Check CheckRequestMethod(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return {};
  std::string op = a.op.empty() ? "equals" : a.op;
  std::string why = ApplyOperator(op, {Lower(ex->request.method)}, Lower(a.request_method));
  return why.empty() ? why : "requestMethod: " + why;
}

Check CheckRequestUrl(const Assert& a, const AssertContext& ctx, std::string& error) {
  const Exchange* ex = Need(ctx, error);
  if (ex == nullptr) return {};
  std::string actual = ex->request.url;
  // A relative expectation is relative to the base.
  if (a.request_url.rfind("http", 0) != 0 && actual.rfind(ctx.base, 0) == 0) {
    actual = actual.substr(ctx.base.size());
    if (!actual.empty() && actual[0] == '/' && (a.request_url.empty() || a.request_url[0] != '/')) {
      actual = actual.substr(1);
    }
  }
  std::string op = a.op.empty() ? "equals" : a.op;
  std::string why = ApplyOperator(op, {actual}, a.request_url);
  return why.empty() ? why : "requestURL: " + why;
}

// expression / path, against value or against compareToSource*.
Check CheckExpression(const Assert& a, const AssertContext& ctx, std::string& error,
                      bool& skipped) {
  auto translate = [&](const std::string& path) -> std::string {
    if (path.empty()) return {};
    auto fp = XPathToFhirPath(path);
    if (!fp) {
      skipped = true;
      error = "the path '" + path + "' is XPath/JSONPath the engine does not evaluate; use expression";
      return {};
    }
    return *fp;
  };
  std::string expr = a.expression.empty() ? translate(a.path) : a.expression;
  if (skipped) return {};
  std::string compare_expr = a.compare_to_source_expression.empty()
                                 ? translate(a.compare_to_source_path)
                                 : a.compare_to_source_expression;
  if (skipped) return {};
  if (expr.empty()) expr = compare_expr;  // the same expression on both sides

  Source holder;
  const Source* s = SourceOf(a, ctx, holder, error);
  if (s == nullptr) return {};
  auto actual = EvaluateToStrings(expr, *s);
  if (!actual.has_value()) {
    error = "expression '" + expr + "': " + actual.error().message();
    return {};
  }
  std::string what = "'" + expr + "'";
  if (!a.compare_to_source_id.empty()) {
    const Source* other = ctx.fixture ? ctx.fixture(a.compare_to_source_id) : nullptr;
    if (other == nullptr) {
      error = "compareToSourceId '" + a.compare_to_source_id + "' names no fixture";
      return {};
    }
    auto expected = EvaluateToStrings(compare_expr.empty() ? expr : compare_expr, *other);
    if (!expected.has_value()) {
      error = "compareToSourceExpression: " + expected.error().message();
      return {};
    }
    if (expected->empty()) {
      return what + " on " + a.compare_to_source_id + " gave nothing to compare with";
    }
    std::string op = a.op.empty() ? "equals" : a.op;
    std::string joined = expected->front();
    if (op == "in" || op == "notIn") {
      joined.clear();
      for (const auto& e : *expected) joined += (joined.empty() ? "" : ",") + e;
    }
    std::string why = ApplyOperator(op, *actual, joined);
    return why.empty() ? why : what + " compared with " + a.compare_to_source_id + ": " + why;
  }
  std::string op = a.op;
  if (op.empty() && a.value.empty()) op = "eval";
  if (op.empty()) op = "equals";
  if (op == "eval") {
    // A boolean expression must be true; anything else must give something.
    bool holds = !actual->empty() && !(actual->size() == 1 && (*actual)[0] == "false");
    if (!a.value.empty()) holds = actual->size() == 1 && (*actual)[0] == a.value;
    return holds ? Check() : what + " gave " + Quote(*actual);
  }
  std::string why = ApplyOperator(op, *actual, a.value);
  return why.empty() ? why : what + ": " + why;
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
    case Outcome::kWarning: return "warning";
    case Outcome::kSkip: return "skip";
    case Outcome::kError: return "error";
  }
  return "error";
}

Source Source::FromText(std::string text) {
  Source s;
  s.SetBody(text);
  return s;
}

Source Source::FromExchange(Exchange exchange, bool request_side) {
  Source s;
  s.SetBody(request_side ? exchange.request.body : exchange.response.body);
  s.exchange_ = std::move(exchange);
  s.request_side_ = request_side;
  return s;
}

void Source::SetBody(const std::string& text) {
  std::size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (first == std::string::npos) return;
  const auto& defs = fhir::definitions::Definitions::R4();
  fhir::model::OperationOutcomeSink issues;
  auto tree = text[first] == '<' ? fhir::format::ParseResourceXml(text, defs, issues)
                                 : fhir::format::ParseResourceJson(text, defs, issues);
  if (!tree.has_value()) {
    parse_error_ = tree.error().message();
    return;
  }
  json_ = text[first] == '<' ? fhir::format::WriteResourceJson(*tree) : text.substr(first);
  tree_ = std::make_shared<const fhir::model::Element>(std::move(tree).value());
}

std::string ApplyOperator(std::string_view op, const std::vector<std::string>& actual,
                          const std::string& expected) {
  const std::string first = actual.empty() ? std::string() : actual.front();
  std::string got = Quote(actual);
  if (op.empty() || op == "equals") {
    if (!actual.empty() && first == expected) return {};
    return "expected '" + expected + "', got " + got;
  }
  if (op == "notEquals") {
    if (actual.empty() || first != expected) return {};
    return "expected anything but '" + expected + "'";
  }
  if (op == "in" || op == "notIn") {
    auto list = SplitComma(expected);
    bool in = !actual.empty() && std::find(list.begin(), list.end(), first) != list.end();
    if (in == (op == "in")) return {};
    return "expected " + got + (op == "in" ? " in " : " not in ") + "[" + expected + "]";
  }
  if (op == "greaterThan" || op == "lessThan") {
    if (actual.empty()) return "expected a value " + std::string(op) + " '" + expected + "', got nothing";
    auto a = Number(first);
    auto b = Number(expected);
    bool greater = a && b ? *a > *b : first > expected;
    bool less = a && b ? *a < *b : first < expected;
    if (op == "greaterThan" ? greater : less) return {};
    return "expected " + got + (op == "greaterThan" ? " > '" : " < '") + expected + "'";
  }
  if (op == "empty" || op == "notEmpty") {
    bool empty = std::all_of(actual.begin(), actual.end(), [](const std::string& s) { return s.empty(); });
    if (empty == (op == "empty")) return {};
    return op == "empty" ? "expected nothing, got " + got : "expected a value, got nothing";
  }
  if (op == "contains" || op == "notContains") {
    bool contains = std::any_of(actual.begin(), actual.end(), [&](const std::string& s) {
      return s.find(expected) != std::string::npos;
    });
    if (contains == (op == "contains")) return {};
    return "expected " + got + (op == "contains" ? " to contain '" : " not to contain '") +
           expected + "'";
  }
  if (op == "eval") {
    if (actual.size() == 1 && first == "true") return {};
    return "expected true, got " + got;
  }
  return "unknown operator '" + std::string(op) + "'";
}

std::optional<std::string> XPathToFhirPath(std::string_view xpath) {
  std::string_view p = xpath;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (p.empty()) return std::nullopt;
  std::string out;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t slash = p.find('/', start);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view seg = p.substr(start, slash - start);
    start = slash + 1;
    if (seg == "@value") {
      if (slash != p.size()) return std::nullopt;
      break;
    }
    if (seg.rfind("fhir:", 0) == 0) seg.remove_prefix(5);
    if (seg.empty() || !std::isalpha(static_cast<unsigned char>(seg[0]))) return std::nullopt;
    for (char c : seg) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
    }
    if (!out.empty()) out += '.';
    out += seg;
  }
  return out;
}

common::Result<std::vector<std::string>> EvaluateToStrings(const std::string& expression,
                                                           const Source& source) {
  FOVEA_ASSIGN_OR_RETURN(auto compiled, fhir::fhirpath::CompileCached(expression));
  std::vector<std::string> out;
  if (source.tree() == nullptr) {
    if (!source.parse_error().empty()) {
      return common::InvalidError("the body is not a FHIR resource: " + source.parse_error());
    }
    return out;  // nothing to evaluate on: an empty collection
  }
  FOVEA_ASSIGN_OR_RETURN(auto result, fhir::fhirpath::Evaluate(*compiled, *source.tree()));
  for (const auto& v : result) {
    using Kind = fhir::fhirpath::Value::Kind;
    switch (v.kind()) {
      case Kind::kElement:
        if (v.element()->type() != nullptr && v.element()->type()->is_primitive()) {
          out.push_back(v.text());
        } else {
          std::string json;
          fhir::format::AppendElementJson(json, *v.element());
          out.push_back(std::move(json));
        }
        break;
      case Kind::kBoolean: out.push_back(v.boolean() ? "true" : "false"); break;
      case Kind::kInteger: out.push_back(std::to_string(v.integer())); break;
      case Kind::kQuantity:
        out.push_back(v.quantity().value + " '" + v.quantity().unit + "'");
        break;
      default: out.push_back(v.text()); break;
    }
  }
  return out;
}

AssertResult EvaluateAssert(const Assert& a, const AssertContext& ctx) {
  std::vector<std::string> failures;
  std::string error;
  std::string note;
  bool skipped = false;
  bool any = false;
  auto run = [&](bool present, auto&& check) {
    if (!present || !error.empty() || skipped) return;
    any = true;
    std::string why = check();
    if (!why.empty()) failures.push_back(std::move(why));
  };
  run(!a.response.empty(), [&] { return CheckResponse(a, ctx, error); });
  run(!a.response_code.empty(), [&] { return CheckResponseCode(a, ctx, error); });
  run(!a.content_type.empty(), [&] { return CheckContentType(a, ctx, error); });
  run(!a.header_field.empty(), [&] { return CheckHeaderField(a, ctx, error); });
  run(!a.resource.empty(), [&] { return CheckResource(a, ctx, error); });
  run(!a.minimum_id.empty(), [&] { return CheckMinimum(a, ctx, error); });
  run(a.navigation_links.has_value(), [&] { return CheckNavigationLinks(a, ctx, error); });
  run(!a.validate_profile_id.empty(), [&] { return CheckProfile(a, ctx, error, note); });
  run(!a.request_method.empty(), [&] { return CheckRequestMethod(a, ctx, error); });
  run(!a.request_url.empty(), [&] { return CheckRequestUrl(a, ctx, error); });
  run(!a.expression.empty() || !a.path.empty() || !a.compare_to_source_expression.empty() ||
          !a.compare_to_source_path.empty(),
      [&] { return CheckExpression(a, ctx, error, skipped); });
  if (skipped) return {Outcome::kSkip, error};
  if (!error.empty()) return {Outcome::kError, error};
  if (!any) return {Outcome::kError, "the assert names nothing to check"};
  if (failures.empty()) return {Outcome::kPass, note};
  std::string message;
  for (const auto& f : failures) message += (message.empty() ? "" : "; ") + f;
  return {a.warning_only ? Outcome::kWarning : Outcome::kFail, message};
}

}  // namespace conformance::engine
