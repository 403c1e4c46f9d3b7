// transaction_bench: measures transaction Bundle ingest, either through Fovea over HTTP or as the
// very statement Fovea's store runs for it over raw libpq (the baseline: what PostgreSQL alone
// does for the same rows on this machine).
//
//   transaction_bench --mode fovea --url http://127.0.0.1:PORT/fhir/R4 --concurrency N
//                     [--bundles N | --duration S] [--warmup-seconds W]
//                     [--prefer minimal|representation] [--dsn DSN --check-rows] [--label TEXT]
//   transaction_bench --mode baseline --dsn DSN --concurrency N
//                     [--bundles N | --duration S] [--warmup-seconds W] [--check-rows]
//   transaction_bench --mode fovea|baseline --print-payload
//
// Every Bundle holds 100 POST entries: 10 Patients, each with 1 Encounter and 8 vital-signs
// Observations. Every entry has a urn:uuid fullUrl; each Encounter and Observation references its
// Patient's urn:uuid, and each Observation its Encounter's, so Fovea assigns 100 ids and rewrites
// 170 references per Bundle.
//
// fovea:    POST [base] with the Bundle (Prefer: return=minimal by default, as a bulk loader
//           sends it). Fovea parses, validates, rewrites references, extracts the search index
//           and writes everything with ResourceStore::WriteAll: BEGIN; kCreateResources (one
//           statement for the 100 resources); COMMIT. A Bundle counts when the answer is 200
//           with 100 "201 Created" entries.
// baseline: what a competent hand-written loader does for the same rows: per Bundle, on its own
//           connection, BEGIN; kCreateResources (fhir/store/pg/queries.h: resource, history,
//           change-log event and search-index rows of all 100 resources); COMMIT. The statement
//           is prepared once per connection, as PgConnection::Execute does. Its JSON parameter
//           ({"t","i","at","c","x"} per resource, as PgResourceStore's CreatedResourcesJson
//           makes it) is computed ONCE, before the clock starts, with Fovea's own code (parse,
//           StampResource, WriteResourceJson, ExtractIndex) and placeholder ids and time; per
//           Bundle only 100 fresh ids and the current instant are copied into their fixed-width
//           slots (a copy of the ~280 KB text, inside the timed loop). The baseline therefore
//           excludes HTTP, JSON parsing, validation, reference rewriting, canonical
//           serialisation, index extraction, building the parameter and the answer Bundle:
//           exactly what Fovea adds.
//
// Each of N worker threads owns one keep-alive HTTP session or one PGconn. Workers run W seconds
// of warm-up (not counted), then either S measured seconds or until N Bundles (in all) were
// sent. One JSON line goes to stdout. --check-rows (needs --dsn and --bundles, turns warm-up
// off; meant for a few Bundles on a quiet database) also reports how many rows each table gained
// per Bundle and the bytes of stored content, so the two modes can be shown to write the same
// rows. --print-payload prints one Bundle (fovea) or one kCreateResources parameter (baseline),
// with fresh ids, and exits: to look at, or to POST by hand. Only loopback targets are accepted:
// this is a local benchmark and must never be pointed at a shared server by accident.

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "common/clock.h"
#include "common/json.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"
#include "fhir/store/pg/queries.h"
#include "fhir/validation/validator.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPatientsPerBundle = 10;
constexpr int kObservationsPerEncounter = 8;
constexpr int kResourcesPerPatient = 2 + kObservationsPerEncounter;  // Patient, Encounter, Obs
constexpr int kEntriesPerBundle = kPatientsPerBundle * kResourcesPerPatient;
constexpr int kMaxConcurrency = 256;
constexpr auto kIoTimeout = std::chrono::seconds(60);

enum class Mode { kFovea, kBaseline };

struct Options {
  Mode mode = Mode::kFovea;
  int concurrency = 1;
  long long bundles = 0;  // measured Bundles in all; 0: run for duration_seconds
  double duration_seconds = 10;
  double warmup_seconds = 1;
  std::string url = "http://127.0.0.1:8080/fhir/R4";
  std::string dsn;      // empty: libpq's defaults and PG* environment variables
  bool minimal = true;  // Prefer: return=minimal
  bool check_rows = false;
  bool print_payload = false;
  std::string label;  // copied into the result line
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "transaction_bench: %s\n", message.c_str());
  std::exit(2);
}

