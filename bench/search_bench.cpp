// search_bench: loads a vision-screening data set through Fovea's normal write path, then
// measures typical searches over HTTP against (a) the very SQL Fovea generates for them, run over
// raw libpq, and (b) hand-written SQL over the same sp_* index tables, in the same run.
//
//   search_bench --phase load   --base URL --dsn DSN [--patients 10000] [--observations 200000]
//                [--concurrency 8] [--timeout-seconds 1200]
//   search_bench --phase query  --base URL --dsn DSN [--iterations 200] [--warmup 20]
//                [--plans-out FILE]
//   search_bench --phase create --base URL --dsn DSN [--concurrency 8] [--duration-seconds 5]
//                [--warmup-seconds 1]
//
// load:   PUT Patient/p1..pN, then PUT Observation/o1..oM (deterministic ids and content, so the
//         hand-written SQL can target known values), over N keep-alive connections, with
//         `Prefer: return=minimal` as a bulk loader would send. Ends with VACUUM (ANALYZE).
// query:  for each query, M iterations (after a warm-up) with varied parameter values; each
//         iteration runs the HTTP search, Fovea's SQL (ParseSearch + BuildSearchSql, sent with
//         PQexecParams as PgSearchBackend does) and the hand-written SQL (a prepared statement),
//         in rotating order so that neither profits from the other's cache warming. The ids the
//         three return are compared. Every iteration's plan is checked with EXPLAIN for a
//         sequential scan of an sp_* table; one EXPLAIN (ANALYZE, BUFFERS) per query goes to
//         --plans-out.
// create: POST Observation (Prefer default, so the stored resource comes back) from N threads
//         for S seconds: the write throughput with search indexing.
//
// One JSON line per measurement goes to stdout (scripts/bench_search_report.py renders them);
// progress goes to stderr. Only loopback targets are accepted.

#include <libpq-fe.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "fhir/rest/http_types.h"
#include "fhir/model/issues.h"
#include "fhir/search/search_parameter.h"
#include "fhir/search/search_query.h"
#include "fhir/search/sql_builder.h"

namespace {

using Clock = std::chrono::steady_clock;
using Params = std::vector<std::pair<std::string, std::string>>;

constexpr auto kIoTimeout = std::chrono::seconds(30);
constexpr int kMaxConcurrency = 256;
constexpr int kWriteAttempts = 3;
constexpr int kMaxIncluded = 1000;  // PgSearchBackend::kMaxIncluded

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "search_bench: %s\n", message.c_str());
  std::exit(2);
}

void Log(const std::string& message) {
  std::fprintf(stderr, "search_bench: %s\n", message.c_str());
  std::fflush(stderr);
}

enum class Phase { kLoad, kQuery, kCreate };

struct Options {
  Phase phase = Phase::kQuery;
  std::string base = "http://127.0.0.1:8080/fhir/R4";
  std::string dsn;
  int patients = 10000;
  int observations = 200000;
  int concurrency = 8;
  double timeout_seconds = 1200;
  int iterations = 200;
  int warmup = 20;
  std::string plans_out;
  double duration_seconds = 5;
  double warmup_seconds = 1;
};

void Usage() {
  std::fprintf(stderr,
               "usage: search_bench --phase load|query|create --base URL --dsn DSN\n"
               "  load:   [--patients N] [--observations N] [--concurrency N] "
               "[--timeout-seconds S]\n"
               "  query:  [--iterations M] [--warmup W] [--plans-out FILE]\n"
               "  create: [--concurrency N] [--duration-seconds S] [--warmup-seconds W]\n");
  std::exit(2);
}


