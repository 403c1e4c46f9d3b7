// workflow_bench: the screening workflow under load (issue 7), measured from the client's side
// against the plain Task update path in the same run.
//
//   workflow_bench --mode sessions --url http://127.0.0.1:PORT/fhir/R4 --clients C
//                  [--duration D] [--warmup W] [--label TEXT] [--run I]
//       C client threads, each running whole screening sessions one after another for W + D
//       seconds (the first W not counted): POST Encounter/$start-screening, then every step in
//       the plan's order: GET the step's Task, claim it (PUT status in-progress + owner,
//       If-Match), record its outputs (POST two Observations for visual acuity and for refraction,
//       a DiagnosticReport for the doctor's diagnosis; Prefer: return=minimal), complete it (PUT
//       status completed, If-Match the claim's version). Visual acuity and refraction run in
//       parallel, the second on a helper thread with its own connection, so their completions
//       race for the session Task as two technicians' would.
//   workflow_bench --mode plain --url URL --clients C [--duration D] [--warmup W] ...
//       The baseline: the same Task requests without the workflow. Each client owns five Tasks
//       (copies of a real session's step Tasks, same size and references, but with a code outside
//       the screening-step system, so the state machine lets them through untouched) and runs
//       "pseudo-sessions": for each of the five Tasks GET, PUT in-progress + owner, PUT completed
//       (If-Match on both), Tasks 2 and 3 in parallel like the technicians' steps. That is the
//       same number of Task writes (10) and reads (5) per session, and nothing else: no start,
//       no outputs, no effects.
//   workflow_bench --mode latency --target workflow|plain --url URL [--samples N] [--gap-ms G]
//                  [--timeout-seconds T] ...
//       One client bound over Fovea's WebSocket (/ws/subscriptions-r4) and one writer, with no
//       other load from the benchmark. workflow: a subscription to the task-status topic filtered by
//       Task?status=ready; sessions are run step by step (one at a time), and each completing PUT
//       that readies next steps is timed from just before it is sent to the arrival of the frame
//       that announces each readied step (check-in -> visual-acuity and refraction; refraction,
//       the second technician step -> doctor-diagnosis; doctor-diagnosis ->
//       supervisor-approval). plain: a subscription to the Task-changed topic filtered by
//       Task?status=completed; each completing PUT of a plain Task is timed to the frame that
//       announces that Task. Both id-only. Every write waits until its frames arrived (or T
//       passed) and then G ms before the next request.
//
// One JSON line goes to stdout per run. Only loopback targets are accepted.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_common.h"
#include "common/json.h"

namespace {

using bench::JsonLine;
using bench::JsonString;
using bench::ParseInt;
using bench::Percentile;
using bench::RandomTag;

using Clock = std::chrono::steady_clock;
using common::JsonValue;

constexpr const char* kStepSystem = "https://fovea.health/fhir/CodeSystem/screening-step";
constexpr const char* kPlainSystem = "https://fovea.health/bench/CodeSystem/plain-task";
constexpr const char* kTopicBase = "https://fovea.health/fhir/SubscriptionTopic/";
constexpr const char* kRight = "362502000";
constexpr const char* kLeft = "362503005";
// The plan's steps in order; the two technician steps run in parallel.
constexpr std::array<const char*, 5> kSteps = {"check-in", "visual-acuity", "refraction", "doctor-diagnosis",
                                               "supervisor-approval"};

enum class Mode { kSessions, kPlain, kLatency };

struct Options {
  Mode mode = Mode::kSessions;
  bool latency_plain = false;
  std::string url = "http://127.0.0.1:8080/fhir/R4";
  int clients = 1;
  double duration = 10;
  double warmup = 2;
  int samples = 200;
  double gap_ms = 20;
  double timeout_seconds = 5;
  std::string label;
  int run = 0;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "workflow_bench: %s\n", message.c_str());
  std::exit(2);
}

