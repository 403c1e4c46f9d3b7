// fovea_bench: measures create and read-by-id, either through Fovea over HTTP keep-alive or as the
// store's own SQL over raw libpq (the baseline: what PostgreSQL alone does on this machine).
//
//   fovea_bench --mode http|libpq --op create|read --concurrency N --duration-seconds S
//               [--warmup-seconds W] [--base URL] [--dsn DSN] [--cpu-of NAME=PID ...]
//
// Each of N worker threads owns one keep-alive HTTP session or one PGconn. Workers run for W
// seconds of warm-up (not counted) and then S measured seconds, and stop by themselves. One JSON
// line goes to stdout. Each --cpu-of adds NAME_cpu_us_per_op: the CPU time process PID and its
// children (a postmaster: the whole PostgreSQL cluster) used during the measured seconds, per
// measured operation. Only loopback targets are accepted: this is a local benchmark and must
// never be pointed at a shared server by accident.

#include <libpq-fe.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/search/index_extractor.h"
#include "bench/bench_common.h"
#include "fhir/store/pg/queries.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kReadPoolSize = 200;
constexpr int kMaxConcurrency = 256;
constexpr auto kIoTimeout = std::chrono::seconds(10);

enum class Mode { kHttp, kLibpq };
enum class Op { kCreate, kRead };

struct Options {
  Mode mode = Mode::kHttp;
  Op op = Op::kCreate;
  int concurrency = 1;
  double duration_seconds = 5;
  double warmup_seconds = 1;
  std::string base = "http://127.0.0.1:8080/fhir/R4";
  std::string dsn;  // empty: libpq's defaults and PG* environment variables
  std::string bearer;  // an access token for a server with authorisation on
  std::string label;   // copied into the result line (e.g. "auth-on")
  bench::CpuMeter cpu;  // --cpu-of NAME=PID
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "fovea_bench: %s\n", message.c_str());
  std::exit(2);
}

void Usage() {
  std::fprintf(stderr,
               "usage: fovea_bench --mode http|libpq --op create|read --concurrency N\n"
               "                   [--duration-seconds S] [--warmup-seconds W]\n"
               "                   [--base http://127.0.0.1:PORT/fhir/R4] [--dsn DSN]\n"
               "                   [--bearer ACCESS_TOKEN] [--label TEXT] [--cpu-of NAME=PID ...]\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (const auto& [flag, value] : bench::FlagValues(argc, argv, Usage)) {
    if (flag == "--mode") {
      if (value == "http") o.mode = Mode::kHttp;
      else if (value == "libpq") o.mode = Mode::kLibpq;
      else Die("--mode must be http or libpq");
    } else if (flag == "--op") {
      if (value == "create") o.op = Op::kCreate;
      else if (value == "read") o.op = Op::kRead;
      else Die("--op must be create or read");
    } else if (flag == "--concurrency") {
      double n = bench::ParseNonNegative(flag, value);
      if (n < 1 || n > kMaxConcurrency || n != static_cast<int>(n)) {
        Die("--concurrency must be an integer in 1.." + std::to_string(kMaxConcurrency));
      }
      o.concurrency = static_cast<int>(n);
    } else if (flag == "--duration-seconds") {
      o.duration_seconds = bench::ParseNonNegative(flag, value);
      if (o.duration_seconds <= 0) Die("--duration-seconds must be positive");
    } else if (flag == "--warmup-seconds") {
      o.warmup_seconds = bench::ParseNonNegative(flag, value);
    } else if (flag == "--base") {
      o.base = value;
    } else if (flag == "--dsn") {
      o.dsn = value;
    } else if (flag == "--bearer") {
      o.bearer = value;
    } else if (flag == "--label") {
      o.label = value;
    } else if (flag == "--cpu-of") {
      o.cpu.Add(flag, value);
    } else {
      Usage();
    }
  }
  return o;
}



// ---------------------------------------------------------------------------------------------
// Payload

std::string RandomUuid(std::mt19937_64& rng) {
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xffff),
                static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

// Same format as common::FormatInstant, the text the store passes as last_updated.
std::string NowInstant() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];  // room for any int the compiler can imagine; the real text is 24 bytes
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>((us % 1000000) / 1000));
  return buf;
}