int ParseCount(const std::string& flag, const std::string& value, int min, int max) {
  double d = bench::ParseNonNegative(flag, value);
  if (d < min || d > max || d != static_cast<int>(d)) {
    Die(flag + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return static_cast<int>(d);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (const auto& [flag, value] : bench::FlagValues(argc, argv, Usage)) {
    if (flag == "--phase") {
      if (value == "load") o.phase = Phase::kLoad;
      else if (value == "query") o.phase = Phase::kQuery;
      else if (value == "create") o.phase = Phase::kCreate;
      else Die("--phase must be load, query or create");
    } else if (flag == "--base") {
      o.base = value;
    } else if (flag == "--dsn") {
      o.dsn = value;
    } else if (flag == "--patients") {
      o.patients = ParseCount(flag, value, 1, 10'000'000);
    } else if (flag == "--observations") {
      o.observations = ParseCount(flag, value, 0, 100'000'000);
    } else if (flag == "--concurrency") {
      o.concurrency = ParseCount(flag, value, 1, kMaxConcurrency);
    } else if (flag == "--timeout-seconds") {
      o.timeout_seconds = bench::ParseNonNegative(flag, value);
    } else if (flag == "--iterations") {
      o.iterations = ParseCount(flag, value, 1, 1'000'000);
    } else if (flag == "--warmup") {
      o.warmup = ParseCount(flag, value, 0, 1'000'000);
    } else if (flag == "--plans-out") {
      o.plans_out = value;
    } else if (flag == "--duration-seconds") {
      o.duration_seconds = bench::ParseNonNegative(flag, value);
      if (o.duration_seconds <= 0) Die("--duration-seconds must be positive");
    } else if (flag == "--warmup-seconds") {
      o.warmup_seconds = bench::ParseNonNegative(flag, value);
    } else {
      Usage();
    }
  }
  return o;
}



// ---------------------------------------------------------------------------------------------
// The data set. Everything derives from the resource number through a fixed hash, so a re-run
// loads the same data and the benchmark can compute any resource's values without a query.

std::uint64_t Mix(std::uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t Hash(std::uint64_t n, std::uint64_t salt) { return Mix(n * 0x100000001b3ULL ^ Mix(salt)); }

// LOINC-formatted codes (valid check digits) around the visual-acuity range the project's tests
// use (79880-1, 79881-9, 98497-1). Displays are generic: the benchmark needs realistic
// cardinality (20 codes, ~10,000 Observations each), not terminology.
constexpr const char* kLoincCodes[] = {
    "79880-1", "79881-9", "79882-7", "79883-5", "79884-3", "79885-0", "79886-8",
    "79887-6", "79888-4", "79889-2", "79890-0", "79891-8", "79892-6", "79893-4",
    "98497-1", "98498-9", "98499-7", "98500-2", "98501-0", "98502-8"};
constexpr int kCodeCount = static_cast<int>(std::size(kLoincCodes));

constexpr const char* kFamilies[] = {
    "Smith",   "Johnson", "Williams", "Brown",    "Jones",    "Garcia",  "Miller",   "Davis",
    "Martin",  "Lopez",   "Wilson",   "Anderson", "Thomas",   "Taylor",  "Moore",    "Jackson",
    "Lee",     "Perez",   "White",    "Harris",   "Sanchez",  "Clark",   "Ramirez",  "Lewis",
    "Robinson", "Walker", "Young",    "Allen",    "King",     "Wright",  "Scott",    "Torres",
    "Nguyen",  "Hill",    "Flores",   "Green",    "Adams",    "Nelson",  "Baker",    "Hall",
    "Rivera",  "Campbell", "Mitchell", "Carter",  "Roberts",  "Muller",  "Schmidt",  "Schneider",
    "Fischer", "Weber",   "Meyer",    "Wagner",   "Becker",   "Schulz",  "Hoffmann", "Koch",
    "Richter", "Klein",   "Wolf",     "Neumann"};
constexpr const char* kGivens[] = {
    "Emma",  "Liam",   "Olivia", "Noah",   "Ava",    "Elias", "Mia",    "Lucas",  "Sofia",
    "Ben",   "Hannah", "Paul",   "Lena",   "Felix",  "Clara", "Jonas",  "Marie",  "Leon",
    "Ella",  "Finn",   "Ida",    "Henry",  "Lina",   "Theo",  "Nora",   "Jakob",  "Amelie",
    "Anton", "Leni",   "Oskar",  "Frieda", "Emil",   "Mila",  "Karl",   "Greta",  "Moritz",
    "Luisa", "Max",    "Ronja",  "Samuel"};
constexpr const char* kCities[] = {"Springfield", "Riverside", "Fairview", "Lakeside", "Hillcrest",
                                   "Brookfield",  "Oakridge",  "Maplewood"};
constexpr const char* kMrnSystem = "https://vision-screening.example.org/fhir/sid/mrn";
constexpr const char* kLoinc = "http://loinc.org";

template <class T, std::size_t N>
const T& Pick(const T (&a)[N], std::uint64_t h) {
  return a[h % N];
}

std::string Mrn(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "MRN-%07d", n);
  return buf;
}

// Days since 1970-01-01 -> "YYYY-MM-DD" (civil-from-days, H. Hinnant).
std::string CivilDate(std::int64_t days) {
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  auto doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string Instant(std::int64_t epoch_seconds) {
  std::int64_t days = epoch_seconds / 86400;
  std::int64_t s = epoch_seconds % 86400;
  char buf[48];
  std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lldZ", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return CivilDate(days) + buf;
}

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kEffectiveStart = 19874 * kDay;  // 2024-06-01T00:00:00Z
constexpr std::int64_t kEffectiveSpan = 730 * kDay;     // two years: to 2026-05-31
constexpr std::int64_t kBirthStart = 13879;             // 2008-01-01 (days)
constexpr std::int64_t kBirthSpan = 14 * 365;           // school-age children

// Appending rather than `"p" + std::to_string(n)`, which trips a GCC 12 -Wrestrict false positive.
std::string PatientId(int n) { return std::string("p").append(std::to_string(n)); }
std::string ObservationId(int n) { return std::string("o").append(std::to_string(n)); }

std::string PatientFamily(int n) { return Pick(kFamilies, Hash(n, 1)); }

std::string PatientJson(int n) {
  std::uint64_t h = Hash(n, 2);
  std::string given = Pick(kGivens, h);
  std::string given2 = Pick(kGivens, h >> 20);
  bool two_given = (h >> 40) % 3 == 0;
  std::string family = PatientFamily(n);
  std::string gender = (h >> 8) % 2 == 0 ? "female" : "male";
  std::string birth = CivilDate(kBirthStart + static_cast<std::int64_t>((h >> 12) % kBirthSpan));
  std::string city = Pick(kCities, h >> 32);
  std::string out = R"({"resourceType":"Patient","id":")" + PatientId(n) + R"(",)";
  out += R"("identifier":[{"use":"usual","type":{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":")";
  out += std::string(kMrnSystem) + R"(","value":")" + Mrn(n) + R"("}],)";
  out += R"("active":true,"name":[{"use":"official","family":")" + family + R"(","given":[")" +
         given + "\"";
  if (two_given) out += ",\"" + given2 + "\"";
  out += "]}],";
  out += R"("gender":")" + gender + R"(","birthDate":")" + birth + R"(",)";
  out += R"("address":[{"use":"home","line":[")" + std::to_string(1 + (h >> 24) % 200) +
         R"( School Lane"],"city":")" + city + R"(","postalCode":")" +
         std::to_string(10000 + (h >> 44) % 89999) + R"(","country":"US"}]})";
  return out;
}

// Observation n belongs to patient ((n - 1) % patients) + 1: every patient gets the same share.
int ObservationSubject(int n, int patients) { return (n - 1) % patients + 1; }
const char* ObservationCode(int n) { return kLoincCodes[Hash(n, 3) % kCodeCount]; }
std::int64_t ObservationEffective(int n) {
  return kEffectiveStart + static_cast<std::int64_t>(Hash(n, 4) % kEffectiveSpan);
}

std::string ObservationJson(const std::string& id, int n, int patients) {
  std::uint64_t h = Hash(n, 5);
  const char* code = ObservationCode(n);
  bool pressure = code[4] == '2' || code[4] == '3';  // 79892-6/79893-4: eye pressure, mm[Hg]
  char value[32];
  if (pressure) {
    std::snprintf(value, sizeof value, "%d", 10 + static_cast<int>(h % 15));
  } else {
    std::snprintf(value, sizeof value, "%.2f", 0.1 + static_cast<double>(h % 111) / 100.0);
  }
  std::string out = R"({"resourceType":"Observation",)";
  if (!id.empty()) out += R"("id":")" + id + R"(",)";
  out += R"("status":"final","category":[{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/observation-category","code":"exam",)"
         R"("display":"Exam"}]}],"code":{"coding":[{"system":"http://loinc.org","code":")";
  out += std::string(code) + R"(","display":"Vision screening )" + code + R"("}]},)";
  out += R"("subject":{"reference":"Patient/)" + PatientId(ObservationSubject(n, patients)) +
         R"("},)";
  out += R"("effectiveDateTime":")" + Instant(ObservationEffective(n)) + R"(",)";
  out += R"("performer":[{"display":"School vision screening team"}],)";
  out += R"("valueQuantity":{"value":)" + std::string(value);
  out += pressure ? R"(,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}})"
                  : R"(,"unit":"decimal","system":"http://unitsofmeasure.org","code":"1"}})";
  return out;
}

// ---------------------------------------------------------------------------------------------
// HTTP


// One keep-alive connection. Thread-compatible: one per thread.
class HttpClient {
 public:
  explicit HttpClient(const Poco::URI& base) : session_(base.getHost(), base.getPort()), path_(base.getPath()) {
    while (!path_.empty() && path_.back() == '/') path_.pop_back();
    session_.setKeepAlive(true);
    session_.setTimeout(Poco::Timespan(kIoTimeout.count(), 0));
  }

  // Returns the HTTP status (0 on a transport error); the body goes to `body` when given.
  int Send(const std::string& method, const std::string& path_and_query, const std::string* payload,
           bool minimal, std::string* body) {
    return SendTo(method, path_ + path_and_query, payload, minimal, body);
  }

