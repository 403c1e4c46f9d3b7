#include "fhir/search/search_query.h"

#include <algorithm>
#include <set>
#include <charconv>

#include "common/clock.h"
#include "fhir/definitions/definitions.h"
#include "fhir/search/ranges.h"

namespace fhir::search {
namespace {

using model::IssueType;

// Result parameters accepted and ignored: formatting is the REST layer's business.
bool IsIgnoredControl(std::string_view name) {
  return name == "_format" || name == "_pretty";
}

bool ModifierAllowed(ParamType type, std::string_view modifier) {
  if (modifier.empty() || modifier == "missing") return true;
  switch (type) {
    case ParamType::kString: return modifier == "exact" || modifier == "contains";
    case ParamType::kToken:
      return modifier == "not" || modifier == "text" || modifier == "in" ||
             modifier == "not-in" || modifier == "of-type" || modifier == "below" || modifier == "above";
    case ParamType::kUri: return modifier == "below" || modifier == "above";
    case ParamType::kReference:
      return modifier == "identifier" ||
             definitions::Definitions::R4().FindResource(modifier) != nullptr;
    default: return false;
  }
}

}  // namespace

bool HasPrefix(std::string_view v) {
  static const char* kPrefixes[] = {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"};
  if (v.size() < 3) return false;
  for (const char* p : kPrefixes) {
    if (v.substr(0, 2) == p) return true;
  }
  return false;
}

namespace {

// Checks a value's shape for its type, so malformed input is reported instead of matching
// nothing.
bool ValueIsWellFormed(ParamType type, std::string_view v, std::string& why) {
  std::string_view body = HasPrefix(v) ? v.substr(2) : v;
  switch (type) {
    case ParamType::kDate: {
      common::TimePoint lo, hi;
      if (DateRange(body, lo, hi)) return true;
      why = "expected a date such as 2026, 2026-11-28 or ge2026-11-28T10:00:00Z";
      return false;
    }
    case ParamType::kNumber: {
      std::string lo, hi;
      if (DecimalRange(body, lo, hi)) return true;
      why = "expected a number, optionally with a prefix such as gt";
      return false;
    }
    case ParamType::kQuantity: {
      std::string lo, hi;
      std::string_view number = body.substr(0, body.find('|'));
      if (DecimalRange(number, lo, hi)) return true;
      why = "expected [prefix]number[|system|code]";
      return false;
    }
    default:
      if (v.empty()) {
        why = "the value is empty";
        return false;
      }
      return true;
  }
}


constexpr int kMaxChainDepth = 4;

}  // namespace

bool IsSupportedComposite(const std::vector<const SearchParameter*>& components) {
  for (const SearchParameter* c : components) {
    if (c == nullptr) return false;
  }
  if (components.size() == 3) {
    return components[0]->type == ParamType::kToken && components[1]->type == ParamType::kNumber &&
           components[2]->type == ParamType::kNumber;
  }
  if (components.size() != 2) return false;
  ParamType second = components[1]->type;
  if (components[0]->type == ParamType::kReference) return second == ParamType::kToken;
  if (components[0]->type != ParamType::kToken) return false;
  return second == ParamType::kToken || second == ParamType::kQuantity ||
         second == ParamType::kDate || second == ParamType::kString;
}

namespace {

// Splits "name:modifier" (a chain tail after '.' is the caller's business).
std::pair<std::string, std::string> NameAndModifier(std::string_view key) {
  std::size_t colon = key.find(':');
  if (colon == std::string_view::npos) return {std::string(key), ""};
  return {std::string(key.substr(0, colon)), std::string(key.substr(colon + 1))};
}

std::optional<Clause> ParseClause(const std::string& type, std::string_view key,
                                  const std::string& value, const SearchParameterRegistry& registry,
                                  int depth, std::string& error);

// `_has:Observation:patient:code` -> resources referred to by matching Observations.
std::optional<Clause> ParseHas(const std::string& type, std::string_view key,
                               const std::string& value, const SearchParameterRegistry& registry,
                               int depth, std::string& error) {
  std::string_view rest = key.substr(5);  // after "_has:"
  std::size_t c1 = rest.find(':');
  std::size_t c2 = c1 == std::string_view::npos ? c1 : rest.find(':', c1 + 1);
  if (c2 == std::string_view::npos) {
    error = "expected _has:Type:reference-parameter:parameter";
    return std::nullopt;
  }
  Clause clause;
  clause.name = "_has";
  clause.has_type = std::string(rest.substr(0, c1));
  if (definitions::Definitions::R4().FindResource(clause.has_type) == nullptr) {
    error = "'" + clause.has_type + "' is not a resource type";
    return std::nullopt;
  }
  std::string ref_code(rest.substr(c1 + 1, c2 - c1 - 1));
  clause.has_param = registry.Find(clause.has_type, ref_code);
  if (clause.has_param == nullptr || clause.has_param->type != ParamType::kReference) {
    error = "'" + ref_code + "' is not a reference parameter of " + clause.has_type;
    return std::nullopt;
  }
  auto inner = ParseClause(clause.has_type, rest.substr(c2 + 1), value, registry, depth + 1, error);
  if (!inner) return std::nullopt;
  clause.chain = std::make_shared<Clause>(std::move(*inner));
  (void)type;
  return clause;
}

// `subject:Patient.name` -> resources whose subject is a Patient matching name.
std::optional<Clause> ParseChain(const std::string& type, std::string_view key,
                                 const std::string& value, const SearchParameterRegistry& registry,
                                 int depth, std::string& error) {
  std::size_t dot = key.find('.');
  auto [name, modifier] = NameAndModifier(key.substr(0, dot));
  std::string_view tail = key.substr(dot + 1);
  Clause clause;
  clause.name = name;
  clause.modifier = modifier;
  clause.param = registry.Find(type, name);
  if (clause.param == nullptr || clause.param->type != ParamType::kReference) {
    error = "'" + name + "' is not a reference parameter of " + type + ", so it cannot be chained";
    return std::nullopt;
  }
  std::string chained_name = NameAndModifier(tail.substr(0, tail.find('.'))).first;
  std::vector<std::string> candidates =
      modifier.empty() ? clause.param->targets : std::vector<std::string>{modifier};
  const SearchParameter* first = nullptr;
  for (const std::string& target : candidates) {
    if (definitions::Definitions::R4().FindResource(target) == nullptr) continue;
    bool special = chained_name == "_id" || chained_name == "_lastUpdated" || chained_name == "_has";
    const SearchParameter* p = special ? nullptr : registry.Find(target, chained_name);
    if (!special && p == nullptr) continue;
    if (p != nullptr && first != nullptr && p->type != first->type) continue;
    if (p != nullptr && first == nullptr) first = p;
    clause.target_types.push_back(target);
  }
  if (clause.target_types.empty()) {
    error = "no target of '" + name + "' has a parameter '" + chained_name + "'";
    return std::nullopt;
  }
  auto inner = ParseClause(clause.target_types.front(), tail, value, registry, depth + 1, error);
  if (!inner) return std::nullopt;
  clause.chain = std::make_shared<Clause>(std::move(*inner));
  return clause;
}

std::optional<Clause> ParseClause(const std::string& type, std::string_view key,
                                  const std::string& value, const SearchParameterRegistry& registry,
                                  int depth, std::string& error) {
  if (depth > kMaxChainDepth) {
    error = "chains are limited to " + std::to_string(kMaxChainDepth) + " levels";
    return std::nullopt;
  }
  if (key.substr(0, 5) == "_has:") return ParseHas(type, key, value, registry, depth, error);
  if (key.find('.') != std::string_view::npos) {
    return ParseChain(type, key, value, registry, depth, error);
  }
  auto [name, modifier] = NameAndModifier(key);
  Clause clause;
  clause.name = name;
  clause.modifier = modifier;
  if (name == "_id" || name == "_lastUpdated") {
    if (!modifier.empty() && modifier != "missing") {
      error = "modifier ':" + modifier + "' is not supported here";
      return std::nullopt;
    }
  } else {
    clause.param = registry.Find(type, name);
    if (clause.param == nullptr) {
      error = "unknown for " + type;
      return std::nullopt;
    }
    bool full_text = name == "_text" || name == "_content";
    if (full_text) {
      if (!modifier.empty()) {
        error = "full-text parameters take no modifier";
        return std::nullopt;
      }
    } else if (clause.param->type == ParamType::kSpecial || clause.param->expression.empty()) {
      error = "this parameter is not supported yet";
      return std::nullopt;
    }
    if (clause.param->type == ParamType::kComposite) {
      for (const auto& c : clause.param->components) {
        clause.components.push_back(registry.FindByUrl(c.definition));
      }
      if (!IsSupportedComposite(clause.components)) {
        error = "this composite parameter is not supported yet";
        return std::nullopt;
      }
      if (!modifier.empty() && modifier != "missing") {
        error = "composite parameters take no modifier";
        return std::nullopt;
      }
    }
    if (!ModifierAllowed(clause.param->type, modifier)) {
      error = "modifier ':" + modifier + "' is not supported for " +
              std::string(ParamTypeName(clause.param->type)) + " parameters";
      return std::nullopt;
    }
  }
  clause.values = SplitValues(value);
  if (modifier == "missing") {
    if (value != "true" && value != "false") {
      error = "expected true or false";
      return std::nullopt;
    }
    if (name == "_id" || name == "_lastUpdated") {
      error = "':missing' does not apply to " + name + " (every resource has one)";
      return std::nullopt;
    }
    return clause;
  }
  ParamType t = name == "_lastUpdated" ? ParamType::kDate
                : name == "_id"        ? ParamType::kToken
                                       : clause.param->type;
  std::string why;
  for (const std::string& v : clause.values) {
    if (modifier == "in" || modifier == "not-in") {
      if (definitions::Definitions::R4().ValueSetCodes(v) == nullptr) {
        error = "value set '" + v + "' is not available on this server (the value sets of R4 "
                "required bindings are)";
        return std::nullopt;
      }
      continue;
    }
    if ((modifier == "below" || modifier == "above") && t == ParamType::kToken &&
        !TokenSubsumption(v, modifier == "below").has_value()) {
      error = "'" + v + "': :" + modifier + " on a token follows the hierarchy of a code system Fovea ships, "
              "and none of them has this code (give system|code of a hierarchical R4 code system)";
      return std::nullopt;
    }
    if (modifier == "of-type" && std::count(v.begin(), v.end(), '|') < 2) {
      error = "'" + v + "': expected type-system|type-code|identifier-value";
      return std::nullopt;
    }
    if (t == ParamType::kComposite) {
      std::vector<std::string> parts = SplitComposite(v);
      bool ok = parts.size() == clause.components.size();
      for (std::size_t i = 0; ok && i < parts.size(); ++i) {
        ok = !parts[i].empty() && ValueIsWellFormed(clause.components[i]->type, parts[i], why);
      }
      if (!ok) {
        std::string shape;
        for (const SearchParameter* c : clause.components) {
          shape += (shape.empty() ? "" : "$") + std::string(ParamTypeName(c->type));
        }
        error = "'" + v + "': expected " + shape + (why.empty() ? "" : " (" + why + ")");
        return std::nullopt;
      }
      continue;
    }
    if (!ValueIsWellFormed(t, v, why)) {
      error = "'" + v + "': " + why;
      return std::nullopt;
    }
  }
  return clause;
}

// `Observation:subject[:Patient]`, `*`, with the :iterate modifier.
std::optional<Include> ParseInclude(const std::string& type, bool reverse,
                                    const std::string& modifier, const std::string& value,
                                    const SearchParameterRegistry& registry, std::string& error) {
  Include inc;
  inc.reverse = reverse;
  if (!modifier.empty() && modifier != "iterate" && modifier != "recurse") {
    error = "only the :iterate modifier is supported";
    return std::nullopt;
  }
  inc.iterate = !modifier.empty();
  if (value == "*") {
    inc.source_type = type;
    inc.param = "*";
    return inc;
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = value.find(':', start);
    parts.push_back(value.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) {
    error = "expected SourceType:parameter[:TargetType]";
    return std::nullopt;
  }
  inc.source_type = parts[0];
  inc.param = parts[1];
  if (parts.size() == 3) inc.target_type = parts[2];
  if (definitions::Definitions::R4().FindResource(inc.source_type) == nullptr ||
      (!inc.target_type.empty() &&
       definitions::Definitions::R4().FindResource(inc.target_type) == nullptr)) {
    error = "unknown resource type";
    return std::nullopt;
  }
  if (inc.param != "*") {
    const SearchParameter* p = registry.Find(inc.source_type, inc.param);
    if (p == nullptr || p->type != ParamType::kReference) {
      error = "'" + inc.param + "' is not a reference parameter of " + inc.source_type;
      return std::nullopt;
    }
  }
  if (!reverse && !inc.iterate && inc.source_type != type) {
    error = "_include must start with the searched type " + type + " (or use :iterate)";
    return std::nullopt;
  }
  return inc;
}

}  // namespace

std::vector<DateWindow> FindDateWindows(const std::vector<Clause>& clauses) {
  // A clause's one bound: its time point and whether it is inclusive; nullopt if not a bound.
  struct Bound {
    common::TimePoint at;
    bool inclusive;
    bool lower;
  };
  auto bound = [](const Clause& c) -> std::optional<Bound> {
    if (c.param == nullptr || c.param->type != ParamType::kDate || !c.modifier.empty() ||
        c.chain || !c.has_type.empty() || c.values.size() != 1 || !HasPrefix(c.values[0])) {
      return std::nullopt;
    }
    std::string prefix = c.values[0].substr(0, 2);
    common::TimePoint lo, hi;
    if (!DateRange(std::string_view(c.values[0]).substr(2), lo, hi)) return std::nullopt;
    if (prefix == "ge") return Bound{lo, true, true};    // high >= lo
    if (prefix == "gt") return Bound{hi, false, true};   // high > hi
    if (prefix == "lt") return Bound{lo, false, false};  // low < lo
    if (prefix == "le") return Bound{hi, true, false};   // low <= hi
    return std::nullopt;
  };
  std::vector<DateWindow> out;
  std::vector<bool> used(clauses.size(), false);
  for (std::size_t i = 0; i < clauses.size(); ++i) {
    std::optional<Bound> a = bound(clauses[i]);
    if (used[i] || !a || !a->lower) continue;
    for (std::size_t j = 0; j < clauses.size(); ++j) {
      if (used[j] || j == i || clauses[j].param != clauses[i].param) continue;
      std::optional<Bound> b = bound(clauses[j]);
      if (!b || b->lower) continue;
      bool empty = a->at > b->at || (a->at == b->at && !(a->inclusive && b->inclusive));
      if (empty) continue;  // no value can lie in it: left as two conditions
      out.push_back({i, j});
      used[i] = used[j] = true;
      break;
    }
  }
  return out;
}

// Removes the remaining search escapes (\| \$ \\).
std::string Unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

std::optional<SubsumedCodes> TokenSubsumption(std::string_view value, bool below) {
  const auto& defs = definitions::Definitions::R4();
  std::string system, code;
  std::vector<std::string> systems;
  if (SplitPipe(value, system, code)) {
    code = Unescape(code);
    systems = {system};
  } else {
    code = Unescape(value);
    systems = defs.HierarchiesWithCode(code);
  }
  std::set<std::string> codes;
  for (const std::string& s : systems) {
    std::vector<std::string> found = below ? defs.Subsumed(s, code) : defs.Subsuming(s, code);
    codes.insert(found.begin(), found.end());
  }
  if (codes.empty()) return std::nullopt;
  return SubsumedCodes{system, {codes.begin(), codes.end()}};
}

// Splits at the first unescaped '|'; false when there is none.
std::vector<std::string> SplitComposite(std::string_view s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == '$') {
      parts.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.emplace_back(s.substr(start));
  return parts;
}

bool SplitPipe(std::string_view s, std::string& left, std::string& right) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] == '|') {
      left = Unescape(s.substr(0, i));
      right = std::string(s.substr(i + 1));
      return true;
    }
  }
  return false;
}

