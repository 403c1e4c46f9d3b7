// audit_bench: what one AuditEvent costs to store, through Fovea's own code, in batches as
// AuditLog writes them.
//
//   audit_bench --dsn DSN [--rows N] [--batch B] [--compare] [--searches K]
//
// Appends N AuditEvents (a mixed read/search/update workload) as AuditLog does, B per
// PgAuditStore::AppendLines (audit blocks, migration 0016), and prints one JSON line: the time
// to build each event's line (AppendAuditLine, paid in the request thread by AuditLog::Record),
// the time AuditRowFor took before that, and the events stored per second.
// With --searches it then times K auditor searches of each kind over what it stored (by
// patient, by user, by resource alone, by a resource no event names; a page of 20) and prints
// their medians in milliseconds: a search by resource alone walks the blocks' filters.
// With --compare it also stores the same events as one audit_event row each, B per statement
// (kAppendAuditEvents: how a write's own AuditEvent is stored, and how every event was stored
// before migration 0016), and as FHIR resources with their FHIRPath search-index rows through
// ResourceStore::CreateAll (before migration 0004): a line each.
// The database is migrated first. Only local databases (unix socket or loopback) are accepted:
// point it at a throwaway cluster (scripts/pg-throwaway.sh).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "fhir/audit/audit_lines.h"
#include "fhir/audit/audit_store.h"
#include "fhir/audit/pg/pg_audit_store.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/migrations.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "fhir/store/pg/queries.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dsn;
  int rows = 20'000;
  int batch = 200;
  bool compare = false;
  int searches = 0;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "audit_bench: %s\n", message.c_str());
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--compare") {
      o.compare = true;
      continue;
    }
    if (i + 1 >= argc) {
      Die("usage: audit_bench --dsn DSN [--rows N] [--batch B] [--compare] [--searches K]");
    }
    const std::string value = argv[++i];
    if (flag == "--dsn") {
      o.dsn = value;
    } else if (flag == "--rows") {
      o.rows = static_cast<int>(bench::ParseNonNegative(flag, value));
    } else if (flag == "--batch") {
      o.batch = static_cast<int>(bench::ParseNonNegative(flag, value));
    } else if (flag == "--searches") {
      o.searches = static_cast<int>(bench::ParseNonNegative(flag, value));
    } else {
      Die("unknown flag " + flag);
    }
  }
  if (o.rows < 1 || o.batch < 1) Die("--rows and --batch must be at least 1");
  return o;
}