  // The same for a path from the server's root (/healthz).
  int SendTo(const std::string& method, const std::string& path, const std::string* payload,
             bool minimal, std::string* body) {
    try {
      Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      req.set("Accept", "application/fhir+json");
      if (minimal) req.set("Prefer", "return=minimal");
      if (payload != nullptr) {
        req.setContentType("application/fhir+json");
        req.setContentLength(static_cast<std::streamsize>(payload->size()));
      }
      std::ostream& out = session_.sendRequest(req);
      // POCO sends head and body separately; without TCP_NODELAY the body waits for the delayed
      // ACK (~40 ms). The session may reconnect silently, so set it after every sendRequest.
      session_.socket().setNoDelay(true);
      if (payload != nullptr) out << *payload;
      Poco::Net::HTTPResponse resp;
      std::istream& in = session_.receiveResponse(resp);
      std::string sink;
      Poco::StreamCopier::copyToString(in, body != nullptr ? *body : sink);
      return static_cast<int>(resp.getStatus());
    } catch (const Poco::Exception&) {
      session_.reset();
      return 0;
    } catch (const std::exception&) {
      session_.reset();
      return 0;
    }
  }

 private:
  Poco::Net::HTTPClientSession session_;
  std::string path_;
};

// The ids of the entries of a searchset Bundle, in order. Stored resources are canonical JSON
// (resourceType first, then id), which the bundle embeds unchanged.
std::vector<std::string> BundleIds(const std::string& body, const std::string& type) {
  std::vector<std::string> ids;
  const std::string marker = R"("resource":{"resourceType":")" + type + R"(","id":")";
  for (std::size_t pos = body.find(marker); pos != std::string::npos;
       pos = body.find(marker, pos)) {
    pos += marker.size();
    std::size_t end = body.find('"', pos);
    if (end == std::string::npos) break;
    ids.push_back(body.substr(pos, end - pos));
  }
  return ids;
}

// The entries of other types (what _include added), as "Type/id", sorted: the server's order of
// included resources is not specified.
std::vector<std::string> BundleIncludedIds(const std::string& body, const std::string& type) {
  std::vector<std::string> ids;
  const std::string marker = R"("resource":{"resourceType":")";
  for (std::size_t pos = body.find(marker); pos != std::string::npos; pos = body.find(marker, pos)) {
    pos += marker.size();
    std::size_t type_end = body.find('"', pos);
    if (type_end == std::string::npos) break;
    std::string entry_type = body.substr(pos, type_end - pos);
    const std::string id_marker = R"(","id":")";
    if (entry_type == type || body.compare(type_end, id_marker.size(), id_marker) != 0) continue;
    std::size_t id_start = type_end + id_marker.size();
    std::size_t id_end = body.find('"', id_start);
    if (id_end == std::string::npos) break;
    ids.push_back(entry_type + "/" + body.substr(id_start, id_end - id_start));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// ---------------------------------------------------------------------------------------------
// libpq

struct PqClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PqClear>;

// One connection. Thread-compatible.
class Pg {
 public:
  explicit Pg(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      Die(std::string("libpq connect: ") + (conn_ ? PQerrorMessage(conn_) : "out of memory"));
    }
    Exec("SET statement_timeout = '60s'");
  }
  ~Pg() { PQfinish(conn_); }
  Pg(const Pg&) = delete;
  Pg& operator=(const Pg&) = delete;

  PgResultPtr Exec(const std::string& sql) {
    PgResultPtr r(PQexec(conn_, sql.c_str()));
    Check(r.get(), "exec");
    return r;
  }

  // As PgSearchBackend runs Fovea's SQL: unnamed statement, untyped text parameters.
  PgResultPtr ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PgResultPtr r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0));
    Check(r.get(), "exec params");
    return r;
  }

  void Prepare(const std::string& name, const std::string& sql) {
    PgResultPtr r(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    Check(r.get(), "prepare " + name);
  }

  PgResultPtr ExecPrepared(const std::string& name, const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PgResultPtr r(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0));
    Check(r.get(), "exec prepared " + name);
    return r;
  }

  PgResultPtr ExecPrepared(const std::string& name, const std::vector<std::string>& params) {
    return ExecPrepared(name, std::vector<std::optional<std::string>>(params.begin(), params.end()));
  }

  std::string Literal(const std::string& s) {
    char* q = PQescapeLiteral(conn_, s.c_str(), s.size());
    if (q == nullptr) Die("PQescapeLiteral failed");
    std::string out = q;
    PQfreemem(q);
    return out;
  }

 private:
  void Check(PGresult* r, const std::string& what) {
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Die("libpq " + what + ": " + PQerrorMessage(conn_));
    }
  }

  PGconn* conn_;
};

std::string PlanText(PGresult* r) {
  std::string plan;
  for (int i = 0; i < PQntuples(r); ++i) plan += std::string(PQgetvalue(r, i, 0)) + "\n";
  return plan;
}

bool HasSpSeqScan(const std::string& plan) {
  return plan.find("Seq Scan on sp_") != std::string::npos;
}

// An index scan bounded by the resource type only walks every row of that type (in index order,
// typically to feed ORDER BY id ... LIMIT): no sequential scan, but no selectivity either.
bool HasTypeOnlyIndexWalk(const std::string& plan) {
  // The type as a literal (a custom plan) or a parameter (a generic plan: "type = $1").
  static const std::regex kTypeOnly(R"(Index Cond: \(type = (?:'[A-Za-z]+'::text|\$[0-9]+)\)\n)");
  return std::regex_search(plan, kTypeOnly);
}

// The relations and indexes a plan touches: "sp_token_value", "Seq Scan on resource", ...
std::set<std::string> PlanAccess(const std::string& plan) {
  static const std::regex kIndex(R"((Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using )?(?:on )?(\w+))");
  static const std::regex kSeq(R"(Seq Scan on (\w+))");
  std::set<std::string> out;
  for (std::sregex_iterator it(plan.begin(), plan.end(), kIndex), end; it != end; ++it) {
    std::string kind = (*it)[1];
    std::string short_kind = kind == "Index Only Scan" ? "ios" : kind == "Index Scan" ? "idx" : "bitmap";
    out.insert((*it)[2].str() + "(" + short_kind + ")");
  }
  for (std::sregex_iterator it(plan.begin(), plan.end(), kSeq), end; it != end; ++it) {
    out.insert("SEQSCAN " + (*it)[1].str());
  }
  return out;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::uint32_t Percentile(std::vector<std::uint32_t> v, double p) {
  if (v.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::uint32_t Micros(Clock::time_point a, Clock::time_point b) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
  return static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX));
}

// ---------------------------------------------------------------------------------------------
// Load

struct LoadCounters {
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int> errors{0};
};

void LoadWorker(const Poco::URI& base, const std::string& type, int total, int patients,
                Clock::time_point deadline, LoadCounters& c) {
  HttpClient http(base);
  for (;;) {
    int i = c.next.fetch_add(1);
    if (i >= total || Clock::now() >= deadline) break;
    int n = i + 1;
    std::string id = type == "Patient" ? PatientId(n) : ObservationId(n);
    std::string body = type == "Patient" ? PatientJson(n) : ObservationJson(id, n, patients);
    bool ok = false;
    for (int attempt = 0; attempt < kWriteAttempts && !ok; ++attempt) {
      int status = http.Send("PUT", "/" + type + "/" + id, &body, true, nullptr);
      ok = status >= 200 && status <= 299;
    }
    if (ok) c.done.fetch_add(1);
    else c.errors.fetch_add(1);
  }
}