void Usage() {
  std::fprintf(stderr,
               "usage: workflow_bench --mode sessions|plain --url URL --clients C [--duration D] [--warmup W]\n"
               "       workflow_bench --mode latency --target workflow|plain --url URL [--samples N]\n"
               "                      [--gap-ms G] [--timeout-seconds T]\n"
               "       (all: [--label TEXT] [--run I])\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  bool have_mode = false;
  for (const auto& [flag, value] : bench::FlagValues(argc, argv, Usage)) {
    if (flag == "--mode") {
      if (value == "sessions") {
        o.mode = Mode::kSessions;
      } else if (value == "plain") {
        o.mode = Mode::kPlain;
      } else if (value == "latency") {
        o.mode = Mode::kLatency;
      } else {
        Die("--mode must be sessions, plain or latency");
      }
      have_mode = true;
    } else if (flag == "--target") {
      if (value != "workflow" && value != "plain") Die("--target must be workflow or plain");
      o.latency_plain = value == "plain";
    } else if (flag == "--url") {
      o.url = value;
    } else if (flag == "--clients") {
      o.clients = ParseInt(flag, value, 1, 256);
    } else if (flag == "--duration") {
      o.duration = bench::ParseNonNegative(flag, value);
    } else if (flag == "--warmup") {
      o.warmup = bench::ParseNonNegative(flag, value);
    } else if (flag == "--samples") {
      o.samples = ParseInt(flag, value, 1, 1000000);
    } else if (flag == "--gap-ms") {
      o.gap_ms = bench::ParseNonNegative(flag, value);
    } else if (flag == "--timeout-seconds") {
      o.timeout_seconds = bench::ParseNonNegative(flag, value);
    } else if (flag == "--label") {
      o.label = value;
    } else if (flag == "--run") {
      o.run = ParseInt(flag, value, 0, 1000000);
    } else {
      Usage();
    }
  }
  if (!have_mode) Usage();
  Poco::URI uri(o.url);
  if (uri.getScheme() != "http" || !bench::IsLoopbackHost(uri.getHost())) {
    Die("--url must be plain http on a loopback address");
  }
  if (o.duration <= 0 && o.mode != Mode::kLatency) Die("--duration must be positive");
  return o;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 to Fovea over one keep-alive connection. Thread-compatible.

struct Answer {
  int status = 0;
  std::string body;
  std::string location;
  std::string etag;
};

class Http {
 public:
  explicit Http(const std::string& url) : uri_(url) {}

  // `path` is relative to the FHIR base ("Task/x").
  Answer Request(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& if_match = "", bool minimal = false) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!session_) {
          session_ = std::make_unique<Poco::Net::HTTPClientSession>(uri_.getHost(), uri_.getPort());
          session_->setKeepAlive(true);
          session_->setTimeout(Poco::Timespan(60, 0));
        }
        Poco::Net::HTTPRequest req(method, uri_.getPath() + "/" + path, Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(true);
        if (minimal) req.set("Prefer", "return=minimal");
        if (!if_match.empty()) req.set("If-Match", if_match);
        if (!body.empty()) {
          req.setContentType("application/fhir+json");
          req.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        std::ostream& os = session_->sendRequest(req);
        if (!body.empty()) os.write(body.data(), static_cast<std::streamsize>(body.size()));
        Poco::Net::HTTPResponse resp;
        std::istream& is = session_->receiveResponse(resp);
        Answer a;
        a.status = resp.getStatus();
        std::ostringstream content;
        Poco::StreamCopier::copyStream(is, content);
        a.body = content.str();
        a.location = resp.get("Location", "");
        a.etag = resp.get("ETag", "");
        return a;
      } catch (const Poco::Exception& e) {
        session_.reset();
        if (attempt == 1) return {0, e.displayText(), "", ""};
      }
    }
    return {};
  }

  int port() const { return uri_.getPort(); }

 private:
  Poco::URI uri_;
  std::unique_ptr<Poco::Net::HTTPClientSession> session_;
};

std::string Str(const JsonValue& v, std::initializer_list<const char*> path) {
  const JsonValue* f = &v;
  for (const char* p : path) {
    f = f->Find(p);
    if (f == nullptr) return "";
  }
  return f->scalar();
}

std::string IdFromLocation(const std::string& location, const std::string& type) {
  std::size_t at = location.find("/" + type + "/");
  if (at == std::string::npos) return "";
  std::string id = location.substr(at + type.size() + 2);
  return id.substr(0, id.find('/'));
}

// The body with status set and owner replaced (empty: removed).
std::string WithStatus(JsonValue task, const std::string& status, const std::string& owner) {
  task.Set("status", JsonValue::String(status));
  auto& m = task.members();
  m.erase(std::remove_if(m.begin(), m.end(), [](const auto& kv) { return kv.first == "owner"; }), m.end());
  if (!owner.empty()) {
    JsonValue ref = JsonValue::Object();
    ref.Set("reference", JsonValue::String(owner));
    task.Set("owner", std::move(ref));
  }
  return common::ToJson(task);
}

std::string IfMatch(const JsonValue& resource) { return "W/\"" + Str(resource, {"meta", "versionId"}) + "\""; }

// ---------------------------------------------------------------------------------------------
// Shared set-up: a unit (Location), staff (Practitioners) and one Patient per client.

struct Unit {
  std::string tag;
  std::string location;             // Location id
  std::vector<std::string> patients;  // one per client
};

void MustPut(Http& http, const std::string& path, const std::string& body) {
  Answer a = http.Request("PUT", path, body, "", true);
  if (a.status != 200 && a.status != 201) Die("PUT " + path + ": " + std::to_string(a.status) + " " + a.body.substr(0, 300));
}

