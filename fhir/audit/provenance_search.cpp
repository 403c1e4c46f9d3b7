#include "fhir/audit/provenance_search.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "fhir/audit/derived_provenance.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/memory_matcher.h"

namespace fhir::audit {

using common::Result;
using common::Status;
using common::StatusCode;
using search::SearchMatch;
using search::SearchQuery;
using search::SearchResult;

namespace {

constexpr std::string_view kType = "Provenance";
// Rows counted at most for _total / _summary=count.
constexpr int kMaxRowsCounted = 100000;
constexpr int kMaxIncluded = 1000;
// A chained criterion of a Provenance search is resolved to the resources it names first; at
// most this many (beyond: kNotSupported, narrow it).
constexpr int kMaxChainedResources = 1000;

// "Observation/1" from a reference search value, absolute on `base_url` or relative; empty for
// anything the audit store cannot look up by (an id without its type, another server's URL).
std::string LocalReference(std::string_view value, const std::string& base_url) {
  if (!base_url.empty() && value.substr(0, base_url.size()) == base_url &&
      value.size() > base_url.size() && value[base_url.size()] == '/') {
    value.remove_prefix(base_url.size() + 1);
  }
  if (value.find("://") != std::string_view::npos || value.find('/') == std::string_view::npos) return "";
  return std::string(model::WithoutHistory(value));
}

// The order results come in: by lastUpdated (the default) or recorded; for a derived
// Provenance both are the write's time.
struct Order {
  bool by_recorded = false;
  bool descending = false;
};

Result<Order> OrderOf(const SearchQuery& q) {
  if (q.sort.empty()) return Order{};
  if (q.sort.size() == 1 && (q.sort[0].name == "_lastUpdated" || q.sort[0].name == "recorded")) {
    return Order{q.sort[0].name == "recorded", q.sort[0].descending};
  }
  return Status(StatusCode::kNotSupported,
                "With Provenance read from the audit trail (--provenance audit-trail), Provenance "
                "searches sort by _lastUpdated or recorded only");
}

// Whether `c` looks into Provenances: `_has:Provenance:...`, or a chain through a reference
// to a Provenance, at any depth. The generic backend would see the stored ones only.
bool ReachesProvenance(const search::Clause& c) {
  if (c.has_type == kType) return true;
  if (c.chain && std::find(c.target_types.begin(), c.target_types.end(), kType) != c.target_types.end()) {
    return true;
  }
  return c.chain && ReachesProvenance(*c.chain);
}

// A result's position: (time, type, id), compared in the page's order (type matters in a
// system-level search, where every type shares one order).
struct Key {
  common::TimePoint time{};
  std::string type;
  std::string id;
};

bool Before(const Key& a, const Key& b, bool descending) {
  if (a.time != b.time) return descending ? a.time > b.time : a.time < b.time;
  if (a.type != b.type) return descending ? a.type > b.type : a.type < b.type;
  return descending ? a.id > b.id : a.id < b.id;
}

// A stored Provenance's key: its lastUpdated, or its `recorded` (which a client sets).
Key StoredKey(const SearchMatch& m, const Order& order) {
  Key key{m.last_updated, m.type, m.id};
  if (!order.by_recorded) return key;
  auto json = common::ParseJson(m.content);
  common::TimePoint recorded;
  if (json.has_value() && json->is_object()) {
    if (const common::JsonValue* r = json->Find("recorded");
        r != nullptr && r->is_string() && common::ParseInstant(r->scalar(), recorded)) {
      key.time = recorded;
    }
  }
  return key;
}

// Derived Provenances are matched in memory; their lastUpdated is their recorded time, so a
// _lastUpdated criterion is a recorded one for them.
SearchQuery WithLastUpdatedAsRecorded(const SearchQuery& query, const search::SearchParameterRegistry& registry) {
  SearchQuery out = query;
  for (search::Clause& c : out.clauses) {
    if (c.param == nullptr && c.name == "_lastUpdated") {
      c.name = "recorded";
      c.param = registry.Find(kType, "recorded");
    }
  }
  return out;
}

}  // namespace

// One derived Provenance that matched: where it came from (row and position among the row's
// matches), and the resource.
struct ProvenanceMergingSearch::Candidate {
  std::int64_t seq = 0;
  std::size_t index = 0;
  Key key;
  SearchMatch match;
};

// Where a page ends in each source. Serialised as "pm1|k|d|j|done|inner cursor".
struct ProvenanceMergingSearch::Cursor {
  std::string inner;       // the stored side's cursor (empty: its first page)
  std::int64_t skip = 0;   // results of that page already returned
  bool inner_done = false;
  std::int64_t row = 0;    // the audit row of the last derived result returned (0: none yet)
  std::int64_t taken = 0;  // how many of that row's matches were returned