// Loads `total` resources of one type; returns false when the deadline cut it short.
bool LoadType(const Options& o, const Poco::URI& base, const std::string& type, int total,
              Clock::time_point deadline) {
  LoadCounters c;
  Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back(LoadWorker, std::cref(base), std::cref(type), total, o.patients, deadline,
                         std::ref(c));
  }
  std::atomic<bool> finished{false};
  std::thread progress([&] {
    Clock::time_point last = Clock::now();
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (Clock::now() - last >= std::chrono::seconds(15)) {
        last = Clock::now();
        double s = std::chrono::duration<double>(last - start).count();
        Log("load " + type + ": " + std::to_string(c.done.load()) + "/" + std::to_string(total) +
            " in " + std::to_string(static_cast<int>(s)) + " s, " + std::to_string(c.errors.load()) +
            " errors");
      }
    }
  });
  for (std::thread& t : threads) t.join();
  finished = true;
  progress.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  bool complete = c.done.load() + c.errors.load() >= total;
  std::printf(
      "{\"kind\":\"load\",\"type\":\"%s\",\"requested\":%d,\"loaded\":%d,\"errors\":%d,"
      "\"seconds\":%.2f,\"per_sec\":%.1f,\"concurrency\":%d,\"complete\":%s}\n",
      type.c_str(), total, c.done.load(), c.errors.load(), seconds,
      seconds > 0 ? c.done.load() / seconds : 0.0, o.concurrency, complete ? "true" : "false");
  std::fflush(stdout);
  Log("loaded " + std::to_string(c.done.load()) + " " + type + " in " + std::to_string(seconds) + " s");
  return complete;
}

int RunLoad(const Options& o, const Poco::URI& base) {
  Clock::time_point start = Clock::now();
  Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout_seconds));
  bool complete = LoadType(o, base, "Patient", o.patients, deadline);
  if (complete && o.observations > 0) complete = LoadType(o, base, "Observation", o.observations, deadline);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  Pg pg(o.dsn);
  Clock::time_point vac = Clock::now();
  pg.Exec("SET statement_timeout = 0");
  pg.Exec("VACUUM (ANALYZE)");
  double vacuum_seconds = std::chrono::duration<double>(Clock::now() - vac).count();
  PgResultPtr sizes = pg.Exec(
      "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
      "WHERE c.relkind = 'r' AND (c.relname LIKE 'sp\\_%' OR c.relname IN "
      "('resource', 'resource_history', 'event')) ORDER BY 1");
  std::string rels;
  for (int i = 0; i < PQntuples(sizes.get()); ++i) {
    rels += std::string(rels.empty() ? "" : ",") + "\"" + PQgetvalue(sizes.get(), i, 0) + "\":" +
            PQgetvalue(sizes.get(), i, 1);
  }
  PgResultPtr rows = pg.Exec(
      "SELECT (SELECT count(*) FROM sp_token), (SELECT count(*) FROM sp_reference), "
      "(SELECT count(*) FROM sp_date), (SELECT count(*) FROM sp_string), "
      "(SELECT count(*) FROM sp_quantity), (SELECT count(*) FROM resource)");
  std::printf(
      "{\"kind\":\"load_total\",\"seconds\":%.2f,\"complete\":%s,\"vacuum_analyze_seconds\":%.2f,"
      "\"rows\":{\"sp_token\":%s,\"sp_reference\":%s,\"sp_date\":%s,\"sp_string\":%s,"
      "\"sp_quantity\":%s,\"resource\":%s},\"bytes\":{%s}}\n",
      seconds, complete ? "true" : "false", vacuum_seconds, PQgetvalue(rows.get(), 0, 0),
      PQgetvalue(rows.get(), 0, 1), PQgetvalue(rows.get(), 0, 2), PQgetvalue(rows.get(), 0, 3),
      PQgetvalue(rows.get(), 0, 4), PQgetvalue(rows.get(), 0, 5), rels.c_str());
  std::fflush(stdout);
  return complete ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Queries

// One iteration's values: the FHIR query (decoded pairs) and the hand-written SQL's parameters.
struct Instance {
  Params fhir;
  std::vector<std::string> hand;
};

struct QueryCase {
  std::string name;
  std::string type;
  std::string what;
  int count;                         // page size (Fovea's default is 20)
  std::string hand_sql;              // prepared; returns id first, at most count + 1 rows
  std::function<Instance(std::mt19937_64&)> make;
  // With _include: the hand-written SQL returns the page's rows, then the included ones with
  // "Type/id" in the first column and 'include' in the second; Fovea's SQL variant runs the
  // include statement the server runs (BuildIncludeSql) after the page.
  bool includes = false;
};

struct DataShape {
  int patients = 0;
  std::int64_t updated_min = 0;  // epoch seconds of the Observations' meta.lastUpdated
  std::int64_t updated_max = 0;
  std::int64_t observations = 0;
};

