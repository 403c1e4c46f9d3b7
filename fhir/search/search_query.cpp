#include "fhir/search/search_query.h"

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
    case ParamType::kToken: return modifier == "not" || modifier == "text";
    case ParamType::kUri: return modifier == "below" || modifier == "above";
    case ParamType::kReference:
      return definitions::Definitions::R4().FindResource(modifier) != nullptr;
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

}  // namespace

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
          if (p == nullptr || p->type != ParamType::kDate) {
            problem(name, "cannot sort by '" + k.name + "' (sorting by _id, _lastUpdated and "
                                                        "date parameters is supported)");
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
      if (value == "count") {
        q.summary_count = true;
        q.applied.emplace_back("_summary", value);
      } else if (value != "false") {
        problem(name, "only _summary=count and _summary=false are supported");
      }
      continue;
    }
    if (name == "_cursor") {
      q.cursor = value;
      continue;
    }
    if (IsIgnoredControl(name)) continue;

    Clause clause;
    clause.name = name;
    clause.modifier = modifier;
    if (name == "_id" || name == "_lastUpdated") {
      if (!modifier.empty()) {
        problem(raw_name, "modifier ':" + modifier + "' is not supported here");
        continue;
      }
    } else {
      clause.param = registry.Find(type, name);
      if (clause.param == nullptr) {
        problem(raw_name, "unknown for " + type);
        continue;
      }
      if (clause.param->type == ParamType::kComposite ||
          clause.param->type == ParamType::kSpecial || clause.param->expression.empty()) {
        problem(raw_name, "this parameter is not supported yet");
        continue;
      }
      if (!ModifierAllowed(clause.param->type, modifier)) {
        problem(raw_name, "modifier ':" + modifier + "' is not supported for " +
                              std::string(ParamTypeName(clause.param->type)) + " parameters");
        continue;
      }
    }
    clause.values = SplitValues(value);
    if (modifier == "missing") {
      if (value != "true" && value != "false") {
        problem(raw_name, "expected true or false");
        continue;
      }
    } else {
      ParamType t = name == "_lastUpdated" ? ParamType::kDate
                    : name == "_id"        ? ParamType::kToken
                                           : clause.param->type;
      std::string why;
      bool ok = true;
      for (const std::string& v : clause.values) {
        if (!ValueIsWellFormed(t, v, why)) {
          problem(raw_name, "'" + v + "': " + why);
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    q.applied.emplace_back(raw_name, value);
    q.clauses.push_back(std::move(clause));
  }
  return q;
}

}  // namespace fhir::search