void Usage() {
  std::fprintf(stderr,
               "usage: transaction_bench --mode fovea|baseline --concurrency N\n"
               "                         [--bundles N | --duration S] [--warmup-seconds W]\n"
               "                         [--url http://127.0.0.1:PORT/fhir/R4] [--dsn DSN]\n"
               "                         [--prefer minimal|representation] [--check-rows]\n"
               "                         [--label TEXT] [--print-payload]\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool have_mode = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") Usage();
    if (flag == "--check-rows") {
      o.check_rows = true;
      continue;
    }
    if (flag == "--print-payload") {
      o.print_payload = true;
      continue;
    }
    if (i + 1 >= argc) Usage();
    std::string value = argv[++i];
    if (flag == "--mode") {
      if (value == "fovea") {
        o.mode = Mode::kFovea;
      } else if (value == "baseline") {
        o.mode = Mode::kBaseline;
      } else {
        Die("--mode must be fovea or baseline");
      }
      have_mode = true;
    } else if (flag == "--concurrency") {
      double n = bench::ParseNonNegative(flag, value);
      if (n < 1 || n > kMaxConcurrency || n != static_cast<int>(n)) {
        Die("--concurrency must be an integer in 1.." + std::to_string(kMaxConcurrency));
      }
      o.concurrency = static_cast<int>(n);
    } else if (flag == "--bundles") {
      double n = bench::ParseNonNegative(flag, value);
      if (n < 1 || n > 1e9 || n != static_cast<long long>(n)) {
        Die("--bundles must be a positive integer");
      }
      o.bundles = static_cast<long long>(n);
    } else if (flag == "--duration" || flag == "--duration-seconds") {
      o.duration_seconds = bench::ParseNonNegative(flag, value);
      if (o.duration_seconds <= 0) Die(flag + " must be positive");
    } else if (flag == "--warmup-seconds") {
      o.warmup_seconds = bench::ParseNonNegative(flag, value);
    } else if (flag == "--url" || flag == "--base") {
      o.url = value;
    } else if (flag == "--dsn") {
      o.dsn = value;
    } else if (flag == "--prefer") {
      if (value != "minimal" && value != "representation") {
        Die("--prefer must be minimal or representation");
      }
      o.minimal = value == "minimal";
    } else if (flag == "--label") {
      o.label = value;
    } else {
      Usage();
    }
  }
  if (!have_mode) Usage();
  return o;
}

// ---------------------------------------------------------------------------------------------
// Payload: one Bundle's 100 resources. The content is the same in every Bundle and in both
// modes; only the ids (fovea: the urn:uuid fullUrls) and the time change from Bundle to Bundle.