std::vector<QueryCase> QueryCases(const DataShape& d) {
  std::vector<QueryCase> q;
  auto patient = [&d](std::mt19937_64& rng) {
    return static_cast<int>(rng() % static_cast<std::uint64_t>(d.patients)) + 1;
  };
  auto code = [](std::mt19937_64& rng) { return std::string(kLoincCodes[rng() % kCodeCount]); };

  // Joins instead of EXISTS: each Observation has one subject, one code and one date row in this
  // data set (the id comparison checks that the results agree).
  q.push_back({"patient+code", "Observation", "Observation?subject=Patient/pN&code=http://loinc.org|C",
               20,
               "SELECT r.id, r.version, r.last_updated, r.content "
               "FROM sp_reference s "
               "JOIN sp_token t ON t.type = s.type AND t.id = s.id "
               "JOIN resource r ON r.type = s.type AND r.id = s.id "
               "WHERE s.type = 'Observation' AND s.param = 'subject' AND s.target_type = 'Patient' "
               "AND s.target_id = $1 AND t.param = 'code' AND t.system = $2 AND t.code = $3 "
               "AND NOT r.deleted ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 std::string p = PatientId(patient(rng));
                 std::string c = code(rng);
                 return Instance{{{"subject", "Patient/" + p}, {"code", std::string(kLoinc) + "|" + c}},
                                 {p, kLoinc, c}};
               }});

  q.push_back({"code+date-month", "Observation",
               "Observation?code=http://loinc.org|C&date=geYYYY-MM-01&date=ltYYYY-MM+1-01 (~400 matches, first page (default order: lastUpdated, id))",
               20,
               // MATERIALIZED keeps the planner from walking all Observations in id order
               // (it does with a plain join and LIMIT: ~45 ms); the matches are ~400 rows. The
               // window is the overlap test the sp_date_range index (migration 0015) serves:
               // `high >= $3 AND low < $4` on one row, which sp_date_value bounds on one side only.
               "WITH m AS MATERIALIZED (SELECT t.id FROM sp_token t "
               "JOIN sp_date d ON d.type = t.type AND d.id = t.id AND d.param = 'date' "
               "WHERE t.type = 'Observation' AND t.param = 'code' AND t.system = $1 AND t.code = $2 "
               "AND tstzrange(d.low, greatest(d.low, d.high), '[]') && "
               "tstzrange($3::timestamptz, $4::timestamptz, '[)')) "
               "SELECT r.id, r.version, r.last_updated, r.content FROM m "
               "JOIN resource r ON r.type = 'Observation' AND r.id = m.id "
               "WHERE NOT r.deleted ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 int month = static_cast<int>(rng() % 23);  // 2024-06 .. 2026-04
                 int y = 2024 + (5 + month) / 12, m = (5 + month) % 12 + 1;
                 int y2 = 2024 + (6 + month) / 12, m2 = (6 + month) % 12 + 1;
                 char lo[16], hi[16];
                 std::snprintf(lo, sizeof lo, "%04d-%02d-01", y, m);
                 std::snprintf(hi, sizeof hi, "%04d-%02d-01", y2, m2);
                 std::string c = code(rng);
                 return Instance{{{"code", std::string(kLoinc) + "|" + c},
                                  {"date", std::string("ge") + lo},
                                  {"date", std::string("lt") + hi}},
                                 {kLoinc, c, std::string(lo) + "T00:00:00Z", std::string(hi) + "T00:00:00Z"}};
               }});

  q.push_back({"patient-sort-date", "Observation",
               "Observation?subject=Patient/pN&_sort=-date&_count=50 (20 matches)", 50,
               "SELECT r.id, r.version, r.last_updated, r.content, d.high "
               "FROM sp_reference s "
               "JOIN sp_date d ON d.type = s.type AND d.id = s.id AND d.param = 'date' "
               "JOIN resource r ON r.type = s.type AND r.id = s.id "
               "WHERE s.type = 'Observation' AND s.param = 'subject' AND s.target_type = 'Patient' "
               "AND s.target_id = $1 AND NOT r.deleted ORDER BY d.high DESC, r.id LIMIT 51",
               [=](std::mt19937_64& rng) {
                 std::string p = PatientId(patient(rng));
                 return Instance{{{"subject", "Patient/" + p}, {"_sort", "-date"}, {"_count", "50"}},
                                 {p}};
               }});

  // _include: a patient's page of Observations and the Patient they refer to (20 + 1 rows). The
  // hand-written SQL does both in one statement; the server (and Fovea's SQL variant) runs the
  // page, then the include statement over the page's ids.
  q.push_back({"include-subject", "Observation",
               "Observation?subject=Patient/pN&_include=Observation:subject (20 matches + 1 Patient)", 20,
               "WITH page AS MATERIALIZED (SELECT r.id, r.version, r.last_updated, r.content "
               "FROM sp_reference s JOIN resource r ON r.type = s.type AND r.id = s.id "
               "WHERE s.type = 'Observation' AND s.param = 'subject' AND s.target_type = 'Patient' "
               "AND s.target_id = $1 AND NOT r.deleted ORDER BY r.last_updated, r.id LIMIT 21) "
               "(SELECT p.id, 'match', p.version, p.content FROM page p ORDER BY p.last_updated, p.id) "
               "UNION ALL "
               "(SELECT i.type || '/' || i.id, 'include', i.version, i.content FROM resource i "
               "WHERE NOT i.deleted AND (i.type, i.id) IN (SELECT ref.target_type, ref.target_id "
               "FROM (SELECT id FROM page ORDER BY last_updated, id LIMIT 20) f "
               "JOIN sp_reference ref ON ref.type = 'Observation' AND ref.id = f.id AND ref.param = 'subject'))",
               [=](std::mt19937_64& rng) {
                 std::string p = PatientId(patient(rng));
                 return Instance{{{"subject", "Patient/" + p}, {"_include", "Observation:subject"}}, {p}};
               },
               true});

  // A chain: the Observations of the patient with an MRN (20 matches).
  q.push_back({"chain-identifier", "Observation",
               "Observation?subject:Patient.identifier=SYSTEM|MRN-nnnnnnn (20 matches)", 20,
               "SELECT r.id, r.version, r.last_updated, r.content FROM sp_token t "
               "JOIN sp_reference s ON s.target_type = t.type AND s.target_id = t.id "
               "JOIN resource r ON r.type = s.type AND r.id = s.id "
               "WHERE t.type = 'Patient' AND t.param = 'identifier' AND t.system = $1 AND t.code = $2 "
               "AND s.type = 'Observation' AND s.param = 'subject' AND NOT r.deleted "
               "ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 std::string mrn = Mrn(patient(rng));
                 return Instance{{{"subject:Patient.identifier", std::string(kMrnSystem) + "|" + mrn}},
                                 {kMrnSystem, mrn}};
               }});

  // Reverse chaining: the patients screened on one day (~270 of 10,000), first page.
  q.push_back({"has-date-day", "Patient",
               "Patient?_has:Observation:subject:date=YYYY-MM-DD (~270 matches, first page)", 20,
               "SELECT r.id, r.version, r.last_updated, r.content FROM resource r "
               "WHERE r.type = 'Patient' AND NOT r.deleted AND r.id IN ("
               "SELECT s.target_id FROM sp_date d "
               "JOIN sp_reference s ON s.type = d.type AND s.id = d.id AND s.param = 'subject' "
               "AND s.target_type = 'Patient' "
               "WHERE d.type = 'Observation' AND d.param = 'date' "
               // `low >= $1 AND high <= $2` as the containment sp_date_range serves.
               "AND tstzrange(d.low, greatest(d.low, d.high), '[]') <@ "
               "tstzrange($1::timestamptz, $2::timestamptz, '[]')) "
               "ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 std::string day = CivilDate(kEffectiveStart / kDay +
                                             static_cast<std::int64_t>(rng() % (kEffectiveSpan / kDay)));
                 return Instance{{{"_has:Observation:subject:date", day}},
                                 {day + "T00:00:00Z", day + "T23:59:59.999999Z"}};
               }});

  // A window of about 1,000 Observations of the load, as instants with second precision.
  std::int64_t span = std::max<std::int64_t>(1, d.updated_max - d.updated_min);
  std::int64_t width = std::max<std::int64_t>(
      1, span * 1000 / std::max<std::int64_t>(1, d.observations));
  auto window = [=](std::mt19937_64& rng) {
    std::int64_t lo = d.updated_min + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(
                                                                    std::max<std::int64_t>(1, span - width + 1)));
    return std::make_pair(Instant(lo), Instant(lo + width));
  };
  std::string window_text = "(" + std::to_string(width) + " s of the load, ~1,000 matches)";

  q.push_back({"lastUpdated-range", "Observation",
               "Observation?_lastUpdated=geT1&_lastUpdated=ltT2 " + window_text + ", first page (default order: lastUpdated, id)", 20,
               // The page of ids first, from the ~1,000 in the window (resource_type_updated),
               // then their rows: a plain join with LIMIT walks resource_pkey in id order.
               "WITH m AS MATERIALIZED (SELECT r.id FROM resource r "
               "WHERE r.type = 'Observation' AND NOT r.deleted "
               "AND r.last_updated >= $1::timestamptz AND r.last_updated < $2::timestamptz "
               "ORDER BY r.last_updated, r.id LIMIT 21) "
               "SELECT r.id, r.version, r.last_updated, r.content FROM m "
               "JOIN resource r ON r.type = 'Observation' AND r.id = m.id ORDER BY r.last_updated, r.id",
               [=](std::mt19937_64& rng) {
                 auto [lo, hi] = window(rng);
                 return Instance{{{"_lastUpdated", "ge" + lo}, {"_lastUpdated", "lt" + hi}}, {lo, hi}};
               }});

  q.push_back({"lastUpdated-range-sorted", "Observation",
               "Observation?_lastUpdated=geT1&_lastUpdated=ltT2&_sort=_lastUpdated " + window_text, 20,
               "SELECT r.id, r.version, r.last_updated, r.content FROM resource r "
               "WHERE r.type = 'Observation' AND NOT r.deleted "
               "AND r.last_updated >= $1::timestamptz AND r.last_updated < $2::timestamptz "
               "ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 auto [lo, hi] = window(rng);
                 return Instance{{{"_lastUpdated", "ge" + lo}, {"_lastUpdated", "lt" + hi}, {"_sort", "_lastUpdated"}},
                                 {lo, hi}};
               }});

  q.push_back({"identifier", "Patient", "Patient?identifier=SYSTEM|MRN-nnnnnnn (1 match)", 20,
               "SELECT r.id, r.version, r.last_updated, r.content "
               "FROM sp_token t JOIN resource r ON r.type = t.type AND r.id = t.id "
               "WHERE t.type = 'Patient' AND t.param = 'identifier' AND t.system = $1 "
               "AND t.code = $2 AND NOT r.deleted ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 std::string mrn = Mrn(patient(rng));
                 return Instance{{{"identifier", std::string(kMrnSystem) + "|" + mrn}}, {kMrnSystem, mrn}};
               }});

  // Three letters of a family name: ~170-500 patients (family, given and other name parts count).
  q.push_back({"name-prefix", "Patient", "Patient?name=xyz (3-letter prefix of a family name)", 20,
               "SELECT r.id, r.version, r.last_updated, r.content FROM resource r "
               "WHERE r.type = 'Patient' AND NOT r.deleted AND r.id IN ("
               "SELECT s.id FROM sp_string s WHERE s.type = 'Patient' AND s.param = 'name' "
               "AND s.normalized LIKE $1) ORDER BY r.last_updated, r.id LIMIT 21",
               [=](std::mt19937_64& rng) {
                 std::string family = Pick(kFamilies, rng());
                 std::string prefix = family.substr(0, 3);
                 std::string lower;
                 for (char ch : prefix) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                 return Instance{{{"name", lower}}, {lower + "%"}};
               }});
  return q;
}

