#include "fhir/search/sql_builder.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "fhir/definitions/definitions.h"
#include "fhir/model/ids.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/ranges.h"

namespace fhir::search {
namespace {

// The placeholder of the n-th parameter: "$n". Appended, not "$" + ...: GCC 12 warns on that
// (-Wrestrict, a false positive).
std::string Placeholder(std::size_t n) {
  std::string placeholder = "$";
  placeholder += std::to_string(n);
  return placeholder;
}

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

// The table of a composite parameter, by its shape (IsSupportedComposite).
const char* CompositeTableFor(const std::vector<const SearchParameter*>& components) {
  if (components.size() == 3) return "sp_composite_number";
  if (components[0]->type == ParamType::kReference) return "sp_composite_reference";
  switch (components[1]->type) {
    case ParamType::kToken: return "sp_composite_token";
    case ParamType::kQuantity: return "sp_composite_quantity";
    case ParamType::kDate: return "sp_composite_date";
    case ParamType::kString: return "sp_composite_string";
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

class Builder {
 public:
  explicit Builder(const SearchQuery& q) : q_(q) {}

  common::Result<CompiledSearch> Build() {
    std::string where = "NOT r.deleted";
    if (!q_.type.empty()) {
      where = "r.type = " + Param(q_.type) + " AND " + where;
    } else if (!q_.types.empty()) {
      std::string list;
      for (const std::string& t : q_.types) list += (list.empty() ? "" : ", ") + Param(t);
      where = "r.type IN (" + list + ") AND " + where;
    }
    // A search whose plan may be reused (SqlQuery::reuse_plan) must not leave the join order to
    // PostgreSQL's generic plan, which cannot see that a code matches 10,000 rows and a subject
    // 20: its anchor stays a semi-join that drives, every other condition is fenced (OFFSET 0
    // keeps an EXISTS from becoming a join) and probed per anchored row.
    const bool reuse_plan = PlanIndependentOfValues(q_);
    bool driven = !q_.compartment_type.empty();  // the compartment drives
    // A date window's two clauses become one condition, written where its lower bound is.
    std::map<std::size_t, std::size_t> window_upper;
    for (const DateWindow& w : FindDateWindows(q_.clauses)) window_upper[w.lower] = w.upper;
    std::vector<bool> merged(q_.clauses.size(), false);
    for (const auto& [lower, upper] : window_upper) merged[upper] = true;
    // Planned per search: the conditions on index tables as nested id sets (IdSetSql), which
    // PostgreSQL may join with each other before it reads `resource`; as correlated EXISTS it
    // could only probe them per resource row, and walked every Observation to fill a page of a
    // code + date window (docs/PERFORMANCE.md, search).
    std::vector<std::pair<std::string, std::string>> id_sets;  // (alias, SELECT alias.id ...)
    // Prepared and anchored on an index table: the anchor's ids, each kept only if the fenced
    // probes of the other conditions find it, so they run on the anchor's index rows before a
    // single resource row is read (probing per resource row read 20 resource rows to return 1).
    std::optional<std::size_t> anchor;
    if (reuse_plan && q_.compartment_type.empty()) {
      for (std::size_t i = 0; i < q_.clauses.size() && !anchor; ++i) {
        if (AnchorsSearch(q_.clauses[i]) && q_.clauses[i].param != nullptr) anchor = i;
      }
    }
    if (anchor) {
      std::string alias;
      std::string set = IdSetSql(q_.clauses[*anchor], alias);
      for (std::size_t i = 0; i < q_.clauses.size(); ++i) {
        if (i == *anchor) continue;
        set += " AND " + FencedExists(ClauseSql(q_.clauses[i], alias + ".type", alias + ".id"));
      }
      where += " AND r.id IN (" + set + ")";
    }
    for (std::size_t i = 0; i < q_.clauses.size() && !anchor; ++i) {
      if (merged[i]) continue;
      const Clause& c = q_.clauses[i];
      auto upper = window_upper.find(i);
      window_upper_ = upper == window_upper.end() ? nullptr : &q_.clauses[upper->second];
      if (!reuse_plan && !q_.type.empty()) {
        std::string alias;
        std::string set = IdSetSql(c, alias);
        if (!set.empty()) {
          id_sets.emplace_back(alias, std::move(set));
          continue;
        }
      }
      std::string clause = ClauseSql(c, "r.type", "r.id");
      if (reuse_plan) {
        if (!driven && AnchorsSearch(c)) {
          driven = true;
        } else {
          clause = FencedExists(clause);
        }
      }
      where += " AND " + clause;
    }
    window_upper_ = nullptr;
    if (!id_sets.empty()) {
      std::string nested;
      for (auto it = id_sets.rbegin(); it != id_sets.rend(); ++it) {
        nested = it->second + (nested.empty() ? "" : " AND " + it->first + ".id IN (" + nested + ")");
      }
      where += " AND r.id IN (" + nested + ")";
    }
    if (!q_.compartment_type.empty()) {
      where += " AND " + CompartmentSql(q_.compartment_type, q_.compartment_id, q_.compartment_params);
    }
    if (!q_.access_any.empty()) where += " AND " + AccessSql();

    CompiledSearch out;
    out.count.text = "SELECT count(*) FROM resource r WHERE " + where;
    out.count.params = params_;

    // Sort keys, then id as the final tie-breaker, so every row has a unique position.
    std::string keys;
    std::vector<std::pair<std::string, bool>> order;  // (column, descending)
    // Without _sort, results come oldest change first: (last_updated, id) is served by the
    // resource_type_updated index, so a _lastUpdated window reads only its own rows.
    std::vector<SortKey> sort = q_.sort;
    if (sort.empty()) sort.push_back(SortKey{"_lastUpdated", nullptr, false});
    bool computed_keys = false;  // a key read from an index table, not a column of resource
    for (std::size_t i = 0; i < sort.size(); ++i) {
      const SortKey& k = sort[i];
      if (k.name == "_id") continue;  // id is always the last key
      computed_keys = computed_keys || k.name != "_lastUpdated";
      std::string col = "k" + std::to_string(i);
      keys += ", " + SortExpression(k, col) + " AS " + col;
      order.emplace_back(col, k.descending);
    }
    bool id_descending = false;
    for (const SortKey& k : sort) {
      if (k.name == "_id") id_descending = k.descending;
    }
    order.emplace_back("type", false);  // ids are unique per type only (system search)
    order.emplace_back("id", id_descending);
    out.sort_keys = order.size() - 2;  // the keys before type and id

    std::string inner =
        "SELECT r.type, r.id, r.version, (extract(epoch FROM r.last_updated) * 1000000)::bigint AS lu,"
        " r.content" + keys + " FROM resource r WHERE " + where;
    std::string sql = "SELECT id, version, lu, content, type";
    // The cursor needs the keys as text; alias them apart so ORDER BY sorts the typed columns
    // (an output column named like the key would win, and timestamps would sort as text).
    for (std::size_t i = 0; i + 2 < order.size(); ++i) {
      sql += ", " + order[i].first + "::text AS " + order[i].first + "_text";
    }
    // A computed key is a subquery per row. Pulled up into this query it would run once for the
    // ORDER BY and again for its text column (measured: twice per row for _sort=-date); fenced,
    // once. An anchored search is fenced too: its few rows are found first and then sorted. Left
    // to see the LIMIT, a generic plan may walk every resource of the type in
    // resource_type_updated order and probe the anchor per row instead (a chain to an
    // identifier on 2,000 Observations: 10 ms against 0.4). A column key with no anchor stays
    // unfenced, so that an index on it can serve the order and LIMIT (a _lastUpdated window).
    const bool fenced = computed_keys || anchor.has_value();
    sql += " FROM (" + inner + (fenced ? " OFFSET 0" : "") + ") s";
    if (q_.cursor) {
      std::vector<std::string> values;
      if (!DecodeCursor(*q_.cursor, values) || values.size() != order.size() + 1 ||
          (values[0] != "f" && values[0] != "b")) {
        return common::InvalidError("The paging cursor is malformed or belongs to another search");
      }
      out.backward = values[0] == "b";
      values.erase(values.begin());
      if (!CursorValuesLookValid(order, values)) {
        return common::InvalidError("The paging cursor is malformed or belongs to another search");
      }
      // Backward: the rows just before the cursor, nearest first.
      if (out.backward) {
        for (auto& [column, descending] : order) descending = !descending;
      }
      sql += " WHERE " + CursorCondition(order, values);
    }
    sql += " ORDER BY ";
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i > 0) sql += ", ";
      sql += "s." + order[i].first + (order[i].second ? " DESC" : " ASC");
    }
    sql += " LIMIT " + Param(std::to_string(q_.count + 1));
    out.page.text = std::move(sql);
    out.page.params = params_;
    out.page.reuse_plan = out.count.reuse_plan = reuse_plan;
    return out;
  }

  // Sort-key values are what PostgreSQL printed for the key's type (timestamps such as
  // "2026-11-28 06:30:00.1+00" or "infinity"; numbers); anything else did not come from us.
  bool CursorValuesLookValid(const std::vector<std::pair<std::string, bool>>& order,
                             const std::vector<std::string>& values) const {
    for (std::size_t i = 0; i < order.size(); ++i) {
      auto kind = kinds_.find(order[i].first);
      if (kind == kinds_.end() || kind->second == "text") continue;
      const std::string& v = values[i];
      if (v == "infinity" || v == "-infinity" || v == "Infinity" || v == "-Infinity") continue;
      bool timestamp = kind->second == "timestamptz";
      std::string_view allowed = timestamp ? "-: .+" : "-.eE+";
      if (v.empty() || v.size() > 60 || !std::isdigit(static_cast<unsigned char>(v[v[0] == '-' ? 1 : 0]))) {
        return false;
      }
      for (char c : v) {
        if (!std::isdigit(static_cast<unsigned char>(c)) && allowed.find(c) == std::string_view::npos) {
          return false;
        }
      }
    }
    return true;
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
    return Placeholder(params_.size());
  }

  // Sorting by a date parameter uses the earliest start (ascending) or the latest end
  // (descending) of the resource's values; resources without one sort last.
  // A resource's sort value for a parameter: its smallest value ascending, its largest
  // descending (for dates: earliest start, latest end); resources without one sort last.
  // `column` is the key's output name; its kind decides how cursor values are typed.
  std::string SortExpression(const SortKey& k, const std::string& column) {
    if (k.name == "_lastUpdated") {
      kinds_[column] = "timestamptz";
      return "r.last_updated";
    }
    struct Shape {
      const char* table;
      const char* asc_column;
      const char* desc_column;
      const char* kind;
      const char* last_asc;
      const char* last_desc;
      const char* extra;
    };
    Shape shape{"sp_date", "low", "high", "timestamptz", "'infinity'", "'-infinity'", ""};
    switch (k.param->type) {
      case ParamType::kString:
        shape = {"sp_string", "normalized", "normalized", "text", "U&'\\FFFF'", "''", ""};
        break;
      case ParamType::kToken:
        shape = {"sp_token", "code", "code", "text", "U&'\\FFFF'", "''", " AND sp.code <> ''"};
        break;
      case ParamType::kNumber:
        shape = {"sp_number", "value", "value", "numeric", "'Infinity'::numeric", "'-Infinity'::numeric", ""};
        break;
      case ParamType::kQuantity:
        shape = {"sp_quantity", "value", "value", "numeric", "'Infinity'::numeric", "'-Infinity'::numeric", ""};
        break;
      default:
        break;
    }
    kinds_[column] = shape.kind;
    std::string p = Param(k.param->code);
    return std::string("COALESCE((SELECT ") + (k.descending ? "max(sp." : "min(sp.") +
           (k.descending ? shape.desc_column : shape.asc_column) + ") FROM " + shape.table +
           " sp WHERE sp.type = r.type AND sp.id = r.id AND sp.param = " + p + shape.extra +
           "), " + (k.descending ? shape.last_desc : shape.last_asc) + ")";
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
    auto kind = kinds_.find(col);
    return Param(value) + "::" + (kind == kinds_.end() ? std::string("text") : kind->second);
  }

  // Membership of the compartment: a reference to it through one of the defining parameters
  // (a Patient is also in its own compartment).
  std::string CompartmentSql(const std::string& type, const std::string& id,
                             const std::vector<std::string>& params) {
    if (params.empty()) return q_.type == type ? "r.id = " + Param(id) : "false";
    std::string list;
    for (const std::string& p : params) list += (list.empty() ? "" : ", ") + Param(p);
    std::string member = "EXISTS (SELECT 1 FROM sp_reference cm WHERE cm.type = r.type AND cm.id = r.id AND cm.param IN (" +
                         list + ") AND cm.target_type = " + Param(type) +
                         " AND cm.target_id = " + Param(id) + ")";
    if (q_.type != type) return member;
    return "(r.id = " + Param(id) + " OR " + member + ")";
  }

  // The caller's access as an OR of alternatives, each an AND of its clauses (and compartment).
  std::string AccessSql() {
    std::string any;
    for (const AccessAlternative& a : q_.access_any) {
      std::string all;
      for (const Clause& c : a.clauses) all += (all.empty() ? "" : " AND ") + ClauseSql(c, "r.type", "r.id");
      if (!a.patient.empty()) {
        all += (all.empty() ? "" : " AND ") + CompartmentSql("Patient", a.patient, a.compartment_params);
      }
      any += (any.empty() ? "(" : " OR (") + (all.empty() ? std::string("true") : all) + ")";
    }
    return "(" + any + ")";
  }

  // SQL for one clause about the resource identified by (type_expr, id_expr): the searched
  // resource at the top level, a referenced resource inside a chain, a referring one in _has.
  std::string ClauseSql(const Clause& c, const std::string& type_expr, const std::string& id_expr) {
    if (c.name == "_id") {
      std::string any;
      for (const std::string& v : c.values) any += (any.empty() ? "" : " OR ") + (id_expr + " = " + Param(Unescape(v)));
      return "(" + any + ")";
    }
    if (c.name == "_lastUpdated") {
      // The searched resource has the column itself; a chained one is looked up.
      bool own = type_expr == "r.type";
      std::string column = own ? "r.last_updated" : "lu.last_updated";
      std::string any;
      for (const std::string& v : c.values) any += (any.empty() ? "" : " OR ") + PointDate(column, v);
      if (own) return "(" + any + ")";
      return "EXISTS (SELECT 1 FROM resource lu WHERE lu.type = " + type_expr + " AND lu.id = " +
             id_expr + " AND (" + any + "))";
    }
    std::string alias = "sp" + std::to_string(next_alias_++);
    if (c.has_param != nullptr) {
      // _has: some resource of has_type refers here through has_param and matches the chain.
      std::string inner = ClauseSql(*c.chain, alias + ".type", alias + ".id");
      return "EXISTS (SELECT 1 FROM sp_reference " + alias + " WHERE " + alias + ".type = " +
             Param(c.has_type) + " AND " + alias + ".param = " + Param(c.has_param->code) +
             " AND " + alias + ".target_type = " + type_expr + " AND " + alias +
             ".target_id = " + id_expr + " AND " + inner + ")";
    }
    std::string prefix = "SELECT 1 FROM " + IndexTableAndParam(c, alias) + " AND " + alias +
                         ".type = " + type_expr + " AND " + alias + ".id = " + id_expr;
    if (c.chain) return "EXISTS (" + prefix + " AND " + ChainSql(c, alias) + ")";
    if (c.modifier == "missing") {
      return (c.values.front() == "true" ? "NOT EXISTS (" : "EXISTS (") + prefix + ")";
    }
    std::string any = ValuesSql(c, alias);
    if (c.modifier == "not" || c.modifier == "not-in") {
      return "NOT EXISTS (" + prefix + " AND (" + any + "))";
    }
    return "EXISTS (" + prefix + " AND (" + any + "))";
  }

  // A positive condition of the searched type on one index table as the ids it matches:
  // `SELECT spN.id FROM table spN WHERE spN.param = ... AND spN.type = ... AND (values)`, with
  // `alias` set to spN. Empty for the clauses that have no such form (_id, _lastUpdated, _has,
  // :missing, :not, :not-in).
  std::string IdSetSql(const Clause& c, std::string& alias) { return IdSetSql(c, alias, q_.type); }

  // The same for resources of `type` (a chain's target type).
  std::string IdSetSql(const Clause& c, std::string& alias, const std::string& type) {
    if (c.param == nullptr || c.has_param != nullptr || c.modifier == "missing" ||
        c.modifier == "not" || c.modifier == "not-in") {
      return "";
    }
    alias = "sp" + std::to_string(next_alias_++);
    std::string sql = "SELECT " + alias + ".id FROM " + IndexTableAndParam(c, alias) + " AND " +
                      alias + ".type = " + Param(type);
    if (c.chain) return sql + " AND " + ChainSql(c, alias);
    return sql + " AND (" + ValuesSql(c, alias) + ")";
  }

  // `table alias WHERE alias.param = $n` for a clause on an index table.
  std::string IndexTableAndParam(const Clause& c, const std::string& alias) {
    // :identifier matches Reference.identifier, indexed as tokens under "code:identifier".
    bool by_identifier = c.param->type == ParamType::kReference && c.modifier == "identifier";
    bool of_type = c.modifier == "of-type";
    const char* table = IsFullText(c)                         ? "sp_text"
                        : c.param->type == ParamType::kComposite ? CompositeTableFor(c.components)
                        : TableFor(by_identifier ? ParamType::kToken : c.param->type);
    return std::string(table) + " " + alias + " WHERE " + alias + ".param = " +
           Param(by_identifier ? c.param->code + ":identifier"
                 : of_type     ? c.param->code + ":of-type"
                               : c.param->code);
  }

  // Chain: a reference from `alias` to a resource of an allowed type that matches the chain.
  std::string ChainSql(const Clause& c, const std::string& alias) {
    if (AnchorsSearch(c)) {
      // An anchoring chain (subject:Patient.identifier=system|value): the few target ids are
      // computed once (an InitPlan) and probed in the reference index. Written as a join or an
      // EXISTS, a generic plan may hash-join the chained index rows against every `subject`
      // row instead (on 210,000 resources: 84 ms against 0.3 ms), because PostgreSQL cannot
      // tell from its statistics that an identifier is nearly unique; `= ANY (ARRAY(...))`
      // is always estimated as a handful of index probes.
      // Several target types (Observation.patient: Patient or Group): one such probe per type.
      std::string any;
      for (const std::string& type : c.target_types) {
        std::string inner_alias;
        std::string ids = IdSetSql(*c.chain, inner_alias, type);
        any += (any.empty() ? "(" : " OR ") + ("(" + alias + ".target_type = " + Param(type) + " AND " + alias +
                                               ".target_id = ANY (ARRAY(" + ids + ")))");
      }
      return any + ")";
    }
    std::string types;
    for (const std::string& t : c.target_types) types += (types.empty() ? "" : ", ") + Param(t);
    std::string inner = ClauseSql(*c.chain, alias + ".target_type", alias + ".target_id");
    return alias + ".target_type IN (" + types + ") AND " + inner;
  }

  // The clause's values (comma = OR) as conditions on the index row `alias`.
  std::string ValuesSql(const Clause& c, const std::string& alias) {
    a_ = alias;
    std::string any;
    for (const std::string& v : c.values) any += (any.empty() ? "" : " OR ") + ValueSql(c, v);
    return any;
  }

  // token$value: the first component on t_system/t_code, the second through its own type's
  // conditions (the composite tables name those columns like the simple ones).
  // token$number$number: the numbers in value and value2. reference$token: the reference in
  // the columns of sp_reference, the token in those of sp_token.
  std::string CompositeSql(const Clause& c, const std::string& v) {
    std::vector<std::string> parts = SplitComposite(v);
    if (parts.size() != c.components.size()) return "false";  // checked when parsed
    auto component = [&](std::size_t i) {
      Clause part;
      part.param = c.components[i];
      part.name = part.param->code;
      return ValueSql(part, parts[i]);
    };
    if (c.components[0]->type == ParamType::kReference) {
      return "(" + component(0) + " AND " + component(1) + ")";
    }
    std::string system, code;
    std::string first;
    if (!SplitPipe(parts[0], system, code)) {
      first = a_ + ".t_code = " + Param(Truncated(Unescape(parts[0])));
    } else {
      code = Truncated(Unescape(code));
      first = (system.empty() ? a_ + ".t_system IS NULL"
                              : a_ + ".t_system = " + Param(Truncated(system, kMaxIndexedUriLength))) +
              (code.empty() ? "" : " AND " + a_ + ".t_code = " + Param(code));
    }
    if (parts.size() == 3) {
      return "(" + first + " AND " + NumberSql(a_ + ".value", parts[1]) + " AND " +
             NumberSql(a_ + ".value2", parts[2]) + ")";
    }
    in_composite_ = true;  // composite tables keep no canonical (converted) quantity
    std::string second_sql = component(1);
    in_composite_ = false;
    return "(" + first + " AND " + second_sql + ")";
  }

  static bool IsFullText(const Clause& c) { return c.name == "_text" || c.name == "_content"; }

  std::string ValueSql(const Clause& c, const std::string& v) {
    if (IsFullText(c)) {
      // Search syntax as people type it: words, "phrases", or, -excluded.
      return a_ + ".tsv @@ websearch_to_tsquery('simple', " + Param(Unescape(v)) + ")";
    }
    if (c.param->type == ParamType::kComposite) return CompositeSql(c, v);
    ParamType type = c.param->type;
    if (type == ParamType::kReference && c.modifier == "identifier") type = ParamType::kToken;
    switch (type) {
      case ParamType::kString: {
        if (c.modifier == "exact") return a_ + ".exact = " + Param(Truncated(Unescape(v)));
        std::string needle = EscapeLike(Truncated(NormalizeString(Unescape(v))));
        if (c.modifier == "contains") return a_ + ".normalized LIKE " + Param("%" + needle + "%");
        return a_ + ".normalized LIKE " + Param(needle + "%");
      }
      case ParamType::kToken: {
        if (c.modifier == "in" || c.modifier == "not-in") {
          // A shipped value set: its codes (these value sets list codes of one code system).
          const auto* codes = definitions::Definitions::R4().ValueSetCodes(Unescape(v));
          std::string list;
          for (const std::string& code : *codes) list += (list.empty() ? "" : ", ") + Param(code);
          return a_ + ".code IN (" + list + ")";
        }
        if (c.modifier == "below" || c.modifier == "above") {
          // The code and what it subsumes (or what subsumes it): checked when parsed.
          auto subsumed = TokenSubsumption(v, c.modifier == "below");
          if (!subsumed.has_value()) return "false";
          std::string list;
          for (const std::string& code : subsumed->codes) list += (list.empty() ? "" : ", ") + Param(code);
          if (subsumed->system.empty()) return a_ + ".code IN (" + list + ")";
          return "(" + a_ + ".system = " + Param(Truncated(subsumed->system, kMaxIndexedUriLength)) + " AND " +
                 a_ + ".code IN (" + list + "))";
        }
        if (c.modifier == "of-type") {
          // type-system|type-code|value -> system = type-system, code = "type-code|value"
          std::string type_system, rest;
          SplitPipe(v, type_system, rest);
          return "(" + a_ + ".system = " + Param(Truncated(type_system, kMaxIndexedUriLength)) +
                 " AND " + a_ + ".code = " + Param(Truncated(Unescape(rest))) + ")";
        }
        if (c.modifier == "text") {
          return a_ + ".text ILIKE " + Param(EscapeLike(Unescape(v)) + "%");
        }
        std::string system, code;
        if (!SplitPipe(v, system, code)) return a_ + ".code = " + Param(Truncated(Unescape(v)));
        code = Truncated(Unescape(code));
        system = Truncated(system, kMaxIndexedUriLength);
        if (system.empty()) return "(" + a_ + ".system IS NULL AND " + a_ + ".code = " + Param(code) + ")";
        if (code.empty()) return a_ + ".system = " + Param(system);
        return "(" + a_ + ".system = " + Param(system) + " AND " + a_ + ".code = " + Param(code) + ")";
      }
      case ParamType::kReference: return ReferenceSql(c, Unescape(v));
      case ParamType::kDate:
        if (window_upper_ != nullptr && !in_composite_) return DateWindowSql(v, window_upper_->values[0]);
        return RangeDate(v);
      case ParamType::kNumber: return NumberSql(a_ + ".value", v);
      case ParamType::kQuantity: {
        std::string number = v, rest;
        std::string system, code;
        if (SplitPipe(v, number, rest)) {
          if (!SplitPipe(rest, system, code)) code = Unescape(rest);
          code = Unescape(code);
        }
        std::string dimension;
        long double factor = 1;
        if (!in_composite_ && !code.empty() && UcumFactor(system, code, dimension, factor)) {
          // A unit Fovea converts: compare in base units, so 5 g finds 5000 mg.
          return "(" + a_ + ".dimension = " + Param(dimension) + " AND " +
                 NumberSql(a_ + ".canonical", number, factor) + ")";
        }
        std::string sql = NumberSql(a_ + ".value", number);
        if (!system.empty()) sql += " AND " + a_ + ".system = " + Param(system);
        if (!code.empty()) {
          std::string p = Param(code);
          sql += system.empty() ? " AND (" + a_ + ".code = " + p + " OR " + a_ + ".unit = " + p + ")"
                                : " AND " + a_ + ".code = " + p;
        }
        return "(" + sql + ")";
      }
      case ParamType::kUri: {
        std::string value = Truncated(Unescape(v), kMaxIndexedUriLength);
        if (c.modifier == "below") return a_ + ".value LIKE " + Param(EscapeLike(value) + "%");
        if (c.modifier == "above") return Param(value) + " LIKE replace(replace(replace(" + a_ + ".value, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'";
        return a_ + ".value = " + Param(value);
      }
      default: return "false";
    }
  }

  std::string ReferenceSql(const Clause& c, std::string v) {
    if (!c.modifier.empty()) {  // :Patient
      return "(" + a_ + ".target_type = " + Param(c.modifier) + " AND " + a_ + ".target_id = " + Param(v) + ")";
    }
    if (!q_.base_url.empty() && v.rfind(q_.base_url + "/", 0) == 0) v = v.substr(q_.base_url.size() + 1);
    bool absolute = v.find("://") != std::string::npos || v.rfind("urn:", 0) == 0;
    if (absolute) return a_ + ".url = " + Param(v);
    v.resize(model::WithoutHistory(v).size());  // a prefix
    std::size_t slash = v.find('/');
    if (slash == std::string::npos) return a_ + ".target_id = " + Param(v);
    return "(" + a_ + ".target_type = " + Param(v.substr(0, slash)) + " AND " + a_ + ".target_id = " +
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

  // A stored value as the closed range the sp_date_range index (migration 0015) holds; the
  // text must stay identical to the index expression for PostgreSQL to use it.
  std::string StoredDateRange() const {
    return "tstzrange(" + a_ + ".low, greatest(" + a_ + ".low, " + a_ + ".high), '[]')";
  }

  // A date window (FindDateWindows): one stored value overlapping it. `lower` is ge/gt, `upper`
  // lt/le, and the window is not empty.
  std::string DateWindowSql(const std::string& lower, const std::string& upper) {
    auto [lower_prefix, lower_value] = SplitPrefix(lower);
    auto [upper_prefix, upper_value] = SplitPrefix(upper);
    DateBounds l(*this, lower_value), u(*this, upper_value);
    bool ge = lower_prefix == "ge", lt = upper_prefix == "lt";
    return StoredDateRange() + " && tstzrange(" + (ge ? l.lo() : l.hi()) + ", " +
           (lt ? u.lo() : u.hi()) + ", '" + (ge ? "[" : "(") + (lt ? ")" : "]") + "')";
  }

  // A stored range [sp.low, sp.high] against the searched value's implicit range.
  std::string RangeDate(const std::string& v) {
    auto [prefix, value] = SplitPrefix(v);
    DateBounds b(*this, value);
    if (prefix == "eq" && !in_composite_) {
      // Within the searched period: a containment the sp_date_range index serves.
      return StoredDateRange() + " <@ tstzrange(" + b.lo() + ", " + b.hi() + ", '[]')";
    }
    if (prefix == "ne") return "NOT (" + a_ + ".low >= " + b.lo() + " AND " + a_ + ".high <= " + b.hi() + ")";
    if (prefix == "gt") return a_ + ".high > " + b.hi();
    if (prefix == "lt") return a_ + ".low < " + b.lo();
    if (prefix == "ge") return a_ + ".high >= " + b.lo();
    if (prefix == "le") return a_ + ".low <= " + b.hi();
    if (prefix == "sa") return a_ + ".low > " + b.hi();
    if (prefix == "eb") return a_ + ".high < " + b.lo();
    if (prefix == "ap") return "(" + a_ + ".low <= " + b.hi() + " AND " + a_ + ".high >= " + b.lo() + ")";
    return "(" + a_ + ".low >= " + b.lo() + " AND " + a_ + ".high <= " + b.hi() + ")";
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
  // `factor` scales the searched value (and its range) into the column's units.
  std::string NumberSql(const std::string& column, const std::string& v, long double factor = 1) {
    auto [prefix, value] = SplitPrefix(v);
    std::string lo, hi;
    DecimalRange(value, lo, hi);
    if (factor != 1) {
      lo = ScaledDecimal(lo, factor);
      hi = ScaledDecimal(hi, factor);
      value = ScaledDecimal(value, factor);
    }
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
  int next_alias_ = 0;
  bool in_composite_ = false;
  std::map<std::string, std::string> kinds_;  // sort-key column -> SQL type of its values
  std::string a_ = "sp";  // alias of the index table the value conditions refer to
  const Clause* window_upper_ = nullptr;  // the lt/le clause merged into the date clause at hand
};

}  // namespace

common::Result<CompiledSearch> BuildSearchSql(const SearchQuery& query) {
  return Builder(query).Build();
}

bool AnchorsSearch(const Clause& c) {
  if (!c.has_type.empty()) return false;
  if (c.chain) {
    // A chain whose last link anchors on an index table (an identifier, or another such
    // chain): Builder::ChainSql computes its target ids once.
    return c.param != nullptr && c.param->type == ParamType::kReference && !c.target_types.empty() &&
           c.chain->param != nullptr && AnchorsSearch(*c.chain);
  }
  if (c.values.empty()) return false;
  if (c.name == "_id") return c.modifier.empty();
  if (c.param == nullptr) return false;
  if (c.param->type == ParamType::kReference) {
    return c.modifier.empty() || std::isupper(static_cast<unsigned char>(c.modifier[0]));  // a target
  }
  // An identifier with its system is unique or nearly.
  return c.param->type == ParamType::kToken && c.param->code == "identifier" && c.modifier.empty() &&
         std::all_of(c.values.begin(), c.values.end(), [](const std::string& v) {
           std::size_t bar = v.find('|');
           return bar != std::string::npos && bar > 0 && bar + 1 < v.size();
         });
}

std::string FencedExists(const std::string& clause) {
  if (clause.rfind("EXISTS (", 0) != 0 || clause.empty() || clause.back() != ')') return clause;
  return clause.substr(0, clause.size() - 1) + " OFFSET 0)";
}

// Only _lastUpdated conditions, in the default or a _lastUpdated order: whatever the window,
// the best plan walks resource_type_updated from the window's bound (what a client polling
// "what changed since" asks, again and again).
bool OnlyLastUpdatedWindow(const SearchQuery& query) {
  if (query.clauses.empty() || !query.compartment_type.empty()) return false;
  for (const Clause& c : query.clauses) {
    if (c.name != "_lastUpdated" || !c.modifier.empty() || c.chain || !c.has_type.empty()) return false;
  }
  return std::all_of(query.sort.begin(), query.sort.end(),
                     [](const SortKey& k) { return k.name == "_lastUpdated" || k.name == "_id"; });
}

bool PlanIndependentOfValues(const SearchQuery& query) {
  if (query.type.empty()) return false;  // system search: a type list
  if (!query.access_any.empty()) return false;  // granular access: an OR the plan must see
  if (OnlyLastUpdatedWindow(query)) return true;
  bool anchored = !query.compartment_type.empty();
  for (const Clause& c : query.clauses) {
    if (AnchorsSearch(c)) {
      anchored = true;
      continue;
    }
    // Besides anchors, only plain token equalities: they narrow, never drive.
    if (c.chain || !c.has_type.empty() || c.param == nullptr || !c.modifier.empty() ||
        c.param->type != ParamType::kToken) {
      return false;  // ranges, prefixes, patterns, chains: the plan depends on the values
    }
  }
  return anchored;
}

namespace {

// A PostgreSQL text[] literal: {"a","b"} with quotes and backslashes escaped.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

SqlQuery BuildIncludeSql(const Include& include, const std::string& type,
                         const std::vector<std::string>& ids, int limit) {
  SqlQuery q;
  auto param = [&](std::string v) {
    q.params.emplace_back(std::move(v));
    return Placeholder(q.params.size());
  };
  // The referenced (or referring) keys are made distinct before any resource row is read: a
  // page of 20 Observations of one patient names that Patient 20 times, and a DISTINCT over
  // the joined rows read it 20 times and compared the contents.
  std::string keys;
  if (include.reverse) {
    // Resources of source_type that refer to one of ids.
    keys = "SELECT ref.type, ref.id FROM sp_reference ref WHERE ref.type = " + param(include.source_type) +
           " AND ref.target_type = " + param(type) + " AND ref.target_id = ANY(" + param(TextArray(ids)) +
           "::text[])";
  } else {
    // Resources that the ids (of source_type) refer to.
    keys = "SELECT ref.target_type, ref.target_id FROM sp_reference ref WHERE ref.type = " + param(type) +
           " AND ref.id = ANY(" + param(TextArray(ids)) + "::text[])";
    if (!include.target_type.empty()) keys += " AND ref.target_type = " + param(include.target_type);
  }
  if (include.param != "*") keys += " AND ref.param = " + param(include.param);
  std::string sql =
      "SELECT r2.type, r2.id, r2.version, (extract(epoch FROM r2.last_updated) * 1000000)::bigint,"
      " r2.content FROM resource r2 WHERE (r2.type, r2.id) IN (" + keys + ") AND NOT r2.deleted LIMIT " +
      param(std::to_string(limit));
  q.text = std::move(sql);
  // Probes of sp_reference by the page's ids, whatever they are: one plan serves every value.
  q.reuse_plan = true;
  return q;
}

std::string EncodeCursor(const std::vector<std::string>& sort_values, const std::string& type,
                         const std::string& id, bool backward) {
  std::string out;
  auto append = [&](const std::string& v) {
    for (char c : v) {
      if (c == '~') out += "!t";
      else if (c == '!') out += "!e";
      else out += c;
    }
  };
  out += backward ? "b~" : "f~";
  for (const std::string& v : sort_values) {
    append(v);
    out += '~';
  }
  append(type);
  out += '~';
  append(id);
  return out;
}

}  // namespace fhir::search