std::string RandomUuid(std::mt19937_64& rng) {
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

// Entry k's id in a template: as long as a generated id (LogicalId::Generate, RandomUuid) and
// found nowhere else in the payload.
std::string PlaceholderId(int k) {
  char buf[37];
  std::snprintf(buf, sizeof buf, "b3e7c0de-0000-4000-8000-%012x", static_cast<unsigned>(k));
  return buf;
}

// The instant the baseline's template is stamped with: as long as common::FormatInstant's text.
const common::TimePoint kPlaceholderTime{std::chrono::microseconds(946684799999000LL)};

struct Person {
  const char* family;
  const char* given;
  const char* gender;
  const char* birth_date;
};
constexpr Person kPeople[kPatientsPerBundle] = {
    {"Shaw", "Amy", "female", "1987-02-20"},      {"Becker", "Jonas", "male", "1954-11-03"},
    {"Nguyen", "Lina", "female", "2001-06-17"},   {"Garcia", "Mateo", "male", "1978-09-29"},
    {"Okafor", "Ada", "female", "1965-01-12"},    {"Lindqvist", "Erik", "male", "1992-04-08"},
    {"Rossi", "Giulia", "female", "1949-12-24"},  {"Tanaka", "Haruto", "male", "2010-07-01"},
    {"Dubois", "Claire", "female", "1983-03-15"}, {"Kowalski", "Piotr", "male", "1970-08-22"}};

struct VitalSign {
  const char* code;
  const char* display;
  const char* value;
  const char* unit;
  const char* ucum;
};
// The eight Observations of an Encounter; the last is the blood-pressure panel (components).
constexpr VitalSign kVitals[kObservationsPerEncounter - 1] = {
    {"8867-4", "Heart rate", "72", "beats/minute", "/min"},
    {"9279-1", "Respiratory rate", "16", "breaths/minute", "/min"},
    {"8310-5", "Body temperature", "36.8", "C", "Cel"},
    {"2708-6", "Oxygen saturation in Arterial blood", "98", "%", "%"},
    {"8302-2", "Body height", "172.4", "cm", "cm"},
    {"29463-7", "Body weight", "68.5", "kg", "kg"},
    {"39156-5", "Body mass index (BMI) [Ratio]", "23.05", "kg/m2", "kg/m2"}};

// The resources as a client writes them (compact JSON), laid out by hand for reading.
// clang-format off
std::string Quantity(const char* value, const char* unit, const char* ucum) {
  return std::string(R"({"value":)") + value + R"(,"unit":")" + unit +
         R"(","system":"http://unitsofmeasure.org","code":")" + ucum + R"("})";
}

std::string PatientJson(int p) {
  const Person& who = kPeople[p];
  char mrn[16];
  std::snprintf(mrn, sizeof mrn, "BENCH-%06d", p + 1);
  std::string name = std::string(who.given) + " " + who.family;
  return std::string(R"({"resourceType":"Patient",)") +
         R"("text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>)" +
         name + ", " + who.gender + ", born " + who.birth_date + ", MRN " + mrn +
         R"(</p></div>"},)"
         R"("identifier":[{"use":"usual","type":{"coding":[{"system":)"
         R"("http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR",)"
         R"("display":"Medical record number"}],"text":"MRN"},)"
         R"("system":"urn:oid:1.2.36.146.595.217.0.1","value":")" + mrn + R"("}],)"
         R"("active":true,)"
         R"("name":[{"use":"official","family":")" + who.family + R"(","given":[")" + who.given +
         R"("]}],)"
         R"("telecom":[{"system":"phone","value":"+1 555 0100","use":"home"}],)"
         R"("gender":")" + who.gender + R"(","birthDate":")" + who.birth_date + R"(",)"
         R"("address":[{"use":"home","line":["1 Main Street"],"city":"Springfield",)"
         R"("state":"IL","postalCode":"62701","country":"US"}]})";
}

std::string EncounterJson(const std::string& patient_ref) {
  return std::string(R"({"resourceType":"Encounter","status":"finished",)") +
         R"("class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB",)"
         R"("display":"ambulatory"},)"
         R"("type":[{"coding":[{"system":"http://snomed.info/sct","code":"185349003",)"
         R"("display":"Encounter for check up"}],"text":"Check-up"}],)"
         R"("subject":{"reference":")" + patient_ref + R"("},)"
         R"("participant":[{"individual":{"reference":"Practitioner/bench-practitioner-01",)"
         R"("display":"Dr. Adam Careful"}}],)"
         R"("period":{"start":"2024-03-14T09:00:00+01:00","end":"2024-03-14T09:30:00+01:00"},)"
         R"("reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":"162673000",)"
         R"("display":"General examination of patient"}]}]})";
}

