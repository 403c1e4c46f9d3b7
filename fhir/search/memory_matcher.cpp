#include "fhir/search/memory_matcher.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <utility>

#include "fhir/model/ids.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/ranges.h"

namespace fhir::search {

namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

template <class Row>
std::vector<const Row*> RowsOf(const std::vector<Row>& rows, const std::string& param) {
  std::vector<const Row*> out;
  for (const Row& r : rows) {
    if (r.param == param) out.push_back(&r);
  }
  return out;
}

bool StringMatches(const Clause& c, const StringRow& r, const std::string& v) {
  std::string value = Unescape(v);
  if (c.modifier == "exact") return r.exact == value;
  std::string needle = NormalizeString(value);
  if (c.modifier == "contains") return r.normalized.find(needle) != std::string::npos;
  return StartsWith(r.normalized, needle);
}

bool TokenMatches(const Clause& c, const TokenRow& r, const std::string& v) {
  if (c.modifier == "text") {
    std::string needle = NormalizeString(Unescape(v));
    return StartsWith(NormalizeString(r.text), needle);
  }
  if (c.modifier == "below" || c.modifier == "above") {
    auto subsumed = TokenSubsumption(v, c.modifier == "below");
    if (!subsumed.has_value()) return false;
    if (!subsumed->system.empty() && (!r.has_system || r.system != subsumed->system)) return false;
    return std::binary_search(subsumed->codes.begin(), subsumed->codes.end(), r.code);
  }
  std::string system, code;
  if (!SplitPipe(v, system, code)) return r.code == Unescape(v);
  code = Unescape(code);
  if (system.empty()) return !r.has_system && r.code == code;
  if (code.empty()) return r.has_system && r.system == system;
  return r.has_system && r.system == system && r.code == code;
}

bool ReferenceMatches(const Clause& c, const ReferenceRow& r, const std::string& raw,
                      const std::string& base_url) {
  std::string v = Unescape(raw);
  if (!c.modifier.empty()) return r.target_type == c.modifier && r.target_id == v;
  if (!base_url.empty() && StartsWith(v, base_url + "/")) v = v.substr(base_url.size() + 1);
  if (v.find("://") != std::string::npos || StartsWith(v, "urn:")) return r.url == v;
  v.resize(model::WithoutHistory(v).size());  // a prefix
  std::size_t slash = v.find('/');
  if (slash == std::string::npos) return r.target_id == v;
  return r.target_type == v.substr(0, slash) && r.target_id == v.substr(slash + 1);
}

bool UriMatches(const Clause& c, const UriRow& r, const std::string& v) {
  std::string value = Unescape(v);
  if (c.modifier == "below") return StartsWith(r.value, value);
  if (c.modifier == "above") return StartsWith(value, r.value);
  return r.value == value;
}

// A searched value's comparison prefix ("eq" when it has none) and the value after it.
std::pair<std::string, std::string> SplitPrefix(const std::string& v) {
  if (HasPrefix(v)) return {v.substr(0, 2), v.substr(2)};
  return {"eq", v};
}

// A stored value as the SQL's range test over sp_date reads it (sql_builder.cpp,
// StoredDateRange): a value whose end precedes its start counts as its start. Only an invalid
// Period has one.
DateRow AsRange(const DateRow& r) { return DateRow{r.param, r.low, std::max(r.low, r.high)}; }

bool DateMatches(const DateRow& r, const std::string& v) {
  auto [prefix, value] = SplitPrefix(v);
  common::TimePoint lo, hi;
  if (!DateRange(value, lo, hi)) return false;
  if (prefix == "eq") return r.low >= lo && r.high <= hi;
  if (prefix == "ne") return !(r.low >= lo && r.high <= hi);
  if (prefix == "gt") return r.high > hi;
  if (prefix == "lt") return r.low < lo;
  if (prefix == "ge") return r.high >= lo;
  if (prefix == "le") return r.low <= hi;
  if (prefix == "sa") return r.low > hi;
  if (prefix == "eb") return r.high < lo;
  if (prefix == "ap") return r.low <= hi && r.high >= lo;
  return false;
}

// A decimal text as a long double. strtold rounds correctly, so the order and equality of
// decimals survive (two that differ only beyond ~18 significant digits compare equal, where
// PostgreSQL's numeric would tell them apart).
long double Decimal(const std::string& text) { return std::strtold(text.c_str(), nullptr); }

// A stored number against the searched one, as sql_builder's NumberSql: eq/ne use the searched
// value's significant figures, the ordering prefixes the value itself, ap allows 10%.
bool NumberMatches(const std::string& stored, const std::string& v) {
  auto [prefix, value] = SplitPrefix(v);
  std::string lo, hi;
  if (!DecimalRange(value, lo, hi)) return false;
  long double x = Decimal(stored);
  long double searched = Decimal(value);
  bool within = x >= Decimal(lo) && x < Decimal(hi);
  if (prefix == "eq") return within;
  if (prefix == "ne") return !within;
  if (prefix == "gt" || prefix == "sa") return x > searched;
  if (prefix == "lt" || prefix == "eb") return x < searched;
  if (prefix == "ge") return x >= searched;
  if (prefix == "le") return x <= searched;
  return x >= searched * 0.9L && x <= searched * 1.1L;  // ap (BETWEEN, as in SQL)
}

// A composite's token$quantity second component: number[|system|code] as the composite SQL
// compares it (stored value and units as written, no conversion).
bool CompositeQuantityMatches(const QuantityRow& r, const std::string& v) {
  std::string number = v, rest, system, code;
  if (SplitPipe(v, number, rest)) {
    if (!SplitPipe(rest, system, code)) code = Unescape(rest);
    code = Unescape(code);
  }
  if (!NumberMatches(r.value, number)) return false;
  if (!system.empty() && r.system != system) return false;
  if (code.empty()) return true;
  return system.empty() ? r.code == code || r.unit == code : r.code == code;
}

// Whether the rows of this clause's parameter match one value (`any`: at least one row).
template <class Row, class Test>
bool AnyRow(const std::vector<Row>& rows, const Clause& c, const Test& test) {
  for (const Row* r : RowsOf(rows, c.param->code)) {
    if (test(*r)) return true;
  }
  return false;
}

template <class Row>
bool HasRows(const std::vector<Row>& rows, const Clause& c) {
  return !RowsOf(rows, c.param->code).empty();
}

bool ClauseHasRows(const Clause& c, const IndexRows& rows) {
  switch (c.param->type) {
    case ParamType::kString: return HasRows(rows.strings, c);
    case ParamType::kToken: return HasRows(rows.tokens, c);
    case ParamType::kReference: return HasRows(rows.references, c);
    case ParamType::kUri: return HasRows(rows.uris, c);
    case ParamType::kDate: return HasRows(rows.dates, c);
    case ParamType::kNumber: return HasRows(rows.numbers, c);
    case ParamType::kComposite:
      return HasRows(rows.composite_tokens, c) || HasRows(rows.composite_quantities, c) ||
             HasRows(rows.composite_dates, c) || HasRows(rows.composite_strings, c) ||
             HasRows(rows.composite_numbers, c) || HasRows(rows.composite_references, c);
    default: return false;
  }
}

// One composite value ("first$second[$third]"): some row of the parameter whose components,
// taken from one element, match each part.
bool CompositeMatches(const Clause& c, const std::string& v, const IndexRows& rows,
                      const std::string& base_url) {
  std::vector<std::string> parts = SplitComposite(v);
  if (parts.size() != c.components.size()) return false;
  std::vector<Clause> component(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    component[i].param = c.components[i];
    component[i].name = c.components[i]->code;
  }
  if (c.components[0]->type == ParamType::kReference) {
    return AnyRow(rows.composite_references, c, [&](const CompositeReferenceRow& r) {
      return ReferenceMatches(component[0], r.first, parts[0], base_url) &&
             TokenMatches(component[1], r.second, parts[1]);
    });
  }
  if (parts.size() == 3) {
    return AnyRow(rows.composite_numbers, c, [&](const CompositeNumberRow& r) {
      return TokenMatches(component[0], r.first, parts[0]) &&
             NumberMatches(r.second.value, parts[1]) && NumberMatches(r.third.value, parts[2]);
    });
  }
  auto first = [&](const TokenRow& r) { return TokenMatches(component[0], r, parts[0]); };
  switch (c.components[1]->type) {
    case ParamType::kToken:
      return AnyRow(rows.composite_tokens, c, [&](const CompositeRow<TokenRow>& r) {
        return first(r.first) && TokenMatches(component[1], r.second, parts[1]);
      });
    case ParamType::kQuantity:
      return AnyRow(rows.composite_quantities, c, [&](const CompositeRow<QuantityRow>& r) {
        return first(r.first) && CompositeQuantityMatches(r.second, parts[1]);
      });
    case ParamType::kDate:
      return AnyRow(rows.composite_dates, c, [&](const CompositeRow<DateRow>& r) {
        return first(r.first) && DateMatches(r.second, parts[1]);
      });
    case ParamType::kString:
      return AnyRow(rows.composite_strings, c, [&](const CompositeRow<StringRow>& r) {
        return first(r.first) && StringMatches(component[1], r.second, parts[1]);
      });
    default:
      return false;
  }
}

bool ValueMatches(const Clause& c, const std::string& v, const IndexRows& rows,
                  const std::string& base_url) {
  switch (c.param->type) {
    case ParamType::kString:
      return AnyRow(rows.strings, c, [&](const StringRow& r) { return StringMatches(c, r, v); });
    case ParamType::kToken:
      return AnyRow(rows.tokens, c, [&](const TokenRow& r) { return TokenMatches(c, r, v); });
    case ParamType::kReference:
      return AnyRow(rows.references, c,
                    [&](const ReferenceRow& r) { return ReferenceMatches(c, r, v, base_url); });
    case ParamType::kUri:
      return AnyRow(rows.uris, c, [&](const UriRow& r) { return UriMatches(c, r, v); });
    case ParamType::kDate:
      return AnyRow(rows.dates, c, [&](const DateRow& r) {
        return DateMatches(SplitPrefix(v).first == "eq" ? AsRange(r) : r, v);  // eq: a containment
      });
    case ParamType::kNumber:
      return AnyRow(rows.numbers, c, [&](const NumberRow& r) { return NumberMatches(r.value, v); });
    case ParamType::kComposite:
      return CompositeMatches(c, v, rows, base_url);
    default:
      return false;
  }
}

bool ClauseMatches(const Clause& c, const std::string& id, const IndexRows& rows,
                   const std::string& base_url) {
  if (c.param == nullptr) {  // _id (CheckMatchable let nothing else through)
    return std::find(c.values.begin(), c.values.end(), id) != c.values.end();
  }
  if (c.modifier == "missing") {
    bool missing = !ClauseHasRows(c, rows);
    return std::any_of(c.values.begin(), c.values.end(),
                       [&](const std::string& v) { return (v == "true") == missing; });
  }
  if (c.modifier == "not") {
    Clause plain = c;
    plain.modifier.clear();
    return std::none_of(c.values.begin(), c.values.end(), [&](const std::string& v) {
      return ValueMatches(plain, v, rows, base_url);
    });
  }
  return std::any_of(c.values.begin(), c.values.end(),
                     [&](const std::string& v) { return ValueMatches(c, v, rows, base_url); });
}

}  // namespace