Unit SetUpUnit(const Options& o, int patients) {
  Unit u;
  u.tag = RandomTag();
  Http http(o.url);
  u.location = "wfb-van";
  MustPut(http, "Location/" + u.location,
          R"({"resourceType":"Location","id":"wfb-van","status":"active","mode":"instance","name":"Benchmark van",)"
          R"("physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"ve"}]}})");
  for (const char* who : {"registration", "technician-1", "technician-2", "doctor", "supervisor"}) {
    std::string id = std::string("wfb-") + who;
    MustPut(http, "Practitioner/" + id,
            R"({"resourceType":"Practitioner","id":")" + id + R"(","name":[{"family":"Bench","given":[")" + who + R"("]}]})");
  }
  for (int i = 0; i < patients; ++i) {
    std::string id = "wfb-" + u.tag + "-p" + std::to_string(i);
    MustPut(http, "Patient/" + id,
            R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":"Bench","given":["P)" + std::to_string(i) +
                R"("]}],"birthDate":"2015-06-01"})");
    u.patients.push_back(id);
  }
  return u;
}

std::string Owner(const std::string& step, int technician) {
  if (step == "check-in") return "Practitioner/wfb-registration";
  if (step == "doctor-diagnosis") return "Practitioner/wfb-doctor";
  if (step == "supervisor-approval") return "Practitioner/wfb-supervisor";
  return "Practitioner/wfb-technician-" + std::to_string(technician);
}

std::string ObservationJson(const std::string& patient, const std::string& encounter, const std::string& code,
                            const std::string& eye) {
  return R"({"resourceType":"Observation","status":"preliminary",)"
         R"("category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"exam"}]}],)"
         R"("code":{"coding":[{"system":"http://snomed.info/sct","code":")" +
         code + R"("}]},"subject":{"reference":"Patient/)" + patient + R"("},"encounter":{"reference":"Encounter/)" +
         encounter + R"("},"bodySite":{"coding":[{"system":"http://snomed.info/sct","code":")" + eye +
         R"("}]},"valueString":"6/9"})";
}

std::string ReportJson(const std::string& patient, const std::string& encounter) {
  return R"({"resourceType":"DiagnosticReport","status":"preliminary","code":{"text":"Vision screening"},)"
         R"("subject":{"reference":"Patient/)" +
         patient + R"("},"encounter":{"reference":"Encounter/)" + encounter +
         R"("},"conclusion":"Myopia, both eyes; glasses prescribed"})";
}

std::string StartJson(const std::string& patient, const std::string& location) {
  return R"({"resourceType":"Parameters","parameter":[{"name":"patient","valueReference":{"reference":"Patient/)" + patient +
         R"("}},{"name":"location","valueReference":{"reference":"Location/)" + location + R"("}}]})";
}

struct Session {
  std::string encounter;
  std::map<std::string, std::string> steps;  // step code -> Task id
  std::map<std::string, JsonValue> bodies;   // step code -> the Task as the start created it
};

// Reads the $start-screening answer (a collection Bundle).
bool ParseSession(const std::string& body, Session& s) {
  auto json = common::ParseJson(body);
  if (!json.has_value() || json->Find("entry") == nullptr) return false;
  for (const JsonValue& e : json->Find("entry")->items()) {
    const JsonValue* res = e.Find("resource");
    if (res == nullptr) continue;
    std::string type = Str(*res, {"resourceType"});
    if (type == "Encounter") s.encounter = Str(*res, {"id"});
    if (type != "Task" || res->Find("code") == nullptr || res->Find("code")->Find("coding") == nullptr) continue;
    std::string code = Str(res->Find("code")->Find("coding")->items().front(), {"code"});
    if (code == "screening-session") continue;
    s.steps[code] = Str(*res, {"id"});
    s.bodies[code] = *res;
  }
  return !s.encounter.empty() && s.steps.size() == kSteps.size();
}

// ---------------------------------------------------------------------------------------------
// Per-client records of one throughput run: counts and latencies of answers inside the window.

enum Kind { kStart, kGet, kClaim, kOutput, kComplete, kKinds };
constexpr std::array<const char*, kKinds> kKindNames = {"start", "get", "claim", "output", "complete"};

struct Window {
  std::atomic<bool> stop{false};
  Clock::time_point begin, end;  // set before the clients start
  bool Inside(Clock::time_point t) const { return t >= begin && t < end; }
};

struct Tally {
  std::array<std::vector<double>, kKinds> ms;
  long long sessions = 0;
  long long transitions = 0;  // claims and completions answered 200 inside the window
  long long requests = 0;
  long long errors = 0;
  long long conflicts = 0;  // 409/412 (should not happen: each step has one client)
  long long stuck = 0;      // sessions whose doctor's step stayed draft after both technician steps completed
  std::string first_error;
  std::string first_stuck;

  void Merge(const Tally& t) {
    for (int k = 0; k < kKinds; ++k) ms[k].insert(ms[k].end(), t.ms[k].begin(), t.ms[k].end());
    sessions += t.sessions;
    transitions += t.transitions;
    requests += t.requests;
    errors += t.errors;
    conflicts += t.conflicts;
    stuck += t.stuck;
    if (first_error.empty()) first_error = t.first_error;
    if (first_stuck.empty()) first_stuck = t.first_stuck;
  }
};