// The part of a heart-rate vital-signs Observation after resourceType/id/meta. Compact, as a
// client library would send it; about 1 KB with id and meta.
constexpr std::string_view kObservationBody =
    R"("status":"final",)"
    R"("category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",)"
    R"("code":"vital-signs","display":"Vital Signs"}],"text":"Vital Signs"}],)"
    R"("code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],)"
    R"("text":"Heart rate"},)"
    R"("subject":{"reference":"Patient/bench-patient-0001","display":"Amy V. Shaw"},)"
    R"("effectiveDateTime":"2024-03-14T09:26:53+01:00",)"
    R"("issued":"2024-03-14T09:27:10.000+01:00",)"
    R"("performer":[{"reference":"Practitioner/bench-practitioner-01","display":"Dr. Adam Careful"}],)"
    R"("valueQuantity":{"value":72.5,"unit":"beats/minute","system":"http://unitsofmeasure.org",)"
    R"("code":"/min"},)"
    R"("interpretation":[{"coding":[{"system":)"
    R"("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N",)"
    R"("display":"Normal"}],"text":"Normal"}],)"
    R"("note":[{"text":"Measured at rest, seated, after five minutes of quiet rest."}],)"
    R"("referenceRange":[{"low":{"value":60,"unit":"beats/minute",)"
    R"("system":"http://unitsofmeasure.org","code":"/min"},)"
    R"("high":{"value":100,"unit":"beats/minute","system":"http://unitsofmeasure.org",)"
    R"("code":"/min"},"text":"60-100 beats/minute at rest"}]})";

// What a client POSTs: no id, no meta.
std::string ObservationForCreate() {
  return std::string(R"({"resourceType":"Observation",)") + std::string(kObservationBody);
}

// What the server stores: the same resource with the assigned id and meta.
// The search-index rows Fovea writes with this Observation, computed once with Fovea's own
// extractor, so the baseline inserts the same rows in the same statement.
const std::string& ObservationIndexRows() {
  static const std::string rows = [] {
    fhir::model::FailFastSink issues;
    auto tree = fhir::format::ParseResourceJson(ObservationForCreate(),
                                                fhir::definitions::Definitions::R4(), issues);
    if (!tree.has_value() || issues.HasErrors()) Die("the benchmark Observation does not parse");
    return fhir::search::ExtractIndex(*tree, *fhir::search::SearchParameterRegistry::R4())
        .ToJson();
  }();
  return rows;
}

std::string ObservationAsStored(const std::string& id, const std::string& last_updated) {
  return std::string(R"({"resourceType":"Observation","id":")") + id +
         R"(","meta":{"versionId":"1","lastUpdated":")" + last_updated + R"("},)" +
         std::string(kObservationBody);
}

// ---------------------------------------------------------------------------------------------
// Clients. One per worker thread; none is shared.

class Client {
 public:
  virtual ~Client() = default;
  // Creates one Observation; on success returns its id.
  virtual std::optional<std::string> Create() = 0;
  virtual bool Read(const std::string& id) = 0;
};