std::string ObservationJson(int i, const std::string& patient_ref,
                            const std::string& encounter_ref) {
  const bool panel = i == kObservationsPerEncounter - 1;
  std::string code = panel ? "85354-9" : kVitals[i].code;
  std::string display = panel ? "Blood pressure panel" : kVitals[i].display;
  std::string out =
      std::string(R"({"resourceType":"Observation","status":"final",)") +
      R"("category":[{"coding":[{"system":)"
      R"("http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs",)"
      R"("display":"Vital Signs"}],"text":"Vital Signs"}],)"
      R"("code":{"coding":[{"system":"http://loinc.org","code":")" + code + R"(","display":")" +
      display + R"("}],"text":")" + display + R"("},)"
      R"("subject":{"reference":")" + patient_ref + R"("},)"
      R"("encounter":{"reference":")" + encounter_ref + R"("},)"
      R"("effectiveDateTime":"2024-03-14T09:26:53+01:00",)"
      R"("issued":"2024-03-14T09:27:10.000+01:00",)"
      R"("performer":[{"reference":"Practitioner/bench-practitioner-01",)"
      R"("display":"Dr. Adam Careful"}],)";
  if (panel) {
    out += R"("component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6",)"
           R"("display":"Systolic blood pressure"}]},"valueQuantity":)" +
           Quantity("118", "mmHg", "mm[Hg]") +
           R"(},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4",)"
           R"("display":"Diastolic blood pressure"}]},"valueQuantity":)" +
           Quantity("76", "mmHg", "mm[Hg]") + "}]}";
  } else {
    out += R"("valueQuantity":)" + Quantity(kVitals[i].value, kVitals[i].unit, kVitals[i].ucum) +
           "}";
  }
  return out;
}
// clang-format on

struct EntrySpec {
  std::string type;
  std::string json;  // the resource, with references made by `ref`
};

// The Bundle's 100 resources in entry order (per Patient: the Patient, its Encounter, its
// Observations). `ref(type, k)` is the reference text to entry k.
template <class Ref>
std::vector<EntrySpec> BundleEntries(const Ref& ref) {
  std::vector<EntrySpec> entries;
  entries.reserve(kEntriesPerBundle);
  for (int p = 0; p < kPatientsPerBundle; ++p) {
    int patient = p * kResourcesPerPatient;
    int encounter = patient + 1;
    entries.push_back({"Patient", PatientJson(p)});
    entries.push_back({"Encounter", EncounterJson(ref("Patient", patient))});
    for (int i = 0; i < kObservationsPerEncounter; ++i) {
      entries.push_back({"Observation",
                         ObservationJson(i, ref("Patient", patient), ref("Encounter", encounter))});
    }
  }
  return entries;
}

// A text with fixed-width slots: built once with placeholder values, then filled per Bundle by
// overwriting every occurrence of each placeholder in a copy. Each value must be exactly as long
// as its placeholder, so filling is one copy plus a memcpy per slot. Immutable once built:
// thread-safe.
class SlotTemplate {
 public:
  SlotTemplate(std::string text, const std::vector<std::string>& placeholders)
      : text_(std::move(text)) {
    for (std::size_t v = 0; v < placeholders.size(); ++v) {
      const std::string& ph = placeholders[v];
      lengths_.push_back(ph.size());
      std::size_t found = 0;
      for (std::size_t at = text_.find(ph); at != std::string::npos;
           at = text_.find(ph, at + ph.size())) {
        slots_.push_back({at, v});
        ++found;
      }
      if (found == 0) Die("internal: placeholder " + ph + " is not in its template");
    }
    std::sort(slots_.begin(), slots_.end(),
              [](const Slot& a, const Slot& b) { return a.offset < b.offset; });
    for (std::size_t i = 1; i < slots_.size(); ++i) {
      if (slots_[i - 1].offset + lengths_[slots_[i - 1].value] > slots_[i].offset) {
        Die("internal: overlapping placeholders");
      }
    }
  }

  std::string Fill(const std::vector<std::string>& values) const {
    std::string out = text_;
    for (const Slot& s : slots_) {
      const std::string& v = values[s.value];
      if (v.size() != lengths_[s.value]) Die("internal: a value does not fit its slot");
      std::memcpy(out.data() + s.offset, v.data(), v.size());
    }
    return out;
  }

  std::size_t size() const { return text_.size(); }

 private:
  struct Slot {
    std::size_t offset;
    std::size_t value;  // index into the values
  };
  std::string text_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> lengths_;
};