// One client's connection plus its tally; Call() times a request and records it if it was sent
// inside the window.
class Caller {
 public:
  Caller(const std::string& url, const Window& w) : url_(url), http_(url), window_(w) {}

  Answer Call(Kind kind, const std::string& method, const std::string& path, const std::string& body,
              const std::string& if_match, bool minimal, int expect) {
    Clock::time_point t0 = Clock::now();
    Answer a = http_.Request(method, path, body, if_match, minimal);
    Clock::time_point t1 = Clock::now();
    bool inside = window_.Inside(t0) && window_.Inside(t1);
    if (inside) {
      ++tally.requests;
      tally.ms[kind].push_back(Ms(t1 - t0));
    }
    if (a.status != expect) {
      if (inside) {
        ++tally.errors;
        if (a.status == 409 || a.status == 412) ++tally.conflicts;
      }
      if (tally.first_error.empty()) {
        tally.first_error = method + " " + path + ": " + std::to_string(a.status) + " " + a.body.substr(0, 300);
      }
    } else if (inside && (kind == kClaim || kind == kComplete)) {
      ++tally.transitions;
    }
    return a;
  }
  bool Inside(Clock::time_point t) const { return window_.Inside(t); }
  const std::string& url() const { return url_; }

  Tally tally;

 private:
  std::string url_;
  Http http_;
  const Window& window_;
};

// Works one step of a session: GET, claim, outputs, complete. False on any unexpected answer.
bool WorkStep(Caller& c, const Session& s, const std::string& patient, const std::string& step, int technician) {
  const std::string path = "Task/" + s.steps.at(step);
  Answer got = c.Call(kGet, "GET", path, "", "", false, 200);
  if (got.status != 200) return false;
  auto task = common::ParseJson(got.body);
  if (!task.has_value()) return false;
  if (Str(*task, {"status"}) == "draft") {
    // Both predecessors answered 200, so the step should be ready: read it again a little later
    // (not timed) to tell a late reader from a step the server left draft.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Http again(c.url());
    auto reread = common::ParseJson(again.Request("GET", path).body);
    if (reread.has_value() && Str(*reread, {"status"}) == "draft") {
      if (c.Inside(Clock::now())) ++c.tally.stuck;
      if (c.tally.first_stuck.empty()) c.tally.first_stuck = path + " (" + step + ") in Encounter/" + s.encounter;
      return false;
    }
  }
  const std::string owner = Owner(step, technician);
  Answer claimed = c.Call(kClaim, "PUT", path, WithStatus(*task, "in-progress", owner), IfMatch(*task), false, 200);
  if (claimed.status != 200) return false;
  auto mine = common::ParseJson(claimed.body);
  if (!mine.has_value()) return false;
  if (step == "visual-acuity" || step == "refraction") {
    const std::string code = step == "visual-acuity" ? "363983007" : "251794006";
    for (const char* eye : {kRight, kLeft}) {
      if (c.Call(kOutput, "POST", "Observation", ObservationJson(patient, s.encounter, code, eye), "", true, 201).status != 201) {
        return false;
      }
    }
  } else if (step == "doctor-diagnosis") {
    if (c.Call(kOutput, "POST", "DiagnosticReport", ReportJson(patient, s.encounter), "", true, 201).status != 201) {
      return false;
    }
  }
  return c.Call(kComplete, "PUT", path, WithStatus(*mine, "completed", owner), IfMatch(*mine), true, 200).status == 200;
}

// Runs `fn` on a helper thread with the second connection while the caller runs its own part.
template <class Fn>
bool InParallel(Fn&& mine, Fn&& other) {
  bool other_ok = false;
  std::thread t([&] { other_ok = other(); });
  bool ok = mine();
  t.join();
  return ok && other_ok;
}

void SessionClient(const Options& o, const Unit& u, int index, Window& w, Tally& out) {
  Caller main(o.url, w), helper(o.url, w);
  const std::string& patient = u.patients[static_cast<std::size_t>(index)];
  while (!w.stop.load(std::memory_order_relaxed)) {
    Answer started = main.Call(kStart, "POST", "Encounter/$start-screening", StartJson(patient, u.location), "", false, 201);
    Session s;
    if (started.status != 201 || !ParseSession(started.body, s)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // do not spin on a failing server
      continue;
    }
    if (!WorkStep(main, s, patient, "check-in", 1)) continue;
    std::function<bool()> acuity = [&] { return WorkStep(main, s, patient, "visual-acuity", 1); };
    std::function<bool()> refraction = [&] { return WorkStep(helper, s, patient, "refraction", 2); };
    if (!InParallel(acuity, refraction)) continue;
    if (!WorkStep(main, s, patient, "doctor-diagnosis", 1)) continue;
    if (!WorkStep(main, s, patient, "supervisor-approval", 1)) continue;
    if (main.Inside(Clock::now())) ++main.tally.sessions;
  }
  out.Merge(main.tally);
  out.Merge(helper.tally);
}