class HttpClient : public Client {
 public:
  HttpClient(const Poco::URI& base, const std::string& bearer)
      : session_(base.getHost(), base.getPort()),
        path_(base.getPath()),
        body_(ObservationForCreate()),
        authorization_(bearer.empty() ? "" : "Bearer " + bearer) {
    while (!path_.empty() && path_.back() == '/') path_.pop_back();
    session_.setKeepAlive(true);
    session_.setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::seconds>(
                                           kIoTimeout).count(), 0));
  }

  std::optional<std::string> Create() override {
    try {
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path_ + "/Observation",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      req.setContentType("application/fhir+json");
      req.set("Accept", "application/fhir+json");
      if (!authorization_.empty()) req.set("Authorization", authorization_);
      req.setContentLength(static_cast<std::streamsize>(body_.size()));
      std::ostream& out = session_.sendRequest(req);
      DisableNagle();
      out << body_;
      Poco::Net::HTTPResponse resp;
      std::istream& in = session_.receiveResponse(resp);
      Drain(in);
      if (resp.getStatus() < 200 || resp.getStatus() > 299) return std::nullopt;
      return IdFromLocation(resp.get("Location", ""));
    } catch (const Poco::Exception&) {
      session_.reset();  // the connection state is unknown; start a new one
      return std::nullopt;
    } catch (const std::exception&) {
      session_.reset();
      return std::nullopt;
    }
  }

  bool Read(const std::string& id) override {
    try {
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path_ + "/Observation/" + id,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      req.set("Accept", "application/fhir+json");
      if (!authorization_.empty()) req.set("Authorization", authorization_);
      session_.sendRequest(req);
      DisableNagle();
      Poco::Net::HTTPResponse resp;
      std::istream& in = session_.receiveResponse(resp);
      Drain(in);
      return resp.getStatus() >= 200 && resp.getStatus() <= 299;
    } catch (const Poco::Exception&) {
      session_.reset();
      return false;
    } catch (const std::exception&) {
      session_.reset();
      return false;
    }
  }

 private:
  // POCO writes the request head and the body in two sends. With Nagle's algorithm the body then
  // waits for the server's (delayed) ACK of the head, adding ~40 ms to every create: a client
  // artefact, not server cost. The session connects lazily and may silently reconnect (on a
  // reused fd number), so this runs after every sendRequest: one setsockopt, under a microsecond.
  void DisableNagle() { session_.socket().setNoDelay(true); }

  // The body must be consumed before the keep-alive connection can carry the next request.
  static void Drain(std::istream& in) {
    Poco::NullOutputStream null;
    Poco::StreamCopier::copyStream(in, null);
  }

  // ".../Observation/<id>/_history/1" or ".../Observation/<id>" -> "<id>".
  static std::optional<std::string> IdFromLocation(const std::string& location) {
    std::string path = location;
    size_t hist = path.find("/_history/");
    if (hist != std::string::npos) path.resize(hist);
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash + 1 >= path.size()) return std::nullopt;
    return path.substr(slash + 1);
  }

  Poco::Net::HTTPClientSession session_;
  std::string path_;
  const std::string body_;
  const std::string authorization_;  // "Bearer ...", or empty
};

class LibpqClient : public Client {
 public:
  explicit LibpqClient(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      Die(std::string("libpq connect: ") + (conn_ ? PQerrorMessage(conn_) : "out of memory"));
    }
    // A hung statement must not keep the run going past its deadline.
    Exec("SET statement_timeout = '10s'");
    Prepare(fhir::store::pg::kInsertFirstVersion);
    Prepare(fhir::store::pg::kReadCurrent);
  }
  ~LibpqClient() override { PQfinish(conn_); }
  LibpqClient(const LibpqClient&) = delete;
  LibpqClient& operator=(const LibpqClient&) = delete;

  std::optional<std::string> Create() override {
    // The same parameters PgResourceStore::Write passes for a create.
    std::string id = RandomUuid(rng_);
    std::string last_updated = NowInstant();
    std::string content = ObservationAsStored(id, last_updated);
    const std::string& index = ObservationIndexRows();
    const char* params[8] = {"Observation", id.c_str(),      "1",    last_updated.c_str(),
                             "false",       content.c_str(), "POST", index.c_str()};
    PGresult* r = PQexecPrepared(conn_, fhir::store::pg::kInsertFirstVersion.name, 8, params,
                                 nullptr, nullptr, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && std::string_view(PQcmdTuples(r)) == "1";
    PQclear(r);
    if (!ok) return std::nullopt;
    return id;
  }

  bool Read(const std::string& id) override {
    const char* params[2] = {"Observation", id.c_str()};
    PGresult* r = PQexecPrepared(conn_, fhir::store::pg::kReadCurrent.name, 2, params, nullptr,
                                 nullptr, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return ok;
  }

 private:
  void Exec(const char* sql) {
    PGresult* r = PQexec(conn_, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      std::string msg = PQerrorMessage(conn_);
      PQclear(r);
      Die(std::string("libpq: ") + msg);
    }
    PQclear(r);
  }

  void Prepare(const fhir::store::pg::PgQuery& q) {
    PGresult* r = PQprepare(conn_, q.name, q.sql, 0, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
      std::string msg = PQerrorMessage(conn_);
      PQclear(r);
      Die(std::string("libpq prepare ") + q.name + ": " + msg);
    }
    PQclear(r);
  }

  PGconn* conn_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// ---------------------------------------------------------------------------------------------
// Driver

struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;  // successful measured operations
  std::int64_t errors = 0;                  // failed measured operations
  Clock::time_point last_finish{};
};

void RunWorker(Client& client, Op op, const std::vector<std::string>& ids,
               Clock::time_point measure_start, Clock::time_point deadline, unsigned seed,
               WorkerResult& out) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, ids.empty() ? 0 : ids.size() - 1);
  out.latencies_us.reserve(1 << 16);
  for (;;) {
    Clock::time_point start = Clock::now();
    if (start >= deadline) break;
    bool ok = op == Op::kCreate ? client.Create().has_value() : client.Read(ids[pick(rng)]);
    Clock::time_point end = Clock::now();
    if (start < measure_start) continue;  // warm-up
    out.last_finish = end;
    if (ok) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
      out.latencies_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
    } else {
      ++out.errors;
    }
  }
}