common::Status CheckMatchable(const SearchQuery& query) {
  auto refuse = [](const Clause& c, const std::string& why) {
    return common::Status(common::StatusCode::kNotSupported,
                          "The criterion '" + c.name + (c.modifier.empty() ? "" : ":" + c.modifier) +
                              "' cannot be evaluated for notifications: " + why);
  };
  for (const Clause& c : query.clauses) {
    if (c.chain || !c.has_type.empty()) return refuse(c, "chained and _has criteria are not supported");
    if (c.param == nullptr) {
      if (c.name != "_id") return refuse(c, "only _id among the special parameters is supported");
      continue;
    }
    if (c.name == "_text" || c.name == "_content") return refuse(c, "full-text search is not supported");
    switch (c.param->type) {
      case ParamType::kString:
      case ParamType::kToken:
      case ParamType::kReference:
      case ParamType::kUri:
      case ParamType::kDate:
      case ParamType::kNumber:
        break;
      case ParamType::kComposite:  // every shape the parser accepts (IsSupportedComposite)
        break;
      default:
        return refuse(c, std::string(ParamTypeName(c.param->type)) + " parameters are not supported");
    }
    static const char* const kModifiers[] = {"", "exact", "contains", "text", "not", "missing", "below", "above"};
    bool known = std::find(std::begin(kModifiers), std::end(kModifiers), c.modifier) != std::end(kModifiers);
    bool reference_type = c.param->type == ParamType::kReference && !c.modifier.empty() &&
                          std::isupper(static_cast<unsigned char>(c.modifier.front()));
    if (!known && !reference_type) return refuse(c, "the modifier is not supported");
  }
  return common::Status::Ok();
}

bool MatchesInMemory(const SearchQuery& query, const std::string& id, const IndexRows& rows) {
  // A date window's two clauses apply to one value (FindDateWindows), as in the SQL.
  std::vector<bool> in_window(query.clauses.size(), false);
  for (const DateWindow& w : FindDateWindows(query.clauses)) {
    in_window[w.lower] = in_window[w.upper] = true;
    const Clause& lower = query.clauses[w.lower];
    const Clause& upper = query.clauses[w.upper];
    bool any = AnyRow(rows.dates, lower, [&](const DateRow& r) {
      DateRow value = AsRange(r);
      return DateMatches(value, lower.values[0]) && DateMatches(value, upper.values[0]);
    });
    if (!any) return false;
  }
  for (std::size_t i = 0; i < query.clauses.size(); ++i) {
    if (!in_window[i] && !ClauseMatches(query.clauses[i], id, rows, query.base_url)) return false;
  }
  return true;
}

}  // namespace fhir::search