// The baseline's Tasks: a real session's five step Tasks, copied under new ids with a code in
// another system (not screening steps), created ready. Returns their bodies as created.
std::vector<JsonValue> CreatePlainTasks(Http& http, const Unit& u, const std::string& patient, const std::string& prefix) {
  Answer started = http.Request("POST", "Encounter/$start-screening", StartJson(patient, u.location));
  Session s;
  if (started.status != 201 || !ParseSession(started.body, s)) {
    Die("$start-screening (for the plain Tasks' template): " + std::to_string(started.status) + " " + started.body.substr(0, 300));
  }
  std::vector<JsonValue> tasks;
  for (std::size_t k = 0; k < kSteps.size(); ++k) {
    JsonValue t = s.bodies.at(kSteps[k]);
    const std::string id = prefix + "-" + std::to_string(k);
    auto& m = t.members();
    m.erase(std::remove_if(m.begin(), m.end(), [](const auto& kv) { return kv.first == "meta"; }), m.end());
    t.Set("id", JsonValue::String(id));
    t.Set("status", JsonValue::String("ready"));
    JsonValue coding = JsonValue::Object();
    coding.Set("system", JsonValue::String(kPlainSystem));
    coding.Set("code", JsonValue::String(kSteps[k]));
    JsonValue codings = JsonValue::Array();
    codings.Add(std::move(coding));
    JsonValue code = JsonValue::Object();
    code.Set("coding", std::move(codings));
    t.Set("code", std::move(code));
    Answer a = http.Request("PUT", "Task/" + id, common::ToJson(t));
    if (a.status != 201 && a.status != 200) Die("PUT Task/" + id + ": " + std::to_string(a.status) + " " + a.body.substr(0, 300));
    auto json = common::ParseJson(a.body);
    if (!json.has_value()) Die("PUT Task/" + id + ": unreadable answer");
    tasks.push_back(*json);
  }
  return tasks;
}

bool WorkPlain(Caller& c, const std::string& id, const std::string& owner) {
  const std::string path = "Task/" + id;
  Answer got = c.Call(kGet, "GET", path, "", "", false, 200);
  if (got.status != 200) return false;
  auto task = common::ParseJson(got.body);
  if (!task.has_value()) return false;
  Answer claimed = c.Call(kClaim, "PUT", path, WithStatus(*task, "in-progress", owner), IfMatch(*task), false, 200);
  if (claimed.status != 200) return false;
  auto mine = common::ParseJson(claimed.body);
  if (!mine.has_value()) return false;
  return c.Call(kComplete, "PUT", path, WithStatus(*mine, "completed", owner), IfMatch(*mine), true, 200).status == 200;
}

void PlainClient(const Options& o, const std::vector<std::string>& ids, Window& w, Tally& out) {
  Caller main(o.url, w), helper(o.url, w);
  auto own = [](std::size_t k, int tech) { return Owner(kSteps[k], tech); };
  while (!w.stop.load(std::memory_order_relaxed)) {
    if (!WorkPlain(main, ids[0], own(0, 1))) continue;
    std::function<bool()> a = [&] { return WorkPlain(main, ids[1], own(1, 1)); };
    std::function<bool()> b = [&] { return WorkPlain(helper, ids[2], own(2, 2)); };
    if (!InParallel(a, b)) continue;
    if (!WorkPlain(main, ids[3], own(3, 1))) continue;
    if (!WorkPlain(main, ids[4], own(4, 1))) continue;
    if (main.Inside(Clock::now())) ++main.tally.sessions;
  }
  out.Merge(main.tally);
  out.Merge(helper.tally);
}