struct CompiledFovea {
  std::string sql;
  std::vector<std::optional<std::string>> params;
  bool reuse_plan = false;  // the server prepares it and forces the generic plan
  std::vector<fhir::search::Include> includes;
};

// `EXECUTE statement(literals)`, for EXPLAIN of a prepared statement with these values.
std::string ExecuteText(Pg& pg, const std::string& statement, const std::vector<std::optional<std::string>>& params) {
  std::string sql = "EXECUTE " + statement + "(";
  for (std::size_t i = 0; i < params.size(); ++i) {
    sql += (i ? ", " : "") + (params[i] ? pg.Literal(*params[i]) : std::string("NULL"));
  }
  return sql + ")";
}

std::string ExecuteText(Pg& pg, const std::string& statement, const std::vector<std::string>& params) {
  return ExecuteText(pg, statement, std::vector<std::optional<std::string>>(params.begin(), params.end()));
}

// Fovea's SQL run the way PgSearchBackend runs it: a statement whose plan may be reused
// (SqlQuery::reuse_plan) prepared once per connection and executed with the generic plan
// (PgConnection::ExecuteCached forces it per statement: here a session that runs only those
// forces it for all), any other as an unnamed statement planned with its values (on a session
// with PostgreSQL's default plan choice: force_generic_plan applies to unnamed statements too).
class FoveaSession {
 public:
  explicit FoveaSession(const std::string& dsn) : generic_(dsn), planned_(dsn) {
    generic_.Exec("SET plan_cache_mode = force_generic_plan");
  }

  PgResultPtr Run(const std::string& sql, const std::vector<std::optional<std::string>>& params, bool reuse_plan) {
    if (!reuse_plan) return planned_.ExecParams(sql, params);
    return generic_.ExecPrepared(Prepared(sql), params);
  }

  // EXPLAIN [options] of the plan Run uses.
  PgResultPtr Explain(const std::string& options, const std::string& sql,
                      const std::vector<std::optional<std::string>>& params, bool reuse_plan) {
    if (!reuse_plan) return planned_.ExecParams("EXPLAIN " + options + sql, params);
    return generic_.Exec("EXPLAIN " + options + ExecuteText(generic_, Prepared(sql), params));
  }

 private:
  const std::string& Prepared(const std::string& sql) {
    auto it = names_.find(sql);
    if (it == names_.end()) {
      std::string name = "fovea_" + std::to_string(names_.size());
      generic_.Prepare(name, sql);
      it = names_.emplace(sql, name).first;
    }
    return it->second;
  }

  Pg generic_;  // prepared statements, generic plans
  Pg planned_;  // unnamed statements, planned per execution
  std::map<std::string, std::string> names_;  // SQL text -> prepared statement on generic_
};

CompiledFovea FoveaSql(const QueryCase& qc, const Params& params) {
  fhir::model::OperationOutcomeSink issues;
  fhir::search::SearchOptions options;
  options.strict = true;
  fhir::search::SearchQuery query = fhir::search::ParseSearch(
      qc.type, params, *fhir::search::SearchParameterRegistry::R4(), options, issues);
  if (issues.HasErrors()) {
    Die(qc.name + ": ParseSearch rejected the query: " + issues.issues().front().diagnostics);
  }
  auto compiled = fhir::search::BuildSearchSql(query);
  if (!compiled.has_value()) Die(qc.name + ": BuildSearchSql failed");
  return {compiled->page.text, compiled->page.params, compiled->page.reuse_plan, query.includes};
}

// What PgSearchBackend::AddIncludes runs for a page (one round: these includes do not iterate):
// one statement per include over the page's ids. Returns the included "Type/id", sorted.
std::vector<std::string> RunIncludes(FoveaSession& pg, const std::string& type, const CompiledFovea& fs,
                                     const std::vector<std::string>& page_ids) {
  std::vector<std::string> included;
  if (page_ids.empty()) return included;
  for (const fhir::search::Include& inc : fs.includes) {
    fhir::search::SqlQuery q = fhir::search::BuildIncludeSql(inc, type, page_ids, kMaxIncluded);
    PgResultPtr r = pg.Run(q.text, q.params, q.reuse_plan);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      included.push_back(std::string(PQgetvalue(r.get(), i, 0)) + "/" + PQgetvalue(r.get(), i, 1));
    }
  }
  std::sort(included.begin(), included.end());
  included.erase(std::unique(included.begin(), included.end()), included.end());
  return included;
}