// Event n: reads, searches and updates by a few users over many patients, as a clinic's day.
fhir::audit::AuditRecord Event(int n, common::TimePoint now) {
  using fhir::audit::Interaction;
  fhir::audit::AuditRecord r;
  r.recorded = now;
  static constexpr Interaction kMix[] = {Interaction::kRead, Interaction::kRead,
                                         Interaction::kSearchType, Interaction::kUpdate};
  r.interaction = kMix[n % 4];
  r.http_status = r.interaction == Interaction::kUpdate ? 200 : (n % 50 == 0 ? 404 : 200);
  r.agent_reference = "Practitioner/prac-" + std::to_string(n % 40);
  r.user_id = "user-" + std::to_string(n % 40);
  r.user_name = "Bench User " + std::to_string(n % 40);
  r.client_id = "chart-app";
  r.token_id = "tok-" + std::to_string(n % 97);
  r.source_address = "10.0." + std::to_string(n % 250) + ".1";
  r.server_address = "https://fhir.example.org/fhir/R4";
  r.observer = "fovea";
  r.request_id = "req-" + std::to_string(n);
  r.patients = {"Patient/p" + std::to_string(n % 5000)};
  if (r.interaction == Interaction::kSearchType) {
    r.query = "Observation?patient=Patient/p" + std::to_string(n % 5000) + "&_count=20";
  } else {
    r.entities = {"Observation/o" + std::to_string(n) + "/_history/1"};
  }
  return r;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Print(const char* path, const Options& o, double build_s, double store_s) {
  std::printf(
      "{\"path\":\"%s\",\"rows\":%d,\"batch\":%d,\"build_us_per_row\":%.2f,"
      "\"store_seconds\":%.3f,\"rows_per_sec\":%.0f}\n",
      path, o.rows, o.batch, build_s * 1e6 / o.rows, store_s, o.rows / store_s);
  std::fflush(stdout);
}

// The batches of `all`, B at a time.
template <class T>
std::vector<std::vector<T>> Batches(std::vector<T> all, int batch) {
  std::vector<std::vector<T>> out;
  for (std::size_t i = 0; i < all.size(); i += static_cast<std::size_t>(batch)) {
    auto end = std::min(all.size(), i + static_cast<std::size_t>(batch));
    out.emplace_back(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(i)),
                     std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
  }
  return out;
}

// The workload's rows (AuditRowFor per event, timed: `build_seconds`), in batches of B.
std::vector<std::vector<fhir::audit::AuditRow>> RowBatches(const Options& o, double& build_seconds) {
  const common::TimePoint now = common::SystemClock().Now();
  auto t0 = Clock::now();
  std::vector<fhir::audit::AuditRow> rows;
  rows.reserve(static_cast<std::size_t>(o.rows));
  for (int n = 0; n < o.rows; ++n) rows.push_back(fhir::audit::AuditRowFor(Event(n, now)));
  build_seconds = Seconds(Clock::now() - t0);
  return Batches(std::move(rows), o.batch);
}

// The audit_block path, as AuditLog takes it: each event's line, one AppendLines per batch.
void RunBlocks(fhir::store::pg::ConnectionPool& pool, const Options& o) {
  double row_seconds = 0;
  (void)RowBatches(o, row_seconds);  // for comparison: what Record paid before lines
  const common::TimePoint now = common::SystemClock().Now();
  std::vector<std::string> batches;
  auto t0 = Clock::now();
  for (int n = 0; n < o.rows; ++n) {
    if (n % o.batch == 0) batches.emplace_back();
    // 20,000 events a second: searches stop at the blocks older than their page, as in a
    // real trail (events sharing one instant would make every block a candidate).
    fhir::audit::AppendAuditLine(batches.back(), Event(n, now + std::chrono::microseconds(50 * n)));
  }
  const double line_seconds = Seconds(Clock::now() - t0);
  fhir::audit::pg::PgAuditStore store(pool);
  auto t1 = Clock::now();
  for (const std::string& b : batches) {
    if (common::Status st = store.AppendLines(b); !st.ok()) Die("append failed: " + st.message());
  }
  const double store_s = Seconds(Clock::now() - t1);
  std::printf(
      "{\"path\":\"audit_block\",\"rows\":%d,\"batch\":%d,\"line_us_per_event\":%.2f,"
      "\"row_us_per_event_before\":%.2f,\"store_seconds\":%.3f,\"rows_per_sec\":%.0f}\n",
      o.rows, o.batch, line_seconds * 1e6 / o.rows, row_seconds * 1e6 / o.rows, store_s,
      o.rows / store_s);
  std::fflush(stdout);
}

// Median milliseconds of `k` runs of `search(i)`.
template <class Search>
double MedianMs(int k, Search search) {
  std::vector<double> ms;
  for (int i = 0; i < k; ++i) {
    auto t0 = Clock::now();
    search(i);
    ms.push_back(Seconds(Clock::now() - t0) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Auditors' searches over what RunBlocks stored, a page of 20 each, newest first.
void RunSearches(fhir::store::pg::ConnectionPool& pool, const Options& o) {
  fhir::audit::pg::PgAuditStore store(pool);
  auto page = [&](fhir::audit::AuditQuery q) {
    q.count = 20;
    auto result = store.Search(q);
    if (!result.has_value()) Die("search failed: " + result.error().message());
    return result->rows.size();
  };
  std::size_t found = 0;
  const double patient_ms = MedianMs(o.searches, [&](int i) {
    fhir::audit::AuditQuery q;
    q.patient = "Patient/p" + std::to_string((i * 7919) % 5000);
    found += page(q);
  });
  const double agent_ms = MedianMs(o.searches, [&](int i) {
    fhir::audit::AuditQuery q;
    q.agent = "Practitioner/prac-" + std::to_string(i % 40);
    found += page(q);
  });
  const double entity_ms = MedianMs(o.searches, [&](int i) {
    fhir::audit::AuditQuery q;
    int n = (i * 7919) % o.rows;
    if (n % 4 == 2) ++n;  // a search names no resource
    q.entity = "Observation/o" + std::to_string(n);
    found += page(q);
  });
  const double missing_ms = MedianMs(o.searches, [&](int i) {
    fhir::audit::AuditQuery q;
    q.entity = "Observation/none-" + std::to_string(i);
    found += page(q);
  });
  std::printf(
      "{\"path\":\"audit_search\",\"rows\":%d,\"batch\":%d,\"searches\":%d,"
      "\"by_patient_ms\":%.2f,\"by_agent_ms\":%.2f,\"by_resource_ms\":%.2f,"
      "\"by_absent_resource_ms\":%.2f,\"events_found\":%zu}\n",
      o.rows, o.batch, o.searches, patient_ms, agent_ms, entity_ms, missing_ms, found);
  std::fflush(stdout);
}

// One audit_event row per event, B per statement, as a write's statement inserts them.
void RunEventRows(fhir::store::pg::ConnectionPool& pool, const Options& o) {
  double build_seconds = 0;
  auto batches = RowBatches(o, build_seconds);
  auto conn = pool.Acquire();
  if (!conn.has_value()) Die("no connection: " + conn.error().message());
  auto t0 = Clock::now();
  for (const auto& b : batches) {
    auto r = (*conn)->Execute(fhir::store::pg::kAppendAuditEvents, {fhir::audit::AuditRowsJson(b)});
    if (!r.has_value()) Die("append failed: " + r.error().message());
  }
  Print("audit_event_rows", o, build_seconds, Seconds(Clock::now() - t0));
}

// The previous path: each AuditEvent a resource (parsed, stamped, FHIRPath-indexed), stored with
// CreateAll: resource, history, change-log and ~25 index rows per event.
void RunResources(fhir::store::pg::ConnectionPool& pool, const Options& o) {
  const common::TimePoint now = common::SystemClock().Now();
  const auto registry = fhir::search::SearchParameterRegistry::R4();
  auto t0 = Clock::now();
  std::vector<fhir::store::ResourceVersion> versions;
  versions.reserve(static_cast<std::size_t>(o.rows));
  for (int n = 0; n < o.rows; ++n) {
    fhir::model::FailFastSink issues;
    auto root = fhir::format::ParseResourceJson(fhir::audit::AuditEventJson(Event(n, now)),
                                                fhir::definitions::Definitions::R4(), issues);
    if (!root.has_value() || issues.HasErrors()) Die("an AuditEvent does not parse");
    fhir::store::ResourceVersion v;
    v.id = fhir::model::LogicalId::Generate().value();
    v.type = "AuditEvent";
    v.version = 1;
    v.last_updated = now;
    root->SetPrimitiveChild("id", v.id);
    fhir::model::Element* meta = root->ChildOrAdd("meta");
    meta->SetPrimitiveChild("versionId", "1");
    meta->SetPrimitiveChild("lastUpdated", common::FormatInstant(now));
    v.content = fhir::format::WriteResourceJson(*root);
    v.index_rows_json = fhir::search::ExtractIndex(*root, *registry).ToJson();
    versions.push_back(std::move(v));
  }
  auto t1 = Clock::now();
  auto batches = Batches(std::move(versions), o.batch);
  fhir::store::pg::PgResourceStore store(pool);
  auto t2 = Clock::now();
  for (const auto& b : batches) {
    if (common::Status st = store.CreateAll(b); !st.ok()) Die("CreateAll failed: " + st.message());
  }
  Print("resources", o, Seconds(t1 - t0), Seconds(Clock::now() - t2));
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  bench::CheckDsnIsLocal(o.dsn);
  {
    auto conn = fhir::store::pg::PgConnection::Connect(o.dsn);
    if (!conn.has_value()) Die("cannot connect: " + conn.error().message());
    auto migrated = fhir::store::pg::Migrate(**conn);
    if (!migrated.has_value()) Die("migration failed: " + migrated.error().message());
  }
  fhir::store::pg::ConnectionPool pool(o.dsn, 1);
  RunBlocks(pool, o);
  if (o.searches > 0) RunSearches(pool, o);
  if (o.compare) RunEventRows(pool, o);
  if (o.compare) RunResources(pool, o);
  return 0;
}