int RunThroughput(const Options& o) {
  const bool plain = o.mode == Mode::kPlain;
  Unit u = SetUpUnit(o, o.clients);
  std::vector<std::vector<std::string>> plain_ids(static_cast<std::size_t>(o.clients));
  if (plain) {
    Http http(o.url);
    for (int i = 0; i < o.clients; ++i) {
      std::vector<JsonValue> tasks = CreatePlainTasks(http, u, u.patients[static_cast<std::size_t>(i)],
                                                      "wfb-" + u.tag + "-c" + std::to_string(i));
      for (const JsonValue& t : tasks) plain_ids[static_cast<std::size_t>(i)].push_back(Str(t, {"id"}));
    }
  }
  Window w;
  Clock::time_point start = Clock::now();
  w.begin = start + std::chrono::microseconds(static_cast<long long>(o.warmup * 1e6));
  w.end = w.begin + std::chrono::microseconds(static_cast<long long>(o.duration * 1e6));
  std::vector<Tally> tallies(static_cast<std::size_t>(o.clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back([&, i] {
      if (plain) {
        PlainClient(o, plain_ids[static_cast<std::size_t>(i)], w, tallies[static_cast<std::size_t>(i)]);
      } else {
        SessionClient(o, u, i, w, tallies[static_cast<std::size_t>(i)]);
      }
    });
  }
  std::this_thread::sleep_until(w.end);
  w.stop.store(true);
  for (std::thread& t : threads) t.join();
  Tally all;
  for (const Tally& t : tallies) all.Merge(t);
  for (auto& v : all.ms) std::sort(v.begin(), v.end());

  JsonLine line;
  line.Add("mode", plain ? "plain" : "sessions")
      .Add("clients", o.clients)
      .Add("duration_s", o.duration)
      .Add("warmup_s", o.warmup)
      .Add("sessions", all.sessions)
      .Add("sessions_per_s", static_cast<double>(all.sessions) / o.duration)
      .Add("transitions", all.transitions)
      .Add("transitions_per_s", static_cast<double>(all.transitions) / o.duration)
      .Add("requests", all.requests)
      .Add("requests_per_s", static_cast<double>(all.requests) / o.duration)
      .Add("errors", all.errors)
      .Add("conflicts", all.conflicts)
      .Add("stuck", all.stuck);
  for (int k = 0; k < kKinds; ++k) {
    const auto& v = all.ms[static_cast<std::size_t>(k)];
    if (v.empty()) continue;
    line.Add(std::string(kKindNames[static_cast<std::size_t>(k)]) + "_n", static_cast<long long>(v.size()))
        .Add(std::string(kKindNames[static_cast<std::size_t>(k)]) + "_p50_ms", Percentile(v, 50))
        .Add(std::string(kKindNames[static_cast<std::size_t>(k)]) + "_p99_ms", Percentile(v, 99));
  }
  line.Add("label", o.label).Add("run", o.run);
  if (!all.first_error.empty()) line.Add("first_error", all.first_error);
  if (!all.first_stuck.empty()) line.Add("first_stuck", all.first_stuck);
  line.Print();
  return 0;
}

// ---------------------------------------------------------------------------------------------
// A minimal blocking WebSocket client (RFC 6455): one socket, a reader thread that decodes
// frames and hands every text message to a callback with the time its read returned.

class WsClient {
 public:
  using OnMessage = std::function<void(const std::string& message, Clock::time_point at)>;

  WsClient(int port, OnMessage on_message) : on_message_(std::move(on_message)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) Die("socket failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("WebSocket connect failed");
    SendAll("GET /ws/subscriptions-r4 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    while (in_.find("\r\n\r\n") == std::string::npos) {
      if (!ReadSome()) Die("WebSocket closed during the upgrade");
    }
    if (in_.compare(0, 12, "HTTP/1.1 101") != 0) Die("upgrade refused: " + in_.substr(0, in_.find("\r\n")));
    in_.erase(0, in_.find("\r\n\r\n") + 4);
  }
  ~WsClient() {
    ::shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    ::close(fd_);
  }
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Sends a text message (before Start(), or from the reader thread only).
  void SendText(std::string_view text) { SendAll(Frame(0x1, text)); }

  // Blocks until the next whole text message (before Start()).
  std::string ReadMessage() {
    std::string message;
    while (!TakeMessage(message)) {
      if (!ReadSome()) Die("WebSocket closed");
    }
    return message;
  }

  void Start() {
    reader_ = std::thread([this] {
      std::string message;
      while (true) {
        while (TakeMessage(message)) on_message_(message, last_read_);
        if (!ReadSome()) return;
      }
    });
  }

 private:
  std::string Frame(std::uint8_t opcode, std::string_view payload) {
    std::string out;
    out += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      out += static_cast<char>(0x80 | payload.size());
    } else {
      out += static_cast<char>(0x80 | 126);
      out += static_cast<char>((payload.size() >> 8) & 0xff);
      out += static_cast<char>(payload.size() & 0xff);
    }
    std::uint32_t seed = rng_();
    char mask[4];
    for (int i = 0; i < 4; ++i) mask[i] = static_cast<char>((seed >> (8 * i)) & 0xff);
    out.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ mask[i % 4]);
    return out;
  }

  void SendAll(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) Die("WebSocket send failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  bool ReadSome() {
    char buf[64 * 1024];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    last_read_ = Clock::now();
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // A whole text message off the front of in_ (pings answered, pongs skipped); false if not there.
  bool TakeMessage(std::string& message) {
    while (true) {
      if (in_.size() < 2) return false;
      auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in_[i]); };
      bool fin = (byte(0) & 0x80) != 0;
      std::uint8_t opcode = byte(0) & 0x0f;
      std::uint64_t length = byte(1) & 0x7f;
      std::size_t head = 2;
      if (length == 126) {
        if (in_.size() < 4) return false;
        length = (std::uint64_t{byte(2)} << 8) | byte(3);
        head = 4;
      } else if (length == 127) {
        if (in_.size() < 10) return false;
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | byte(2 + static_cast<std::size_t>(i));
        head = 10;
      }
      if (in_.size() < head + length) return false;
      std::string payload = in_.substr(head, length);  // the server does not mask
      in_.erase(0, head + length);
      if (opcode == 0x9) {
        SendAll(Frame(0xA, payload));
        continue;
      }
      if (opcode == 0x8) Die("the server closed the WebSocket");
      if (opcode == 0xA) continue;
      if (opcode != 0x0) partial_.clear();
      partial_ += payload;
      if (!fin) continue;
      message.swap(partial_);
      partial_.clear();
      return true;
    }
  }

  int fd_ = -1;
  OnMessage on_message_;
  std::string in_;
  std::string partial_;
  Clock::time_point last_read_;
  std::mt19937 rng_{4242};
  std::thread reader_;
};

