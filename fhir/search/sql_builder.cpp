#include "fhir/search/sql_builder.h"

#include "fhir/search/index_extractor.h"
#include "fhir/search/ranges.h"

namespace fhir::search {
namespace {

// The index table of each parameter type: the only table names that reach SQL.
const char* TableFor(ParamType t) {
  switch (t) {
    case ParamType::kString: return "sp_string";
    case ParamType::kToken: return "sp_token";
    case ParamType::kReference: return "sp_reference";
    case ParamType::kDate: return "sp_date";
    case ParamType::kNumber: return "sp_number";
    case ParamType::kQuantity: return "sp_quantity";
    case ParamType::kUri: return "sp_uri";
    default: return nullptr;
  }
}

std::string EscapeLike(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
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

// Splits at the first unescaped '|'; false when there is none.
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

class Builder {
 public:
  explicit Builder(const SearchQuery& q) : q_(q) {}

  common::Result<CompiledSearch> Build() {
    std::string type_param = Param(q_.type);
    std::string where = "r.type = " + type_param + " AND NOT r.deleted";
    for (const Clause& c : q_.clauses) where += " AND " + ClauseSql(c);

    CompiledSearch out;
    out.count.text = "SELECT count(*) FROM resource r WHERE " + where;
    out.count.params = params_;

    // Sort keys, then id as the final tie-breaker, so every row has a unique position.
    std::string keys;
    std::vector<std::pair<std::string, bool>> order;  // (column, descending)
    for (std::size_t i = 0; i < q_.sort.size(); ++i) {
      const SortKey& k = q_.sort[i];
      if (k.name == "_id") continue;  // id is always the last key
      std::string col = "k" + std::to_string(i);
      keys += ", " + SortExpression(k, type_param) + " AS " + col;
      order.emplace_back(col, k.descending);
    }
    bool id_descending = false;
    for (const SortKey& k : q_.sort) {
      if (k.name == "_id") id_descending = k.descending;
    }
    order.emplace_back("id", id_descending);
    out.sort_keys = order.size() - 1;

    std::string inner =
        "SELECT r.id, r.version, (extract(epoch FROM r.last_updated) * 1000000)::bigint AS lu,"
        " r.content" + keys + " FROM resource r WHERE " + where;
    std::string sql = "SELECT id, version, lu, content";
    for (std::size_t i = 0; i + 1 < order.size(); ++i) sql += ", " + order[i].first + "::text";
    sql += " FROM (" + inner + ") s";
    if (q_.cursor) {
      std::vector<std::string> values;
      if (!DecodeCursor(*q_.cursor, values) || values.size() != order.size()) {
        return common::InvalidError("The paging cursor is malformed or belongs to another search");
      }
      sql += " WHERE " + CursorCondition(order, values);
    }
    sql += " ORDER BY ";
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += order[i].first + (order[i].second ? " DESC" : " ASC");
    }
    sql += " LIMIT " + Param(std::to_string(q_.count + 1));
    out.page.text = std::move(sql);
    out.page.params = params_;
    return out;
  }

  static bool DecodeCursor(std::string_view cursor, std::vector<std::string>& values) {
    // Values joined by '~', each with '~' and '!' escaped as "!t" and "!e".
    values.assign(1, "");
    for (std::size_t i = 0; i < cursor.size(); ++i) {
      char c = cursor[i];
      if (c == '~') {
        values.emplace_back();
      } else if (c == '!') {
        if (i + 1 >= cursor.size()) return false;
        char e = cursor[++i];
        if (e == 't') values.back() += '~';
        else if (e == 'e') values.back() += '!';
        else return false;
      } else {
        values.back() += c;
      }
    }
    return true;
  }

 private:
  std::string Param(std::string value) {
    params_.emplace_back(std::move(value));
    return "$" + std::to_string(params_.size());
  }

  // Sorting by a date parameter uses the earliest start (ascending) or the latest end
  // (descending) of the resource's values; resources without one sort last.
  std::string SortExpression(const SortKey& k, const std::string& type_param) {
    if (k.name == "_lastUpdated") return "r.last_updated";
    std::string p = Param(k.param->code);
    if (k.descending) {
      return "COALESCE((SELECT max(sp.high) FROM sp_date sp WHERE sp.type = " + type_param +
             " AND sp.id = r.id AND sp.param = " + p + "), '-infinity')";
    }
    return "COALESCE((SELECT min(sp.low) FROM sp_date sp WHERE sp.type = " + type_param +
           " AND sp.id = r.id AND sp.param = " + p + "), 'infinity')";
  }

  // Rows strictly after the cursor in the sort order (mixed directions allowed).
  std::string CursorCondition(const std::vector<std::pair<std::string, bool>>& order,
                              const std::vector<std::string>& values) {
    std::string any;
    for (std::size_t i = 0; i < order.size(); ++i) {
      std::string term = "(";
      for (std::size_t j = 0; j < i; ++j) {
        term += Column(order[j].first) + " = " + Typed(order[j].first, values[j]) + " AND ";
      }
      term += Column(order[i].first) + (order[i].second ? " < " : " > ") +
              Typed(order[i].first, values[i]) + ")";
      any += (any.empty() ? "" : " OR ") + term;
    }
    return "(" + any + ")";
  }

  static std::string Column(const std::string& col) { return "s." + col; }

  std::string Typed(const std::string& col, const std::string& value) {
    return col == "id" ? Param(value) + "::text" : Param(value) + "::timestamptz";
  }

  std::string ClauseSql(const Clause& c) {
    if (c.name == "_id") {
      std::string any;
      for (const std::string& v : c.values) any += (any.empty() ? "" : " OR ") + ("r.id = " + Param(Unescape(v)));
      return "(" + any + ")";
    }
    if (c.name == "_lastUpdated") {
      std::string any;
      for (const std::string& v : c.values) any += (any.empty() ? "" : " OR ") + PointDate("r.last_updated", v);
      return "(" + any + ")";
    }
    const char* table = TableFor(c.param->type);
    std::string prefix = std::string("SELECT 1 FROM ") + table + " sp WHERE sp.type = r.type AND sp.id = r.id AND sp.param = " + Param(c.param->code);
    if (c.modifier == "missing") {
      return (c.values.front() == "true" ? "NOT EXISTS (" : "EXISTS (") + prefix + ")";
    }
    std::string any;
    for (const std::string& v : c.values) any += (any.empty() ? "" : " OR ") + ValueSql(c, v);
    if (c.modifier == "not") return "NOT EXISTS (" + prefix + " AND (" + any + "))";
    return "EXISTS (" + prefix + " AND (" + any + "))";
  }

  std::string ValueSql(const Clause& c, const std::string& v) {
    switch (c.param->type) {
      case ParamType::kString: {
        if (c.modifier == "exact") return "sp.exact = " + Param(Unescape(v));
        std::string needle = EscapeLike(NormalizeString(Unescape(v)));
        if (c.modifier == "contains") return "sp.normalized LIKE " + Param("%" + needle + "%");
        return "sp.normalized LIKE " + Param(needle + "%");
      }
      case ParamType::kToken: {
        if (c.modifier == "text") {
          return "sp.text ILIKE " + Param(EscapeLike(Unescape(v)) + "%");
        }
        std::string system, code;
        if (!SplitPipe(v, system, code)) return "sp.code = " + Param(Unescape(v));
        code = Unescape(code);
        if (system.empty()) return "(sp.system IS NULL AND sp.code = " + Param(code) + ")";
        if (code.empty()) return "sp.system = " + Param(system);
        return "(sp.system = " + Param(system) + " AND sp.code = " + Param(code) + ")";
      }
      case ParamType::kReference: return ReferenceSql(c, Unescape(v));
      case ParamType::kDate: return RangeDate(v);
      case ParamType::kNumber: return NumberSql("sp.value", v);
      case ParamType::kQuantity: {
        std::string number = v, rest;
        std::string system, code;
        if (SplitPipe(v, number, rest)) {
          if (!SplitPipe(rest, system, code)) code = Unescape(rest);
          code = Unescape(code);
        }
        std::string sql = NumberSql("sp.value", number);
        if (!system.empty()) sql += " AND sp.system = " + Param(system);
        if (!code.empty()) {
          std::string p = Param(code);
          sql += system.empty() ? " AND (sp.code = " + p + " OR sp.unit = " + p + ")"
                                : " AND sp.code = " + p;
        }
        return "(" + sql + ")";
      }
      case ParamType::kUri: {
        std::string value = Unescape(v);
        if (c.modifier == "below") return "sp.value LIKE " + Param(EscapeLike(value) + "%");
        if (c.modifier == "above") return Param(value) + " LIKE replace(replace(replace(sp.value, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'";
        return "sp.value = " + Param(value);
      }
      default: return "false";
    }
  }

  std::string ReferenceSql(const Clause& c, std::string v) {
    if (!c.modifier.empty()) {  // :Patient
      return "(sp.target_type = " + Param(c.modifier) + " AND sp.target_id = " + Param(v) + ")";
    }
    if (!q_.base_url.empty() && v.rfind(q_.base_url + "/", 0) == 0) v = v.substr(q_.base_url.size() + 1);
    bool absolute = v.find("://") != std::string::npos || v.rfind("urn:", 0) == 0;
    if (absolute) return "sp.url = " + Param(v);
    if (auto hist = v.find("/_history/"); hist != std::string::npos) v.resize(hist);
    std::size_t slash = v.find('/');
    if (slash == std::string::npos) return "sp.target_id = " + Param(v);
    return "(sp.target_type = " + Param(v.substr(0, slash)) + " AND sp.target_id = " +
           Param(v.substr(slash + 1)) + ")";
  }

  static std::pair<std::string, std::string> SplitPrefix(const std::string& v) {
    if (HasPrefix(v)) return {v.substr(0, 2), v.substr(2)};
    return {"eq", v};
  }

  // The searched value's implicit range, as SQL parameter placeholders created on first use
  // (PostgreSQL cannot type a parameter that the statement never mentions).
  class DateBounds {
   public:
    DateBounds(Builder& b, const std::string& value) : b_(b) { DateRange(value, lo_, hi_); }
    const std::string& lo() {
      if (lo_param_.empty()) lo_param_ = b_.Param(common::FormatInstantMicros(lo_)) + "::timestamptz";
      return lo_param_;
    }
    const std::string& hi() {
      if (hi_param_.empty()) hi_param_ = b_.Param(common::FormatInstantMicros(hi_)) + "::timestamptz";
      return hi_param_;
    }

   private:
    Builder& b_;
    common::TimePoint lo_, hi_;
    std::string lo_param_, hi_param_;
  };

  // A stored range [sp.low, sp.high] against the searched value's implicit range.
  std::string RangeDate(const std::string& v) {
    auto [prefix, value] = SplitPrefix(v);
    DateBounds b(*this, value);
    if (prefix == "ne") return "NOT (sp.low >= " + b.lo() + " AND sp.high <= " + b.hi() + ")";
    if (prefix == "gt") return "sp.high > " + b.hi();
    if (prefix == "lt") return "sp.low < " + b.lo();
    if (prefix == "ge") return "sp.high >= " + b.lo();
    if (prefix == "le") return "sp.low <= " + b.hi();
    if (prefix == "sa") return "sp.low > " + b.hi();
    if (prefix == "eb") return "sp.high < " + b.lo();
    if (prefix == "ap") return "(sp.low <= " + b.hi() + " AND sp.high >= " + b.lo() + ")";
    return "(sp.low >= " + b.lo() + " AND sp.high <= " + b.hi() + ")";
  }

  // A stored instant (meta.lastUpdated) against the searched value's implicit range.
  std::string PointDate(const std::string& column, const std::string& v) {
    auto [prefix, value] = SplitPrefix(v);
    DateBounds b(*this, value);
    if (prefix == "ne") return "NOT (" + column + " BETWEEN " + b.lo() + " AND " + b.hi() + ")";
    if (prefix == "gt" || prefix == "sa") return column + " > " + b.hi();
    if (prefix == "lt" || prefix == "eb") return column + " < " + b.lo();
    if (prefix == "ge") return column + " >= " + b.lo();
    if (prefix == "le") return column + " <= " + b.hi();
    return "(" + column + " BETWEEN " + b.lo() + " AND " + b.hi() + ")";
  }

  // A stored number against the searched one: eq/ne use the searched value's significant
  // figures; the ordering prefixes compare with the value itself; ap allows 10%.
  std::string NumberSql(const std::string& column, const std::string& v) {
    auto [prefix, value] = SplitPrefix(v);
    std::string lo, hi;
    DecimalRange(value, lo, hi);
    if (prefix == "eq") return "(" + column + " >= " + Param(lo) + "::numeric AND " + column + " < " + Param(hi) + "::numeric)";
    if (prefix == "ne") return "NOT (" + column + " >= " + Param(lo) + "::numeric AND " + column + " < " + Param(hi) + "::numeric)";
    std::string x = Param(value) + "::numeric";
    if (prefix == "gt" || prefix == "sa") return column + " > " + x;
    if (prefix == "lt" || prefix == "eb") return column + " < " + x;
    if (prefix == "ge") return column + " >= " + x;
    if (prefix == "le") return column + " <= " + x;
    return "(" + column + " BETWEEN " + x + " * 0.9 AND " + x + " * 1.1)";  // ap
  }

  const SearchQuery& q_;
  std::vector<std::optional<std::string>> params_;
};

}  // namespace

common::Result<CompiledSearch> BuildSearchSql(const SearchQuery& query) {
  return Builder(query).Build();
}

std::string EncodeCursor(const std::vector<std::string>& sort_values, const std::string& id) {
  std::string out;
  auto append = [&](const std::string& v) {
    for (char c : v) {
      if (c == '~') out += "!t";
      else if (c == '!') out += "!e";
      else out += c;
    }
  };
  for (const std::string& v : sort_values) {
    append(v);
    out += '~';
  }
  append(id);
  return out;
}

}  // namespace fhir::search
