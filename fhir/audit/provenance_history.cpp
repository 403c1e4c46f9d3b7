#include "fhir/audit/provenance_history.h"

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

namespace fhir::audit {

using common::Status;
using common::StatusCode;

store::ResourceVersion DerivedProvenanceVersion(const AuditRow& row,
                                                const DerivedProvenance& provenance) {
  store::ResourceVersion v;
  v.type = "Provenance";
  v.id = provenance.id;
  v.version = 1;
  v.last_updated = row.recorded;
  v.method = store::Method::kCreate;
  v.content = ServedProvenanceJson(provenance);
  return v;
}

common::Result<store::ResourceVersion> ReadDerivedProvenance(AuditStore& audit, std::string_view id) {
  const Status not_found(StatusCode::kNotFound, "Provenance/" + std::string(id) + " is not known");
  auto parsed = ParseDerivedProvenanceId(id);
  if (!parsed.has_value()) return not_found;
  auto row = audit.Read(parsed->seq);
  if (!row.has_value()) return row.error().code() == StatusCode::kNotFound ? not_found : row.error();
  for (const DerivedProvenance& provenance : DerivedProvenancesOf(*row)) {
    if (provenance.id == id) return DerivedProvenanceVersion(*row, provenance);
  }
  return not_found;
}

std::string AuditHistoryCursor::ToString() const {
  std::string out = std::to_string(seq);
  if (past) out += '~';
  else if (skip > 0) out += "-" + std::to_string(skip);
  return out;
}

std::optional<AuditHistoryCursor> AuditHistoryCursor::Parse(std::string_view text) {
  AuditHistoryCursor c;
  const char* end = text.data() + text.size();
  auto [at, ec] = std::from_chars(text.data(), end, c.seq);
  if (ec != std::errc() || at == text.data() || c.seq < 0) return std::nullopt;
  if (at + 1 == end && *at == '~' && c.seq > 0) {
    c.past = true;
    return c;
  }
  if (at != end) {
    if (*at != '-' || c.seq == 0) return std::nullopt;
    auto [skip_end, skip_ec] = std::from_chars(at + 1, end, c.skip);
    if (skip_ec != std::errc() || skip_end != end || skip_end == at + 1 || c.skip <= 0) return std::nullopt;
  }
  return c;
}

bool HistoryHasDerivedProvenance(const std::optional<std::string>& type) {
  return !type || *type == "Provenance";
}

namespace {

// The derived side of a page: Provenances in the audit trail's order, each with its position.
struct DerivedEntry {
  store::ResourceVersion version;
  AuditHistoryCursor at;
};

// Where a derived side stopped looking, when it did before the end: the last row it read. The
// rows it did not read are older than that (or as old, with a lower seq).
struct Frontier {
  common::TimePoint recorded{};
  std::int64_t seq = 0;
};

struct DerivedEntries {
  std::vector<DerivedEntry> entries;
  std::optional<Frontier> frontier;
};

// Appends the derived Provenances of `row` from the `skip`-th on.
void AppendDerived(const AuditRow& row, int skip, std::vector<DerivedEntry>& out) {
  std::vector<DerivedProvenance> provenances = DerivedProvenancesOf(row);
  for (std::size_t i = static_cast<std::size_t>(skip); i < provenances.size(); ++i) {
    out.push_back({DerivedProvenanceVersion(row, provenances[i]), {row.seq, static_cast<int>(i)}});
  }
}

// The derived Provenances from `cursor` on (nullopt: from the newest), none older than `since`:
// more than `count` of them unless that is all there are, or a frontier where it stopped
// looking (kMaxAuditRowsPerPage).
common::Result<DerivedEntries> DerivedSide(AuditStore& audit, const std::optional<common::TimePoint>& since,
                                           std::optional<AuditHistoryCursor> cursor, int count) {
  DerivedEntries out;
  std::vector<DerivedEntry>& entries = out.entries;
  if (cursor && cursor->end()) return out;
  AuditQuery q;
  q.writes_only = true;
  q.recorded_from = since;
  if (cursor && cursor->past) {
    q.after_seq = cursor->seq;
  } else if (cursor) {
    // The cursor's own row first (the search continues past it).
    auto row = audit.Read(cursor->seq);
    if (!row.has_value()) {
      if (row.error().code() == StatusCode::kNotFound) return common::InvalidError("Malformed paging cursor");
      return row.error();
    }
    if (AuditRowMatches(*row, q)) AppendDerived(*row, cursor->skip, entries);
    q.after_seq = cursor->seq;
  }
  int examined = 0;
  while (static_cast<int>(entries.size()) <= count) {
    // What is missing; once rows gave none, bigger steps (a run of rows with no Provenance).
    q.count = count + 1 - static_cast<int>(entries.size());
    if (examined > 0) q.count = std::max(q.count, kAuditRowsPerFetch);
    FOVEA_ASSIGN_OR_RETURN(AuditPage page, audit.Search(q));
    for (const AuditRow& row : page.rows) AppendDerived(row, 0, entries);
    examined += static_cast<int>(page.rows.size());
    if (!page.next_after_seq) break;
    q.after_seq = page.next_after_seq;
    if (examined >= kMaxAuditRowsPerPage && static_cast<int>(entries.size()) <= count) {
      out.frontier = Frontier{page.rows.back().recorded, page.rows.back().seq};
      break;
    }
  }
  return out;
}

}  // namespace

common::Result<MergedHistoryPage> MergedHistory(store::ResourceStore& store, AuditStore& audit,
                                                const store::HistoryQuery& query,
                                                std::optional<AuditHistoryCursor> before_audit) {
  MergedHistoryPage out;
  const int count = query.count;
  if (count <= 0) return out;
  // Each side's next entries (more than `count` of the derived); the page takes the newest of
  // both.
  store::HistoryPage stored;
  if (!query.before_seq || *query.before_seq > 0) {
    FOVEA_ASSIGN_OR_RETURN(stored, store.History(query));
  }
  FOVEA_ASSIGN_OR_RETURN(DerivedEntries side, DerivedSide(audit, query.since, before_audit, count));
  std::vector<DerivedEntry>& derived = side.entries;

  // A stored version can be taken before the derived side's unread rows only if it is not older
  // than the last row read.
  auto may_take = [&](const store::ResourceVersion& v) {
    return !side.frontier || v.last_updated >= side.frontier->recorded;
  };
  std::size_t s = 0, d = 0;
  while (static_cast<int>(out.page.entries.size()) < count) {
    const bool have_stored = s < stored.entries.size() && may_take(stored.entries[s]);
    if (!have_stored && d == derived.size()) break;
    // Newest first; on the same instant the stored version first (a write's Provenance is
    // about it).
    const bool take_stored =
        have_stored && (d == derived.size() || stored.entries[s].last_updated >= derived[d].version.last_updated);
    if (take_stored) out.page.entries.push_back(std::move(stored.entries[s++]));
    else out.page.entries.push_back(std::move(derived[d++].version));
  }

  const bool stored_left = s < stored.entries.size() || stored.next_before_seq.has_value();
  // DerivedSide read past `count` if it could, or says where it stopped.
  const bool derived_left = d < derived.size() || side.frontier.has_value();
  if (!stored_left && !derived_left) return out;
  MergedHistoryPage::Next next;
  // Each side's next page starts at its first entry not taken; 0 once it has no more.
  if (s < stored.entries.size()) next.before_seq = stored.entries[s].seq + 1;
  else if (stored_left) next.before_seq = *stored.next_before_seq;
  if (d < derived.size()) next.audit = derived[d].at;
  else if (side.frontier) next.audit = AuditHistoryCursor{side.frontier->seq, 0, true};
  out.next = next;
  return out;
}

}  // namespace fhir::audit