  std::string Encode() const {
    return "pm1|" + std::to_string(skip) + "|" + std::to_string(row) + "|" + std::to_string(taken) +
           "|" + (inner_done ? "1" : "0") + "|" + inner;
  }

  static std::optional<Cursor> Decode(std::string_view text) {
    if (text.substr(0, 4) != "pm1|") return std::nullopt;
    text.remove_prefix(4);
    Cursor c;
    std::int64_t* numbers[] = {&c.skip, &c.row, &c.taken};
    for (std::int64_t* n : numbers) {
      const std::size_t bar = text.find('|');
      if (bar == std::string_view::npos) return std::nullopt;
      auto [end, ec] = std::from_chars(text.data(), text.data() + bar, *n);
      if (ec != std::errc() || end != text.data() + bar || *n < 0) return std::nullopt;
      text.remove_prefix(bar + 1);
    }
    if (text.size() < 2 || (text[0] != '0' && text[0] != '1') || text[1] != '|') return std::nullopt;
    c.inner_done = text[0] == '1';
    c.inner = std::string(text.substr(2));
    return c;
  }
};

ProvenanceMergingSearch::ProvenanceMergingSearch(search::SearchBackend& inner, AuditStore& audit,
                                                 std::shared_ptr<search::LiveRegistry> registry,
                                                 const definitions::Definitions& defs)
    : inner_(inner), audit_(audit), registry_(std::move(registry)), defs_(defs) {}

Result<SearchResult> ProvenanceMergingSearch::Search(const SearchQuery& query) {
  // Provenance searches, and system-level searches over every type or naming Provenance.
  const bool system_with_provenance =
      query.type.empty() &&
      (query.types.empty() || std::find(query.types.begin(), query.types.end(), kType) != query.types.end());
  if (query.type == kType) return SearchProvenance(query);
  // Criteria through Provenances would silently miss the derived ones: refused instead.
  for (const search::Clause& c : query.clauses) {
    if (ReachesProvenance(c)) {
      return Status(StatusCode::kNotSupported,
                    "The criterion '" + c.name + "' looks into Provenances; with Provenance read from "
                    "the audit trail (--provenance audit-trail) the writes' Provenances are not in "
                    "the search index. Search Provenance?target=... (or use _revinclude=Provenance:target) "
                    "instead");
    }
  }
  // A system-level search the derived side cannot answer (full text across every type, a sort
  // by _id) is the generic one's alone: derived Provenances are left out, not the search.
  if (system_with_provenance && OrderOf(query).has_value() &&
      search::CheckMatchable(WithLastUpdatedAsRecorded(query, *registry_->Get())).ok()) {
    return SearchProvenance(query);
  }
  FOVEA_ASSIGN_OR_RETURN(SearchResult result, inner_.Search(query));
  FOVEA_RETURN_IF_ERROR(AddRevIncluded(query, result));
  FOVEA_RETURN_IF_ERROR(AddIncludedTargets(query, result));  // :iterate from those
  return result;
}

std::vector<ProvenanceMergingSearch::Candidate> ProvenanceMergingSearch::Matching(
    const AuditRow& row, const SearchQuery& query, const search::SearchParameterRegistry& registry,
    const search::ParameterFilter& wanted) const {
  // Inside `type/id`'s compartment through one of `params`: a synthetic reference clause each.
  auto in_compartment = [&](const std::string& reference, const std::vector<std::string>& params,
                            const std::string& id, const search::IndexRows& rows) {
    for (const std::string& code : params) {
      SearchQuery q;
      q.base_url = query.base_url;
      search::Clause c;
      c.name = code;
      c.param = registry.Find(kType, code);
      if (c.param == nullptr) continue;
      c.values = {reference};
      q.clauses.push_back(std::move(c));
      if (search::MatchesInMemory(q, id, rows)) return true;
    }
    return false;
  };
  std::vector<Candidate> out;
  std::size_t index = 0;
  for (const DerivedProvenance& p : DerivedProvenancesOf(row)) {
    std::string content = ServedProvenanceJson(p);
    model::OperationOutcomeSink issues;
    auto root = format::ParseResourceJson(content, defs_, issues);
    if (!root.has_value()) continue;
    const search::IndexRows rows = search::ExtractIndex(*root, registry, wanted);
    if (!search::MatchesInMemory(query, p.id, rows)) continue;
    if (!query.compartment_type.empty() &&
        !in_compartment(query.compartment_type + "/" + query.compartment_id, query.compartment_params,
                        p.id, rows)) {
      continue;
    }
    if (!query.access_any.empty()) {
      bool reachable = false;
      for (const search::AccessAlternative& alt : query.access_any) {
        SearchQuery q;
        q.base_url = query.base_url;
        q.clauses = alt.clauses;
        if (!search::MatchesInMemory(q, p.id, rows)) continue;
        if (!alt.patient.empty() &&
            !in_compartment("Patient/" + alt.patient, alt.compartment_params, p.id, rows)) {
          continue;
        }
        reachable = true;
        break;
      }
      if (!reachable) continue;
    }
    Candidate c;
    c.seq = row.seq;
    c.index = index++;
    c.key = Key{row.recorded, std::string(kType), p.id};
    c.match = SearchMatch{std::string(kType), p.id, 1, row.recorded, std::move(content)};
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::optional<SearchQuery>> ProvenanceMergingSearch::ResolveChains(
    const SearchQuery& query, const search::SearchParameterRegistry& registry) {
  SearchQuery resolved = query;
  for (search::Clause& c : resolved.clauses) {
    if (!c.chain || !c.has_type.empty()) continue;
    // The resources of each target type the chain's criterion finds, through the generic
    // backend (which evaluates deeper chains itself).
    std::vector<std::string> references;
    for (const std::string& type : c.target_types) {
      SearchQuery targets;
      targets.type = type;
      targets.base_url = query.base_url;
      targets.count = kMaxChainedResources + 1 - static_cast<int>(references.size());
      search::Clause criterion = *c.chain;
      if (criterion.param != nullptr) {  // not _id, _lastUpdated or _has: this type's parameter
        criterion.param = registry.Find(type, criterion.name);
        if (criterion.param == nullptr) continue;
      }
      targets.clauses.push_back(std::move(criterion));
      FOVEA_ASSIGN_OR_RETURN(SearchResult found, inner_.Search(targets));
      for (const SearchMatch& m : found.matches) references.push_back(m.type + "/" + m.id);
      if (references.size() > static_cast<std::size_t>(kMaxChainedResources) || found.next_cursor) {
        return Status(StatusCode::kNotSupported,
                      "The chained criterion '" + c.name + "' names more than " +
                          std::to_string(kMaxChainedResources) +
                          " resources; with Provenance read from the audit trail (--provenance "
                          "audit-trail) a chain in a Provenance search is resolved to them first: "
                          "narrow it");
      }
    }
    if (references.empty()) return std::optional<SearchQuery>();  // nothing can match
    c.chain.reset();
    c.target_types.clear();
    c.modifier.clear();
    c.values = std::move(references);
  }
  return std::optional<SearchQuery>(std::move(resolved));
}

Result<SearchResult> ProvenanceMergingSearch::SearchProvenance(const SearchQuery& query) {
  const std::shared_ptr<const search::SearchParameterRegistry> registry = registry_->Get();
  if (std::any_of(query.clauses.begin(), query.clauses.end(),
                  [](const search::Clause& c) { return c.chain != nullptr && c.has_type.empty(); })) {
    FOVEA_ASSIGN_OR_RETURN(std::optional<SearchQuery> resolved, ResolveChains(query, *registry));
    if (resolved) return SearchProvenance(*resolved);
    SearchResult none;
    if (query.total != search::TotalMode::kNone || query.summary_count) none.total = 0;
    return none;
  }
  FOVEA_ASSIGN_OR_RETURN(Order order, OrderOf(query));
  const SearchQuery derived_query = WithLastUpdatedAsRecorded(query, *registry);
  if (Status st = search::CheckMatchable(derived_query); !st.ok()) {
    return Status(StatusCode::kNotSupported,
                  "With Provenance read from the audit trail (--provenance audit-trail), this "
                  "Provenance search is not supported: " + st.message());
  }
  // Only the parameters the clauses, the compartment and the access restrictions name are
  // extracted from each candidate (most of a Provenance's are never asked for).
  std::set<std::string, std::less<>> names;
  for (const search::Clause& c : derived_query.clauses) names.insert(c.name);
  for (const std::string& p : derived_query.compartment_params) names.insert(p);
  for (const search::AccessAlternative& alt : derived_query.access_any) {
    for (const search::Clause& c : alt.clauses) names.insert(c.name);
    for (const std::string& p : alt.compartment_params) names.insert(p);
  }
  const search::ParameterFilter wanted = [&names](std::string_view param) {
    return names.count(param) > 0;
  };
  Cursor cursor;
  if (query.cursor) {
    auto decoded = Cursor::Decode(*query.cursor);
    if (!decoded) return common::InvalidError("The paging cursor is malformed or belongs to another search");
    cursor = std::move(*decoded);
  }
  const std::size_t count = static_cast<std::size_t>(std::max(query.count, 0));

  // The audit rows that can hold a match: looked up by target, patient or agent when the query
  // names one (a superset: the clauses decide).
  AuditQuery rows;
  bool no_derived = false;  // `_id` names a stored Provenance
  rows.writes_only = true;
  rows.oldest_first = !order.descending;
  rows.count = kAuditRowsPerFetch;
  for (const search::Clause& c : query.clauses) {
    if (!c.modifier.empty() || c.chain || c.values.empty()) continue;
    if ((c.name == "target" || c.name == "patient") && rows.entity_any.empty()) {
      std::vector<std::string> any;
      for (const std::string& v : c.values) any.push_back(LocalReference(v, query.base_url));
      if (std::find(any.begin(), any.end(), "") == any.end()) rows.entity_any = std::move(any);
    }
    if (c.name == "agent" && c.values.size() == 1) rows.agent = LocalReference(c.values[0], query.base_url);
    if (c.name == "_id" && c.values.size() == 1) {
      // Only a derived id can match a derived Provenance: its row, or none.
      auto id = ParseDerivedProvenanceId(c.values[0]);
      if (id) rows.seq = id->seq;
      no_derived = !id.has_value();
    }
  }
  if (query.compartment_type == "Patient" && rows.entity_any.empty()) {
    // Provenance's Patient compartment is its `patient`: a target that is the Patient.
    rows.entity_any = {"Patient/" + query.compartment_id};
  }

  SearchResult result;
  if (query.total != search::TotalMode::kNone || query.summary_count) {
    SearchQuery counted = query;
    counted.summary_count = true;
    counted.cursor.reset();
    counted.includes.clear();
    FOVEA_ASSIGN_OR_RETURN(SearchResult stored, inner_.Search(counted));
    std::int64_t total = stored.total.value_or(0);
    AuditQuery all = rows;
    all.oldest_first = true;
    for (int seen = 0; !no_derived && seen < kMaxRowsCounted;) {
      FOVEA_ASSIGN_OR_RETURN(AuditPage page, audit_.Search(all));
      for (const AuditRow& row : page.rows) {
        total += static_cast<std::int64_t>(Matching(row, derived_query, *registry, wanted).size());
      }
      seen += static_cast<int>(page.rows.size());
      if (!page.next_after_seq) break;
      all.after_seq = page.next_after_seq;
    }
    result.total = total;
    if (query.summary_count) return result;
  }

  if (count == 0) return result;

  // The stored side: from its page's start, skipping what earlier pages returned.
  std::vector<SearchMatch> stored;
  std::optional<std::string> stored_next;
  if (!cursor.inner_done) {
    SearchQuery inner_query = query;
    inner_query.total = search::TotalMode::kNone;
    inner_query.cursor = cursor.inner.empty() ? std::nullopt : std::optional<std::string>(cursor.inner);
    inner_query.count = static_cast<int>(cursor.skip + static_cast<std::int64_t>(count));
    FOVEA_ASSIGN_OR_RETURN(SearchResult inner_page, inner_.Search(inner_query));
    const std::size_t skip = std::min(inner_page.matches.size(), static_cast<std::size_t>(cursor.skip));
    stored.assign(std::make_move_iterator(inner_page.matches.begin() + static_cast<std::ptrdiff_t>(skip)),
                  std::make_move_iterator(inner_page.matches.end()));
    stored_next = inner_page.next_cursor;
    result.included = std::move(inner_page.included);
  }

  // The derived side: the rest of the cursor's row, then the rows after it, until the page
  // could be filled from them alone (or the rows run out, or enough were examined).
  std::vector<Candidate> derived;
  if (cursor.row > 0 && cursor.taken > 0) {
    auto row = audit_.Read(cursor.row);
    if (row.has_value()) {
      std::vector<Candidate> rest = Matching(*row, derived_query, *registry, wanted);
      for (std::size_t i = static_cast<std::size_t>(cursor.taken); i < rest.size(); ++i) {
        derived.push_back(std::move(rest[i]));
      }
    } else if (row.error().code() != StatusCode::kNotFound) {
      return row.error();
    }
  }
  if (cursor.row > 0) rows.after_seq = cursor.row;
  bool derived_exhausted = no_derived;
  std::optional<Key> frontier;  // past this, the derived side was not read
  for (int examined = 0; !no_derived && derived.size() < count;) {
    FOVEA_ASSIGN_OR_RETURN(AuditPage page, audit_.Search(rows));
    for (const AuditRow& row : page.rows) {
      for (Candidate& c : Matching(row, derived_query, *registry, wanted)) derived.push_back(std::move(c));
    }
    examined += static_cast<int>(page.rows.size());
    if (!page.next_after_seq) {
      derived_exhausted = true;
      break;
    }
    rows.after_seq = page.next_after_seq;
    if (examined >= kMaxAuditRowsPerPage) {
      frontier = Key{page.rows.back().recorded, {}, {}};
      break;
    }
  }

  // Merge: the earlier of the two heads each time, stored first on a tie, never past the
  // frontier (a derived result beyond it may come before the next stored one).
  std::vector<Key> stored_keys;
  stored_keys.reserve(stored.size());
  for (const SearchMatch& m : stored) stored_keys.push_back(StoredKey(m, order));
  std::size_t si = 0, di = 0;
  auto within = [&](const Key& k) {
    if (!frontier) return true;
    return order.descending ? k.time >= frontier->time : k.time <= frontier->time;
  };
  while (result.matches.size() < count) {
    const bool have_stored = si < stored.size() && within(stored_keys[si]);
    const bool have_derived = di < derived.size();
    if (!have_stored && !have_derived) break;
    if (have_stored && (!have_derived || !Before(derived[di].key, stored_keys[si], order.descending))) {
      result.matches.push_back(std::move(stored[si++]));
    } else {
      result.matches.push_back(std::move(derived[di++].match));
    }
  }

  if (query.type.empty()) FOVEA_RETURN_IF_ERROR(AddRevIncluded(query, result));  // other types' matches
  FOVEA_RETURN_IF_ERROR(AddIncludedTargets(query, result));

  // Where the next page starts.
  Cursor next = cursor;
  if (!cursor.inner_done) {
    if (si == stored.size()) {
      next.inner_done = !stored_next.has_value();
      next.inner = stored_next.value_or("");
      next.skip = 0;
    } else {
      next.skip = cursor.skip + static_cast<std::int64_t>(si);
    }
  }
  if (di > 0) {
    const Candidate& last = derived[di - 1];
    next.row = last.seq;
    next.taken = static_cast<std::int64_t>(last.index) + 1;
  }
  const bool more_stored = !next.inner_done;
  const bool more_derived = di < derived.size() || !derived_exhausted;
  if (more_stored || more_derived) result.next_cursor = next.Encode();
  return result;
}

Status ProvenanceMergingSearch::AddIncludedTargets(const SearchQuery& query, SearchResult& result) {
  // The references a derived Provenance's `_include` can follow: its targets (`target`, and
  // `patient` for Patient targets) and its user (`agent`). From the page's matches every
  // Provenance include applies; from the included (revincluded) ones the :iterate ones.
  auto follows = [&](std::string_view param, std::string_view type, bool included) {
    return std::any_of(query.includes.begin(), query.includes.end(), [&](const search::Include& inc) {
      return !inc.reverse && inc.source_type == kType && (inc.iterate || !included) &&
             (inc.param == "*" || inc.param == param) && (inc.target_type.empty() || inc.target_type == type);
    });
  };
  if (!std::any_of(query.includes.begin(), query.includes.end(),
                   [](const search::Include& inc) { return !inc.reverse && inc.source_type == kType; })) {
    return Status::Ok();
  }
  std::map<std::string, std::vector<std::string>> ids;  // type -> ids to include
  auto add = [&](const std::string& reference, std::string_view param, bool included) {
    const std::string local(model::WithoutHistory(reference));
    const std::size_t slash = local.find('/');
    if (slash == std::string::npos) return;
    const std::string type = local.substr(0, slash);
    if (param == "patient" && type != "Patient") return;
    if (!follows(param, type, included)) return;
    std::vector<std::string>& list = ids[type];
    const std::string id = local.substr(slash + 1);
    if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
  };
  auto add_from = [&](const SearchMatch& m, bool included) {
    // A stored one's references: the generic backend included them.
    if (m.type != kType || !ParseDerivedProvenanceId(m.id)) return;
    auto json = common::ParseJson(m.content);
    if (!json.has_value() || !json->is_object()) return;
    if (const common::JsonValue* targets = json->Find("target"); targets != nullptr && targets->is_array()) {
      for (const common::JsonValue& t : targets->items()) {
        if (const common::JsonValue* r = t.Find("reference"); r != nullptr && r->is_string()) {
          add(r->scalar(), "target", included);
          add(r->scalar(), "patient", included);
        }
      }
    }
    if (const common::JsonValue* agents = json->Find("agent"); agents != nullptr && agents->is_array()) {
      for (const common::JsonValue& a : agents->items()) {
        const common::JsonValue* who = a.Find("who");
        const common::JsonValue* r = who != nullptr ? who->Find("reference") : nullptr;
        if (r != nullptr && r->is_string()) add(r->scalar(), "agent", included);
      }
    }
  };
  for (const SearchMatch& m : result.matches) add_from(m, false);
  for (const SearchMatch& m : result.included) add_from(m, true);
  for (auto& [type, list] : ids) {
    SearchQuery q;
    q.type = type;
    q.base_url = query.base_url;
    q.count = kMaxIncluded;
    search::Clause by_id;
    by_id.name = "_id";
    by_id.values = list;
    q.clauses.push_back(std::move(by_id));
    FOVEA_ASSIGN_OR_RETURN(SearchResult found, inner_.Search(q));
    for (SearchMatch& m : found.matches) {
      const bool have = std::any_of(result.included.begin(), result.included.end(), [&](const SearchMatch& i) {
        return i.type == m.type && i.id == m.id;
      });
      if (!have && result.included.size() < static_cast<std::size_t>(kMaxIncluded)) {
        result.included.push_back(std::move(m));
      }
    }
  }
  return Status::Ok();
}

Status ProvenanceMergingSearch::AddRevIncluded(const SearchQuery& query, SearchResult& result) {
  // Whether a Provenance `_revinclude` reaches `type` resources: through `target` (or `*`) for
  // any type, through `patient` for Patients. From the page's matches every one applies; from
  // what the generic backend included, the :iterate ones.
  auto reaches = [&](const std::string& type, bool included) {
    return std::any_of(query.includes.begin(), query.includes.end(), [&](const search::Include& inc) {
      if (!inc.reverse || inc.source_type != kType || (included && !inc.iterate)) return false;
      if (!inc.target_type.empty() && inc.target_type != type) return false;
      return inc.param == "target" || inc.param == "*" || (inc.param == "patient" && type == "Patient");
    });
  };
  std::vector<std::string> sources;  // "Type/id"
  for (const SearchMatch& m : result.matches) {
    if (reaches(m.type, false)) sources.push_back(m.type + "/" + m.id);
  }
  for (const SearchMatch& m : result.included) {
    if (m.type != kType && reaches(m.type, true)) sources.push_back(m.type + "/" + m.id);
  }
  if (sources.empty()) return Status::Ok();
  std::vector<std::string> seen;
  for (const SearchMatch& m : result.included) {
    if (m.type == kType) seen.push_back(m.id);
  }
  // One lookup for the whole page: the write rows naming any of its resources.
  const std::set<std::string, std::less<>> wanted(sources.begin(), sources.end());
  AuditQuery rows;
  rows.writes_only = true;
  rows.oldest_first = true;
  rows.entity_any = std::move(sources);
  rows.count = kAuditRowsPerFetch;
  while (result.included.size() < static_cast<std::size_t>(kMaxIncluded)) {
    FOVEA_ASSIGN_OR_RETURN(AuditPage page, audit_.Search(rows));
    for (const AuditRow& row : page.rows) {
      for (DerivedProvenance& p : DerivedProvenancesOf(row)) {
        // A row's other kind of change may name none of them.
        const bool names_one = std::any_of(p.record.targets.begin(), p.record.targets.end(),
                                           [&](const std::string& t) { return wanted.count(model::WithoutHistory(t)) > 0; });
        if (!names_one || std::find(seen.begin(), seen.end(), p.id) != seen.end()) continue;
        seen.push_back(p.id);
        result.included.push_back(
            SearchMatch{std::string(kType), p.id, 1, row.recorded, ServedProvenanceJson(p)});
      }
    }
    if (!page.next_after_seq) break;
    rows.after_seq = page.next_after_seq;
  }
  return Status::Ok();
}

}  // namespace fhir::audit