std::uint32_t Percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::unique_ptr<Client> MakeClient(const Options& o, const Poco::URI& base) {
  if (o.mode == Mode::kHttp) return std::make_unique<HttpClient>(base, o.bearer);
  return std::make_unique<LibpqClient>(o.dsn);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);

  Poco::URI base;
  if (o.mode == Mode::kHttp) {
    try {
      base = Poco::URI(o.base);
    } catch (const Poco::Exception& e) {
      Die("--base: " + e.displayText());
    }
    if (base.getScheme() != "http") Die("--base must be an http:// URL");
    if (!bench::IsLoopbackHost(base.getHost())) Die("--base host must be a loopback address");
  } else {
    bench::CheckDsnIsLocal(o.dsn);
  }

  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(static_cast<size_t>(o.concurrency));
  for (int i = 0; i < o.concurrency; ++i) clients.push_back(MakeClient(o, base));

  // Reads need existing resources; create them through the same path that is measured.
  std::vector<std::string> ids;
  if (o.op == Op::kRead) {
    for (int i = 0; i < kReadPoolSize; ++i) {
      std::optional<std::string> id = clients[0]->Create();
      if (!id) Die("could not create the Observations to read (is the target up?)");
      ids.push_back(std::move(*id));
    }
  }

  auto to_duration = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Clock::time_point begin = Clock::now();
  Clock::time_point measure_start = begin + to_duration(o.warmup_seconds);
  Clock::time_point deadline = measure_start + to_duration(o.duration_seconds);

  std::vector<WorkerResult> results(static_cast<size_t>(o.concurrency));
  std::vector<std::thread> threads;
  std::random_device seeder;
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back(RunWorker, std::ref(*clients[static_cast<size_t>(i)]), o.op,
                         std::cref(ids), measure_start, deadline, seeder(),
                         std::ref(results[static_cast<size_t>(i)]));
  }
  // CPU counted over the measured window: sampled when it opens and after the last worker.
  std::this_thread::sleep_until(measure_start);
  o.cpu.Start();
  for (std::thread& t : threads) t.join();
  std::vector<std::pair<std::string, double>> cpu_used = o.cpu.Used();

  std::vector<std::uint32_t> all;
  std::int64_t errors = 0;
  Clock::time_point end = measure_start;
  for (WorkerResult& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    end = std::max(end, r.last_finish);
  }
  // The window closes when the last in-flight operation finished, not at the deadline: an
  // operation started before the deadline counts, so its time must count too.
  double seconds = std::chrono::duration<double>(end - measure_start).count();
  if (seconds <= 0) seconds = o.duration_seconds;
  std::int64_t ops = static_cast<std::int64_t>(all.size());
  std::uint32_t p50 = Percentile(all, 0.50);
  std::uint32_t p99 = Percentile(all, 0.99);

  std::string cpu_fields;
  for (const auto& [name, seconds] : cpu_used) {
    char field[160];
    std::snprintf(field, sizeof field, ",\"%s_cpu_us_per_op\":%.1f", name.c_str(),
                  seconds * 1e6 / static_cast<double>(std::max<std::int64_t>(ops, 1)));
    cpu_fields += field;
  }
  std::printf(
      "{\"mode\":\"%s\",\"op\":\"%s\",\"concurrency\":%d,\"ops\":%lld,\"seconds\":%.3f,"
      "\"ops_per_sec\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"errors\":%lld,\"label\":\"%s\"%s}\n",
      o.mode == Mode::kHttp ? "http" : "libpq", o.op == Op::kCreate ? "create" : "read",
      o.concurrency, static_cast<long long>(ops), seconds, static_cast<double>(ops) / seconds, p50,
      p99, static_cast<long long>(errors), o.label.c_str(), cpu_fields.c_str());
  std::fflush(stdout);
  return ops > 0 ? 0 : 1;
}