std::vector<std::string> IdPlaceholders() {
  std::vector<std::string> ids;
  for (int k = 0; k < kEntriesPerBundle; ++k) ids.push_back(PlaceholderId(k));
  return ids;
}

// What a client POSTs: the transaction Bundle, with slots for the 100 fullUrl uuids.
SlotTemplate FoveaBundleTemplate() {
  std::vector<EntrySpec> entries =
      BundleEntries([](const char*, int k) { return "urn:uuid:" + PlaceholderId(k); });
  std::string out = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
  for (int k = 0; k < kEntriesPerBundle; ++k) {
    if (k > 0) out += ',';
    out += R"({"fullUrl":"urn:uuid:)" + PlaceholderId(k) + R"(","resource":)" +
           entries[static_cast<std::size_t>(k)].json + R"(,"request":{"method":"POST","url":")" +
           entries[static_cast<std::size_t>(k)].type + R"("}})";
  }
  out += "]}";
  return SlotTemplate(std::move(out), IdPlaceholders());
}

// kCreateResources' parameter for one Bundle, with slots for the 100 ids and the instant: what
// PgResourceStore::WriteAll passes, computed with the code Fovea uses for it.
SlotTemplate BaselineParamTemplate() {
  const auto& defs = fhir::definitions::Definitions::R4();
  auto registry = fhir::search::SearchParameterRegistry::R4();
  std::vector<EntrySpec> entries = BundleEntries(
      [](const char* type, int k) { return std::string(type) + "/" + PlaceholderId(k); });
  const std::string at = common::FormatInstant(kPlaceholderTime);
  std::string out = "[";
  for (int k = 0; k < kEntriesPerBundle; ++k) {
    const EntrySpec& e = entries[static_cast<std::size_t>(k)];
    fhir::model::FailFastSink parse_issues;
    auto tree = fhir::format::ParseResourceJson(e.json, defs, parse_issues);
    if (!tree.has_value() || parse_issues.HasErrors()) {
      Die("the benchmark " + e.type + " does not parse: " +
          (tree.has_value() ? parse_issues.first().diagnostics : tree.error().message()));
    }
    fhir::rest::StampResource(*tree, PlaceholderId(k), 1, kPlaceholderTime);
    fhir::model::OperationOutcomeSink issues;
    fhir::validation::ValidateResource(*tree, fhir::model::IssueScope(issues, e.type));
    if (issues.HasErrors()) {
      Die("the benchmark " + e.type + " is invalid: " + issues.issues().front().location + ": " +
          issues.issues().front().diagnostics);
    }
    if (k > 0) out += ',';
    out += "{\"t\":";
    common::AppendJsonString(out, e.type);
    out += ",\"i\":";
    common::AppendJsonString(out, PlaceholderId(k));
    out += ",\"at\":";
    common::AppendJsonString(out, at);
    out += ",\"c\":";
    common::AppendJsonString(out, fhir::format::WriteResourceJson(*tree));
    out += ",\"x\":";
    out += fhir::search::ExtractIndex(*tree, *registry).ToJson();
    out += '}';
  }
  out += ']';
  std::vector<std::string> placeholders = IdPlaceholders();
  placeholders.push_back(at);
  return SlotTemplate(std::move(out), placeholders);
}