// Arrival times of the notifications, by the Task id they announce. Thread-safe.
class Arrivals {
 public:
  void OnMessage(const std::string& message, Clock::time_point at) {
    std::lock_guard lock(mu_);
    ++messages_;
    // Every "/Task/<id>" in the Bundle (fullUrl, focus): the event's Task.
    for (std::size_t pos = message.find("/Task/"); pos != std::string::npos; pos = message.find("/Task/", pos + 1)) {
      std::size_t start = pos + 6;
      std::size_t end = message.find_first_of("\"/", start);
      if (end == std::string::npos) break;
      seen_[message.substr(start, end - start)].push_back(at);
    }
    cv_.notify_all();
  }
  // The first arrival announcing `id` at or after `since`, waiting until `deadline`; {} if none.
  Clock::time_point WaitFor(const std::string& id, Clock::time_point since, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    Clock::time_point found{};
    cv_.wait_until(lock, deadline, [&] {
      auto it = seen_.find(id);
      if (it == seen_.end()) return false;
      for (Clock::time_point t : it->second) {
        if (t >= since) {
          found = t;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  long long messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<Clock::time_point>> seen_;  // GUARDED_BY(mu_)
  long long messages_ = 0;
};

std::string SubscriptionJson(const std::string& topic, const std::string& filter) {
  return R"({"resourceType":"Subscription","status":"requested","reason":"workflow_bench",)"
         R"("criteria":")" + std::string(kTopicBase) + topic + R"(",)"
         R"("_criteria":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria",)"
         R"("valueString":")" + filter + R"("}]},"channel":{"type":"websocket","payload":"application/fhir+json",)"
         R"("_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}}})";
}

// Creates the subscription, binds a socket to it and waits for the handshake. Returns the id.
std::string Subscribe(Http& http, WsClient& ws, const std::string& topic, const std::string& filter) {
  Answer a = http.Request("POST", "Subscription", SubscriptionJson(topic, filter), "", true);
  std::string id = IdFromLocation(a.location, "Subscription");
  if (a.status != 201 || id.empty()) Die("creating a Subscription failed: " + std::to_string(a.status) + " " + a.body.substr(0, 300));
  a = http.Request("POST", "Subscription/" + id + "/$get-ws-binding-token");
  auto json = common::ParseJson(a.body);
  std::string token;
  if (a.status == 200 && json.has_value() && json->Find("parameter") != nullptr) {
    for (const JsonValue& p : json->Find("parameter")->items()) {
      if (Str(p, {"name"}) == "token") token = Str(p, {"valueString"});
    }
  }
  if (token.empty()) Die("$get-ws-binding-token failed: " + std::to_string(a.status) + " " + a.body.substr(0, 300));
  ws.SendText("bind-with-token " + token);
  std::string first = ws.ReadMessage();
  if (first.find("handshake") == std::string::npos) Die("bind refused: " + first.substr(0, 300));
  return id;
}