std::string QueryString(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? '?' : '&';
    out += fhir::rest::UrlEncode(k);
    out += '=';
    out += fhir::rest::UrlEncode(v);
  }
  return out;
}

std::vector<std::string> ResultIds(PGresult* r, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < PQntuples(r) && i < count; ++i) ids.emplace_back(PQgetvalue(r, i, 0));
  return ids;
}

// A hand-written _include statement's rows: the page's ids in order, then the included "Type/id"
// sorted (as BundleIncludedIds).
std::vector<std::string> HandIdsWithIncludes(PGresult* r, int count) {
  std::vector<std::string> ids, included;
  for (int i = 0; i < PQntuples(r); ++i) {
    if (std::string_view(PQgetvalue(r, i, 1)) == "include") {
      included.emplace_back(PQgetvalue(r, i, 0));
    } else if (static_cast<int>(ids.size()) < count) {
      ids.emplace_back(PQgetvalue(r, i, 0));
    }
  }
  std::sort(included.begin(), included.end());
  ids.insert(ids.end(), included.begin(), included.end());
  return ids;
}

std::string ShowParams(const std::vector<std::optional<std::string>>& params) {
  std::string out;
  for (std::size_t i = 0; i < params.size(); ++i) {
    out += "  $" + std::to_string(i + 1) + " = " + (params[i] ? "'" + *params[i] + "'" : "NULL") + "\n";
  }
  return out;
}