std::string NowInstant() {
  return common::FormatInstant(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

// ---------------------------------------------------------------------------------------------
// Loaders. One per worker thread; none is shared.

class Loader {
 public:
  virtual ~Loader() = default;
  // Writes one Bundle; on failure says why in `error`.
  virtual bool Load(std::string& error) = 0;
};

class FoveaLoader final : public Loader {
 public:
  FoveaLoader(const Poco::URI& base, const SlotTemplate& bundle, bool minimal)
      : session_(base.getHost(), base.getPort()),
        path_(base.getPath()),
        bundle_(bundle),
        minimal_(minimal) {
    while (!path_.empty() && path_.back() == '/') path_.pop_back();
    if (path_.empty()) path_ = "/";
    session_.setKeepAlive(true);
    session_.setTimeout(
        Poco::Timespan(std::chrono::duration_cast<std::chrono::seconds>(kIoTimeout).count(), 0));
    ids_.resize(kEntriesPerBundle);
  }
  FoveaLoader(const FoveaLoader&) = delete;
  FoveaLoader& operator=(const FoveaLoader&) = delete;

  bool Load(std::string& error) override {
    for (std::string& id : ids_) id = RandomUuid(rng_);
    const std::string body = bundle_.Fill(ids_);
    try {
      Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, path_,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      req.setKeepAlive(true);
      req.setContentType("application/fhir+json");
      req.set("Accept", "application/fhir+json");
      if (minimal_) req.set("Prefer", "return=minimal");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
      std::ostream& out = session_.sendRequest(req);
      DisableNagle();
      out << body;
      Poco::Net::HTTPResponse resp;
      std::istream& in = session_.receiveResponse(resp);
      std::string answer;
      Poco::StreamCopier::copyToString(in, answer);
      if (resp.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
        error = "HTTP " + std::to_string(resp.getStatus()) + ": " + answer.substr(0, 400);
        return false;
      }
      int created = CountOf(answer, "\"201 Created\"");
      if (created != kEntriesPerBundle) {
        error = "the answer has " + std::to_string(created) + " \"201 Created\" entries, not " +
                std::to_string(kEntriesPerBundle);
        return false;
      }
      return true;
    } catch (const Poco::Exception& e) {
      session_.reset();  // the connection state is unknown; start a new one
      error = e.displayText();
      return false;
    } catch (const std::exception& e) {
      session_.reset();
      error = e.what();
      return false;
    }
  }

 private:
  // See fovea_bench: without TCP_NODELAY the body waits for the delayed ACK of the head.
  void DisableNagle() { session_.socket().setNoDelay(true); }

  static int CountOf(const std::string& haystack, std::string_view needle) {
    int n = 0;
    for (std::size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size())) {
      ++n;
    }
    return n;
  }

  Poco::Net::HTTPClientSession session_;
  std::string path_;
  const SlotTemplate& bundle_;
  const bool minimal_;
  std::vector<std::string> ids_;
  std::mt19937_64 rng_{std::random_device{}()};
};

struct PqClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PqClear>;
struct PqFinish {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PqFinish>;

PgConnPtr Connect(const std::string& dsn) {
  PgConnPtr conn(PQconnectdb(dsn.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    Die(std::string("libpq connect: ") + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  // A hung statement must not keep the run going past its deadline.
  PgResultPtr r(PQexec(conn.get(), "SET statement_timeout = '60s'"));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    Die(std::string("libpq: ") + PQerrorMessage(conn.get()));
  }
  return conn;
}

class BaselineLoader final : public Loader {
 public:
  BaselineLoader(const std::string& dsn, const SlotTemplate& param)
      : conn_(Connect(dsn)), param_(param) {
    const fhir::store::pg::PgQuery& q = fhir::store::pg::kCreateResources;
    PgResultPtr r(PQprepare(conn_.get(), q.name, q.sql, 0, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      Die(std::string("libpq prepare ") + q.name + ": " + PQerrorMessage(conn_.get()));
    }
    values_.resize(kEntriesPerBundle + 1);  // the ids, then the instant
  }
  BaselineLoader(const BaselineLoader&) = delete;
  BaselineLoader& operator=(const BaselineLoader&) = delete;

  bool Load(std::string& error) override {
    for (std::size_t k = 0; k + 1 < values_.size(); ++k) values_[k] = RandomUuid(rng_);
    values_.back() = NowInstant();
    const std::string param = param_.Fill(values_);
    // BEGIN and COMMIT unprepared, as PgResourceStore::WriteAll sends them (ExecuteUnprepared).
    if (!Command("BEGIN", error)) return false;
    const char* params[1] = {param.c_str()};
    PgResultPtr r(PQexecPrepared(conn_.get(), fhir::store::pg::kCreateResources.name, 1, params,
                                 nullptr, nullptr, 0));
    bool ok = PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1 &&
              std::atoi(PQgetvalue(r.get(), 0, 0)) == kEntriesPerBundle;
    if (!ok) {
      error = PQresultStatus(r.get()) == PGRES_TUPLES_OK
                  ? "kCreateResources wrote an unexpected number of rows"
                  : std::string("kCreateResources: ") + PQerrorMessage(conn_.get());
      std::string ignored;
      Command("ROLLBACK", ignored);
      return false;
    }
    return Command("COMMIT", error);
  }

 private:
  bool Command(const char* sql, std::string& error) {
    PgResultPtr r(PQexecParams(conn_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) return true;
    error = std::string(sql) + ": " + PQerrorMessage(conn_.get());
    return false;
  }

  PgConnPtr conn_;
  const SlotTemplate& param_;
  std::vector<std::string> values_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// ---------------------------------------------------------------------------------------------
// Row check: what each table holds, so a run's difference shows which rows a Bundle wrote.

constexpr const char* kCheckedTables[] = {"resource",
                                          "resource_history",
                                          "event",
                                          "sp_string",
                                          "sp_token",
                                          "sp_reference",
                                          "sp_date",
                                          "sp_number",
                                          "sp_quantity",
                                          "sp_uri",
                                          "sp_composite_token",
                                          "sp_composite_quantity",
                                          "sp_composite_date",
                                          "sp_composite_string",
                                          "sp_text",
                                          "audit_event"};

std::vector<long long> CountRows(PGconn* conn) {
  std::string sql = "SELECT ";
  for (const char* table : kCheckedTables) {
    sql += std::string("(SELECT count(*) FROM ") + table + "), ";
  }
  sql += "(SELECT COALESCE(sum(octet_length(content)), 0) FROM resource)";
  PgResultPtr r(PQexec(conn, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
    Die(std::string("counting rows: ") + PQerrorMessage(conn));
  }
  std::vector<long long> counts;
  for (int c = 0; c < PQnfields(r.get()); ++c) {
    counts.push_back(std::atoll(PQgetvalue(r.get(), 0, c)));
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Driver

struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;  // measured Bundles that succeeded
  long long errors = 0;                     // measured Bundles that failed
  std::string first_error;
  Clock::time_point last_finish{};
};

void RunWorker(Loader& loader, Clock::time_point measure_start, Clock::time_point deadline,
               std::atomic<long long>* remaining, WorkerResult& out) {
  out.latencies_us.reserve(1 << 12);
  std::string error;
  for (;;) {
    Clock::time_point start = Clock::now();
    bool measured = start >= measure_start;
    if (measured) {
      if (remaining != nullptr) {
        if (remaining->fetch_sub(1) <= 0) break;
      } else if (start >= deadline) {
        break;
      }
    }
    error.clear();
    bool ok = loader.Load(error);
    Clock::time_point end = Clock::now();
    if (!ok && out.first_error.empty()) out.first_error = error;
    if (!measured) continue;  // warm-up
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
  std::size_t k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);

  Poco::URI base;
  if (o.mode == Mode::kFovea) {
    try {
      base = Poco::URI(o.url);
    } catch (const Poco::Exception& e) {
      Die("--url: " + e.displayText());
    }
    if (base.getScheme() != "http") Die("--url must be an http:// URL");
    if (!bench::IsLoopbackHost(base.getHost())) Die("--url host must be a loopback address");
  }
  if (o.check_rows) {
    // Every Bundle written between the two counts must be a measured one.
    if (o.bundles == 0) Die("--check-rows needs --bundles");
    o.warmup_seconds = 0;
  }
  const bool use_db = o.mode == Mode::kBaseline || o.check_rows;
  if (use_db) bench::CheckDsnIsLocal(o.dsn);

  // Built before any clock starts.
  const SlotTemplate payload =
      o.mode == Mode::kFovea ? FoveaBundleTemplate() : BaselineParamTemplate();
  if (o.print_payload) {
    std::mt19937_64 rng{std::random_device{}()};
    std::vector<std::string> values;
    for (int k = 0; k < kEntriesPerBundle; ++k) values.push_back(RandomUuid(rng));
    if (o.mode == Mode::kBaseline) values.push_back(NowInstant());
    std::printf("%s\n", payload.Fill(values).c_str());
    return 0;
  }

  std::vector<std::unique_ptr<Loader>> loaders;
  loaders.reserve(static_cast<std::size_t>(o.concurrency));
  for (int i = 0; i < o.concurrency; ++i) {
    if (o.mode == Mode::kFovea) {
      loaders.push_back(std::make_unique<FoveaLoader>(base, payload, o.minimal));
    } else {
      loaders.push_back(std::make_unique<BaselineLoader>(o.dsn, payload));
    }
  }

  PgConnPtr check_conn;
  std::vector<long long> rows_before;
  if (o.check_rows) {
    check_conn = Connect(o.dsn);
    rows_before = CountRows(check_conn.get());
  }

  auto to_duration = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Clock::time_point begin = Clock::now();
  Clock::time_point measure_start = begin + to_duration(o.warmup_seconds);
  Clock::time_point deadline = measure_start + to_duration(o.duration_seconds);
  std::atomic<long long> remaining{o.bundles};

  std::vector<WorkerResult> results(static_cast<std::size_t>(o.concurrency));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back(RunWorker, std::ref(*loaders[static_cast<std::size_t>(i)]), measure_start,
                         deadline, o.bundles > 0 ? &remaining : nullptr,
                         std::ref(results[static_cast<std::size_t>(i)]));
  }
  for (std::thread& t : threads) t.join();

  std::vector<std::uint32_t> all;
  long long errors = 0;
  Clock::time_point end = measure_start;
  std::string first_error;
  for (WorkerResult& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    end = std::max(end, r.last_finish);
    if (first_error.empty()) first_error = r.first_error;
  }
  if (!first_error.empty())
    std::fprintf(stderr, "transaction_bench: first error: %s\n", first_error.c_str());
  // The window closes when the last in-flight Bundle finished, not at the deadline: a Bundle
  // started before the deadline counts, so its time must count too.
  double seconds = std::chrono::duration<double>(end - measure_start).count();
  if (seconds <= 0) seconds = o.duration_seconds;
  long long bundles = static_cast<long long>(all.size());
  long long resources = bundles * kEntriesPerBundle;
  std::uint32_t p50 = Percentile(all, 0.50);
  std::uint32_t p99 = Percentile(all, 0.99);

  std::string rows_json;
  if (o.check_rows) {
    std::vector<long long> after = CountRows(check_conn.get());
    rows_json = ",\"rows_per_bundle\":{";
    for (std::size_t i = 0; i < after.size(); ++i) {
      std::string name = i < std::size(kCheckedTables) ? kCheckedTables[i] : "content_bytes";
      double per = static_cast<double>(after[i] - rows_before[i]) /
                   static_cast<double>(std::max<long long>(bundles, 1));
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s\"%s\":%.1f", i > 0 ? "," : "", name.c_str(), per);
      rows_json += buf;
    }
    rows_json += "}";
  }

  std::string label;
  common::AppendJsonString(label, o.label);
  std::printf(
      "{\"mode\":\"%s\",\"concurrency\":%d,\"entries_per_bundle\":%d,\"bundles\":%lld,"
      "\"resources\":%lld,\"seconds\":%.3f,\"resources_per_sec\":%.1f,\"bundles_per_sec\":%.2f,"
      "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"errors\":%lld,\"payload_bytes\":%zu,\"prefer\":\"%s\","
      "\"label\":%s%s}\n",
      o.mode == Mode::kFovea ? "fovea" : "baseline", o.concurrency, kEntriesPerBundle, bundles,
      resources, seconds, static_cast<double>(resources) / seconds,
      static_cast<double>(bundles) / seconds, p50 / 1000.0, p99 / 1000.0, errors, payload.size(),
      o.mode == Mode::kFovea ? (o.minimal ? "minimal" : "representation") : "n/a", label.c_str(),
      rows_json.c_str());
  std::fflush(stdout);
  return bundles > 0 && errors == 0 ? 0 : 1;
}