int RunLatency(const Options& o) {
  Unit u = SetUpUnit(o, 1);
  const std::string& patient = u.patients[0];
  Http http(o.url);
  Arrivals arrivals;
  WsClient ws(http.port(), [&](const std::string& m, Clock::time_point at) { arrivals.OnMessage(m, at); });
  const std::string subscription = o.latency_plain ? Subscribe(http, ws, "Task-changed", "Task?status=completed")
                                                   : Subscribe(http, ws, "task-status", "Task?status=ready");
  ws.Start();
  Window always;  // the whole run counts
  always.begin = Clock::now();
  always.end = Clock::time_point::max();
  Caller c(o.url, always);

  std::vector<double> latency, writes;
  long long lost = 0, errors = 0;
  const auto gap = std::chrono::microseconds(static_cast<long long>(o.gap_ms * 1000));
  const auto timeout = std::chrono::microseconds(static_cast<long long>(o.timeout_seconds * 1e6));
  // PUTs `body` (a completion) and times it to the frames announcing each of `expect`.
  auto timed_complete = [&](const std::string& id, const std::string& body, const std::string& if_match,
                            const std::vector<std::string>& expect) {
    std::this_thread::sleep_for(gap);
    Clock::time_point t0 = Clock::now();
    Answer a = c.Call(kComplete, "PUT", "Task/" + id, body, if_match, true, 200);
    Clock::time_point t1 = Clock::now();
    if (a.status != 200) {
      ++errors;
      return false;
    }
    writes.push_back(Ms(t1 - t0));
    for (const std::string& next : expect) {
      Clock::time_point at = arrivals.WaitFor(next, t0, t0 + timeout);
      if (at == Clock::time_point{}) {
        ++lost;
      } else {
        latency.push_back(Ms(at - t0));
      }
    }
    std::this_thread::sleep_for(gap);
    return true;
  };
  // Claims the Task at `id` and returns its body and version for the completion.
  auto claim = [&](const std::string& id, const std::string& owner, JsonValue& mine) {
    Answer got = c.Call(kGet, "GET", "Task/" + id, "", "", false, 200);
    auto task = common::ParseJson(got.body);
    if (got.status != 200 || !task.has_value()) return false;
    Answer claimed = c.Call(kClaim, "PUT", "Task/" + id, WithStatus(*task, "in-progress", owner), IfMatch(*task), false, 200);
    auto json = common::ParseJson(claimed.body);
    if (claimed.status != 200 || !json.has_value()) return false;
    mine = std::move(*json);
    return true;
  };

  Clock::time_point start = Clock::now();
  std::vector<std::string> plain_ids;
  if (o.latency_plain) {
    for (const JsonValue& t : CreatePlainTasks(http, u, patient, "wfb-" + u.tag + "-lat")) plain_ids.push_back(Str(t, {"id"}));
  }
  int warmup = 5;  // the first completions warm up (and let the matcher see the subscription)
  while (static_cast<int>(latency.size()) < o.samples + warmup && errors < 20) {
    if (o.latency_plain) {
      for (std::size_t k = 0; k < plain_ids.size(); ++k) {
        JsonValue mine;
        const std::string owner = Owner(kSteps[k], 1);
        if (!claim(plain_ids[k], owner, mine)) {
          ++errors;
          break;
        }
        timed_complete(plain_ids[k], WithStatus(mine, "completed", owner), IfMatch(mine), {plain_ids[k]});
      }
      continue;
    }
    Answer started = c.Call(kStart, "POST", "Encounter/$start-screening", StartJson(patient, u.location), "", false, 201);
    Session s;
    if (started.status != 201 || !ParseSession(started.body, s)) {
      ++errors;
      continue;
    }
    // What each completion readies (refraction goes second, so it readies the doctor's step).
    const std::map<std::string, std::vector<std::string>> readies = {
        {"check-in", {s.steps["visual-acuity"], s.steps["refraction"]}},
        {"visual-acuity", {}},
        {"refraction", {s.steps["doctor-diagnosis"]}},
        {"doctor-diagnosis", {s.steps["supervisor-approval"]}},
        {"supervisor-approval", {}}};
    for (const char* step : kSteps) {
      JsonValue mine;
      const std::string owner = Owner(step, 1);
      const std::string& id = s.steps[step];
      if (!claim(id, owner, mine)) {
        ++errors;
        break;
      }
      bool ok = true;
      if (std::string(step) == "visual-acuity" || std::string(step) == "refraction") {
        const std::string code = std::string(step) == "visual-acuity" ? "363983007" : "251794006";
        for (const char* eye : {kRight, kLeft}) {
          ok = ok && c.Call(kOutput, "POST", "Observation", ObservationJson(patient, s.encounter, code, eye), "", true, 201).status == 201;
        }
      } else if (std::string(step) == "doctor-diagnosis") {
        ok = c.Call(kOutput, "POST", "DiagnosticReport", ReportJson(patient, s.encounter), "", true, 201).status == 201;
      }
      if (!ok || !timed_complete(id, WithStatus(mine, "completed", owner), IfMatch(mine), readies.at(step))) {
        ++errors;
        break;
      }
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Drop the warm-up samples (the first ones measured).
  std::vector<double> measured(latency.begin() + std::min<std::ptrdiff_t>(warmup, static_cast<std::ptrdiff_t>(latency.size())),
                               latency.end());
  std::sort(measured.begin(), measured.end());
  std::sort(writes.begin(), writes.end());
  http.Request("DELETE", "Subscription/" + subscription);

  JsonLine line;
  line.Add("mode", "latency")
      .Add("target", o.latency_plain ? "plain" : "workflow")
      .Add("samples", static_cast<long long>(measured.size()))
      .Add("lost", lost)
      .Add("errors", errors)
      .Add("frames", arrivals.messages())
      .Add("p50_ms", Percentile(measured, 50))
      .Add("p90_ms", Percentile(measured, 90))
      .Add("p99_ms", Percentile(measured, 99))
      .Add("max_ms", measured.empty() ? -1.0 : measured.back())
      .Add("write_p50_ms", Percentile(writes, 50))
      .Add("write_p99_ms", Percentile(writes, 99))
      .Add("gap_ms", o.gap_ms)
      .Add("seconds", seconds)
      .Add("label", o.label)
      .Add("run", o.run);
  if (!c.tally.first_error.empty()) line.Add("first_error", c.tally.first_error);
  line.Print();
  return errors > 0 || lost > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (o.mode == Mode::kLatency) return RunLatency(o);
  return RunThroughput(o);
}