int RunQueries(const Options& o, const Poco::URI& base) {
  Pg pg(o.dsn);
  Pg explain(o.dsn);  // a second session, so EXPLAIN does not disturb the measured one's plan cache
  FoveaSession fovea_pg(o.dsn);       // Fovea's SQL, measured
  FoveaSession fovea_explain(o.dsn);  // ... and explained, with the same plans
  DataShape d;
  {
    PgResultPtr r = pg.Exec(
        "SELECT (SELECT count(*) FROM resource WHERE type = 'Patient' AND NOT deleted), "
        "(SELECT count(*) FROM resource WHERE type = 'Observation' AND NOT deleted), "
        "(SELECT floor(extract(epoch FROM min(last_updated)))::bigint FROM resource WHERE type = 'Observation'), "
        "(SELECT ceil(extract(epoch FROM max(last_updated)))::bigint FROM resource WHERE type = 'Observation')");
    d.patients = std::atoi(PQgetvalue(r.get(), 0, 0));
    d.observations = std::atoll(PQgetvalue(r.get(), 0, 1));
    d.updated_min = std::atoll(PQgetvalue(r.get(), 0, 2));
    d.updated_max = std::atoll(PQgetvalue(r.get(), 0, 3));
  }
  if (d.patients == 0 || d.observations == 0) Die("no data: run --phase load first");
  Log("data: " + std::to_string(d.patients) + " patients, " + std::to_string(d.observations) +
      " observations");

  std::ofstream plans;
  if (!o.plans_out.empty()) {
    plans.open(o.plans_out);
    if (!plans) Die("cannot write " + o.plans_out);
  }

  HttpClient http(base);
  std::vector<QueryCase> cases = QueryCases(d);
  int failures = 0;
  for (std::size_t qi = 0; qi < cases.size(); ++qi) {
    const QueryCase& qc = cases[qi];
    std::string stmt = "hand_" + std::to_string(qi);
    pg.Prepare(stmt, qc.hand_sql);
    explain.Prepare(stmt, qc.hand_sql);
    std::mt19937_64 rng(1000 + qi);  // the same values on every run
    std::vector<std::uint32_t> lat_http, lat_fovea_sql, lat_hand, lat_floor;
    int mismatches = 0, http_errors = 0, fovea_seq = 0, hand_seq = 0, fovea_walk = 0, hand_walk = 0;
    long long rows_total = 0;
    std::set<std::string> fovea_access, hand_access;
    std::string first_mismatch;
    int total = o.warmup + o.iterations;
    for (int it = 0; it < total; ++it) {
      Instance inst = qc.make(rng);
      CompiledFovea fs = FoveaSql(qc, inst.fhir);
      std::string url = "/" + qc.type + QueryString(inst.fhir);
      bool measured = it >= o.warmup;
      std::vector<std::string> ids_http, ids_fovea, ids_hand;
      // Rotate the order so no variant always runs on a cache the previous one warmed.
      for (int k = 0; k < 4; ++k) {
        int variant = (it + k) % 4;
        Clock::time_point t0 = Clock::now();
        if (variant == 3) {
          // The floor of any answer over HTTP from PostgreSQL, on the same connection: GET
          // /healthz is a request, one trivial prepared statement (SELECT 1) and a response.
          int status = http.SendTo("GET", "/healthz", nullptr, false, nullptr);
          Clock::time_point t1 = Clock::now();
          if (status == 200 && measured) lat_floor.push_back(Micros(t0, t1));
        } else if (variant == 0) {
          std::string body;
          int status = http.Send("GET", url, nullptr, false, &body);
          Clock::time_point t1 = Clock::now();
          if (status != 200) {
            ++http_errors;
            if (http_errors == 1) Log(qc.name + ": HTTP " + std::to_string(status) + " for " + url);
            continue;
          }
          if (measured) lat_http.push_back(Micros(t0, t1));
          ids_http = BundleIds(body, qc.type);
          if (qc.includes) {
            std::vector<std::string> included = BundleIncludedIds(body, qc.type);
            ids_http.insert(ids_http.end(), included.begin(), included.end());
          }
        } else if (variant == 1) {
          PgResultPtr r = fovea_pg.Run(fs.sql, fs.params, fs.reuse_plan);
          ids_fovea = ResultIds(r.get(), qc.count);
          std::vector<std::string> included;
          if (qc.includes) included = RunIncludes(fovea_pg, qc.type, fs, ids_fovea);
          Clock::time_point t1 = Clock::now();
          if (measured) lat_fovea_sql.push_back(Micros(t0, t1));
          ids_fovea.insert(ids_fovea.end(), included.begin(), included.end());
        } else {
          PgResultPtr r = pg.ExecPrepared(stmt, inst.hand);
          Clock::time_point t1 = Clock::now();
          if (measured) lat_hand.push_back(Micros(t0, t1));
          ids_hand = qc.includes ? HandIdsWithIncludes(r.get(), qc.count) : ResultIds(r.get(), qc.count);
        }
      }
      if (!measured) continue;
      rows_total += static_cast<long long>(ids_hand.size());  // with included resources
      if (ids_http != ids_hand || ids_fovea != ids_hand) {
        ++mismatches;
        if (first_mismatch.empty()) {
          first_mismatch = url + ": http " + std::to_string(ids_http.size()) + " ids, fovea sql " +
                           std::to_string(ids_fovea.size()) + ", hand " + std::to_string(ids_hand.size());
        }
      }
      // The plan of every measured iteration: Fovea's (the generic plan of a prepared statement
      // when the server reuses one, else custom, as PQexecParams plans it) and the
      // hand-written statement's (as EXECUTE plans it: custom or the cached generic plan).
      PgResultPtr fp = fovea_explain.Explain("", fs.sql, fs.params, fs.reuse_plan);
      std::string fplan = PlanText(fp.get());
      if (HasSpSeqScan(fplan)) ++fovea_seq;
      if (HasTypeOnlyIndexWalk(fplan)) ++fovea_walk;
      for (const auto& a : PlanAccess(fplan)) fovea_access.insert(a);
      PgResultPtr hp = explain.Exec("EXPLAIN " + ExecuteText(explain, stmt, inst.hand));
      std::string hplan = PlanText(hp.get());
      if (HasSpSeqScan(hplan)) ++hand_seq;
      if (HasTypeOnlyIndexWalk(hplan)) ++hand_walk;
      for (const auto& a : PlanAccess(hplan)) hand_access.insert(a);

      if (it == o.warmup && plans.is_open()) {
        PgResultPtr fa = fovea_explain.Explain("(ANALYZE, BUFFERS, FORMAT TEXT) ", fs.sql, fs.params, fs.reuse_plan);
        PgResultPtr ha = explain.Exec("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + ExecuteText(explain, stmt, inst.hand));
        plans << "==== " << qc.name << ": " << qc.what << "\n"
              << "HTTP: GET [base]" << url << "\n\n"
              << "-- Fovea's SQL (BuildSearchSql; " << (fs.reuse_plan ? "prepared, generic plan" : "planned per execution")
              << "), parameters:\n" << ShowParams(fs.params) << fs.sql << "\n\n"
              << "-- its plan (EXPLAIN ANALYZE, BUFFERS):\n" << PlanText(fa.get()) << "\n"
              << "-- hand-written SQL (prepared), parameters:\n";
        std::vector<std::optional<std::string>> hp_params(inst.hand.begin(), inst.hand.end());
        plans << ShowParams(hp_params) << qc.hand_sql << "\n\n"
              << "-- its plan (EXPLAIN ANALYZE, BUFFERS of EXECUTE):\n" << PlanText(ha.get()) << "\n";
        plans.flush();
      }
    }
    std::uint32_t h50 = Percentile(lat_http, 0.5), h95 = Percentile(lat_http, 0.95);
    std::uint32_t f50 = Percentile(lat_fovea_sql, 0.5), f95 = Percentile(lat_fovea_sql, 0.95);
    std::uint32_t s50 = Percentile(lat_hand, 0.5), s95 = Percentile(lat_hand, 0.95);
    std::uint32_t floor50 = Percentile(lat_floor, 0.5);
    std::printf(
        "{\"kind\":\"query\",\"name\":\"%s\",\"what\":\"%s\",\"iterations\":%d,"
        "\"http_p50_us\":%u,\"http_p95_us\":%u,\"fovea_sql_p50_us\":%u,\"fovea_sql_p95_us\":%u,"
        "\"hand_sql_p50_us\":%u,\"hand_sql_p95_us\":%u,\"http_floor_p50_us\":%u,\"avg_rows\":%.1f,\"mismatches\":%d,"
        "\"http_errors\":%d,\"fovea_seqscan_sp_plans\":%d,\"hand_seqscan_sp_plans\":%d,"
        "\"fovea_type_only_walk_plans\":%d,\"hand_type_only_walk_plans\":%d,"
        "\"fovea_access\":\"%s\",\"hand_access\":\"%s\",\"first_mismatch\":\"%s\"}\n",
        qc.name.c_str(), JsonEscape(qc.what).c_str(), o.iterations, h50, h95, f50, f95, s50, s95, floor50,
        static_cast<double>(rows_total) / o.iterations, mismatches, http_errors, fovea_seq, hand_seq, fovea_walk, hand_walk,
        Join(fovea_access).c_str(), Join(hand_access).c_str(), JsonEscape(first_mismatch).c_str());
    std::fflush(stdout);
    Log(qc.name + ": http p50 " + std::to_string(h50) + " us, fovea sql " + std::to_string(f50) +
        " us, hand sql " + std::to_string(s50) + " us, http floor " + std::to_string(floor50) +
        " us, mismatches " + std::to_string(mismatches));
    if (http_errors > 0 || mismatches > 0) ++failures;
  }
  return failures == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Create throughput

int RunCreate(const Options& o, const Poco::URI& base) {
  Pg pg(o.dsn);
  PgResultPtr r = pg.Exec("SELECT count(*) FROM resource WHERE type = 'Patient'");
  int patients = std::max(1, std::atoi(PQgetvalue(r.get(), 0, 0)));
  auto to_duration = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Clock::time_point begin = Clock::now();
  Clock::time_point measure_start = begin + to_duration(o.warmup_seconds);
  Clock::time_point deadline = measure_start + to_duration(o.duration_seconds);
  struct Result {
    std::vector<std::uint32_t> lat;
    int errors = 0;
    Clock::time_point last{};
  };
  std::vector<Result> results(static_cast<std::size_t>(o.concurrency));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      HttpClient http(base);
      Result& res = results[static_cast<std::size_t>(t)];
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) * 7919 + 17);
      for (;;) {
        Clock::time_point t0 = Clock::now();
        if (t0 >= deadline) break;
        // Observation numbers past the loaded ones, so content varies like the loaded data.
        int n = 1'000'000 + static_cast<int>(rng() % 1'000'000);
        std::string body = ObservationJson("", n, patients);
        int status = http.Send("POST", "/Observation", &body, false, nullptr);
        Clock::time_point t1 = Clock::now();
        if (t0 < measure_start) continue;
        res.last = t1;
        if (status == 201) res.lat.push_back(Micros(t0, t1));
        else ++res.errors;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<std::uint32_t> all;
  int errors = 0;
  Clock::time_point end = measure_start;
  for (Result& res : results) {
    all.insert(all.end(), res.lat.begin(), res.lat.end());
    errors += res.errors;
    end = std::max(end, res.last);
  }
  double seconds = std::chrono::duration<double>(end - measure_start).count();
  if (seconds <= 0) seconds = o.duration_seconds;
  std::printf(
      "{\"kind\":\"create\",\"concurrency\":%d,\"ops\":%zu,\"seconds\":%.3f,\"ops_per_sec\":%.1f,"
      "\"p50_us\":%u,\"p99_us\":%u,\"errors\":%d}\n",
      o.concurrency, all.size(), seconds, static_cast<double>(all.size()) / seconds,
      Percentile(all, 0.5), Percentile(all, 0.99), errors);
  std::fflush(stdout);
  return all.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  Poco::URI base;
  try {
    base = Poco::URI(o.base);
  } catch (const Poco::Exception& e) {
    Die("--base: " + e.displayText());
  }
  if (base.getScheme() != "http") Die("--base must be an http:// URL");
  if (!bench::IsLoopbackHost(base.getHost())) Die("--base host must be a loopback address");
  bench::CheckDsnIsLocal(o.dsn);
  switch (o.phase) {
    case Phase::kLoad: return RunLoad(o, base);
    case Phase::kQuery: return RunQueries(o, base);
    case Phase::kCreate: return RunCreate(o, base);
  }
  return 2;
}