std::vector<std::string> SplitValues(std::string_view value) {
  std::vector<std::string> out(1);
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size() && value[i + 1] == ',') {
      out.back() += ',';
      ++i;
    } else if (value[i] == '\\' && i + 1 < value.size()) {
      out.back() += value[i];
      out.back() += value[i + 1];
      ++i;
    } else if (value[i] == ',') {
      out.emplace_back();
    } else {
      out.back() += value[i];
    }
  }
  return out;
}

SearchQuery ParseSearch(const std::string& type,
                        const std::vector<std::pair<std::string, std::string>>& params,
                        const SearchParameterRegistry& registry, const SearchOptions& options,
                        model::IssueSink& issues) {
  SearchQuery q;
  q.type = type;
  q.count = options.default_count;
  auto problem = [&](const std::string& name, const std::string& message) {
    model::Issue issue;
    issue.severity = options.strict ? model::IssueSeverity::kError : model::IssueSeverity::kWarning;
    issue.type = options.strict ? IssueType::kInvalid : IssueType::kNotSupported;
    issue.diagnostics = "Search parameter '" + name + "': " + message +
                        (options.strict ? "" : " (ignored)");
    issues.Report(std::move(issue));
  };
  for (const auto& [raw_name, value] : params) {
    std::string name = raw_name;
    std::string modifier;
    if (auto colon = name.find(':'); colon != std::string::npos) {
      modifier = name.substr(colon + 1);
      name.resize(colon);
    }
    if (name == "_count") {
      int n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || n < 0) {
        problem(name, "expected a non-negative whole number");
        continue;
      }
      q.count = std::min(n, options.max_count);
      q.applied.emplace_back("_count", std::to_string(q.count));
      continue;
    }
    if (name == "_sort") {
      std::vector<SortKey> keys;
      bool ok = true;
      for (const std::string& key : SplitValues(value)) {
        SortKey k;
        k.descending = !key.empty() && key[0] == '-';
        k.name = k.descending ? key.substr(1) : key;
        if (k.name != "_id" && k.name != "_lastUpdated") {
          const SearchParameter* p = registry.Find(type, k.name);
          bool sortable = p != nullptr &&
                          (p->type == ParamType::kDate || p->type == ParamType::kString ||
                           p->type == ParamType::kToken || p->type == ParamType::kNumber ||
                           p->type == ParamType::kQuantity);
          if (!sortable) {
            problem(name, "cannot sort by '" + k.name + "' (sorting by _id, _lastUpdated and "
                                                        "date, string, token, number and quantity "
                                                        "parameters is supported)");
            ok = false;
            break;
          }
          k.param = p;
        }
        keys.push_back(std::move(k));
      }
      if (ok) {
        q.sort = std::move(keys);
        q.applied.emplace_back("_sort", value);
      }
      continue;
    }
    if (name == "_total") {
      if (value == "none") {
        q.total = TotalMode::kNone;
      } else if (value == "estimate") {
        q.total = TotalMode::kEstimate;
      } else if (value == "accurate") {
        q.total = TotalMode::kAccurate;
      } else {
        problem(name, "expected none, estimate or accurate");
        continue;
      }
      q.applied.emplace_back("_total", value);
      continue;
    }
    if (name == "_summary") {
      // count changes the search; the other modes shape each resource (fhir/rest/subsetting).
      if (value == "count") {
        q.summary_count = true;
      } else if (value != "true" && value != "text" && value != "data" && value != "false") {
        problem(name, "expected true, text, data, count or false");
        continue;
      }
      q.applied.emplace_back("_summary", value);
      continue;
    }
    if (name == "_elements") {
      q.applied.emplace_back("_elements", value);
      continue;
    }
    if (name == "_type") {
      std::vector<std::string> types;
      bool ok = true;
      for (const std::string& t : SplitValues(value)) {
        if (definitions::Definitions::R4().FindResource(t) == nullptr) {
          problem(name, "'" + t + "' is not a resource type");
          ok = false;
          break;
        }
        types.push_back(t);
      }
      if (!ok) continue;
      if (!type.empty()) {
        problem(name, "_type applies to system-level search only");
        continue;
      }
      q.types = std::move(types);
      q.applied.emplace_back("_type", value);
      continue;
    }
    if (name == "_cursor") {
      q.cursor = value;
      continue;
    }
    if (IsIgnoredControl(name)) continue;
    if (name == "_include" || name == "_revinclude") {
      std::string error;
      std::optional<Include> include = ParseInclude(type, name == "_revinclude", modifier, value,
                                                    registry, error);
      if (!include) {
        problem(raw_name, error);
        continue;
      }
      q.includes.push_back(std::move(*include));
      q.applied.emplace_back(raw_name, value);
      continue;
    }

    std::string error;
    std::optional<Clause> clause = ParseClause(type, raw_name, value, registry, 0, error);
    if (!clause) {
      problem(raw_name, error);
      continue;
    }
    q.applied.emplace_back(raw_name, value);
    q.clauses.push_back(std::move(*clause));
  }
  return q;
}

}  // namespace fhir::search
