// Real `fovea serve` processes on one PostgreSQL (issue 6, "Many nodes" and the fault tests):
// a write on node A reaches a socket bound on node B and matching moves to B when A is killed;
// a server killed with SIGKILL in the middle of a stream of writes loses and renumbers nothing;
// PostgreSQL restarted under a server; a socket that stops reading is cut off while another on
// the same subscription keeps receiving. Every wait is on a real condition with a deadline.

#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/json.h"
#include "fhir/store/pg/connection.h"
#include "tests/subscriptions/websocket/ws_client.h"
#include "tests/support/serve_process.h"
#include "tests/support/test_database.h"

namespace {

using common::JsonValue;
using test_support::HttpResult;
using test_support::ServeProcess;
using test_support::TestDatabase;
using ws_test::WsClient;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

JsonValue Json(const std::string& text) {
  auto json = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(json.has_value(), "not JSON: " << text.substr(0, 500));
  return std::move(json).value();
}

// Polls `condition` every 50 ms until it holds or `limit` has passed.
bool WaitFor(const std::function<bool()>& condition, milliseconds limit) {
  Clock::time_point deadline = Clock::now() + limit;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

// A topic-based websocket subscription to every Task create, update and delete, ids only.
const char* kTaskSubscription = R"({"resourceType":"Subscription","status":"requested","reason":"fault tests",
  "criteria":"https://fovea.health/fhir/SubscriptionTopic/Task-changed",
  "channel":{"type":"websocket","payload":"application/fhir+json",
   "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"id-only"}]}}})";

std::string TaskJson(const std::string& id, const std::string& note = "") {
  std::string json = R"({"resourceType":"Task","id":")" + id + R"(","status":"ready","intent":"order")";
  if (!note.empty()) json += R"(,"note":[{"text":")" + note + R"("}])";
  return json + "}";
}

std::string CreateSubscription(const ServeProcess& node, const char* body = kTaskSubscription) {
  HttpResult r = node.Request("POST", "Subscription", body);
  BOOST_REQUIRE_MESSAGE(r.status == 201, "Subscription not created: " << r.status << " " << r.body);
  return Json(r.body).Find("id")->scalar();
}

std::string Token(const ServeProcess& node, const std::string& id) {
  HttpResult r = node.Request("POST", "Subscription/" + id + "/$get-ws-binding-token");
  BOOST_REQUIRE_MESSAGE(r.status == 200, "no binding token: " << r.status << " " << r.body);
  JsonValue params = Json(r.body);
  for (const JsonValue& p : params.Find("parameter")->items()) {
    if (p.Find("name")->scalar() == "token") return p.Find("valueString")->scalar();
  }
  BOOST_FAIL("the binding token answer has no token: " << r.body);
  return "";
}

// The status Parameters of a notification Bundle (its first entry).
const JsonValue& StatusParameters(const JsonValue& bundle) {
  const JsonValue* entries = bundle.Find("entry");
  BOOST_REQUIRE(entries != nullptr && !entries->items().empty());
  const JsonValue* resource = entries->items().front().Find("resource");
  BOOST_REQUIRE(resource != nullptr && resource->Find("parameter") != nullptr);
  return *resource;
}

std::string StatusValue(const JsonValue& bundle, const std::string& name) {
  for (const JsonValue& p : StatusParameters(bundle).Find("parameter")->items()) {
    if (p.Find("name")->scalar() != name) continue;
    for (const auto& [k, v] : p.members()) {
      if (k == "valueReference") return v.Find("reference")->scalar();
      if (k.rfind("value", 0) == 0) return v.scalar();
    }
  }
  return "";
}

struct Event {
  std::int64_t number = 0;
  std::string focus;  // "Task/<id>"
};

// The numbered events of a notification Bundle, in the order listed.
std::vector<Event> EventsOf(const JsonValue& bundle) {
  std::vector<Event> out;
  for (const JsonValue& p : StatusParameters(bundle).Find("parameter")->items()) {
    if (p.Find("name")->scalar() != "notification-event") continue;
    Event e;
    for (const JsonValue& part : p.Find("part")->items()) {
      const std::string& name = part.Find("name")->scalar();
      if (name == "event-number") e.number = std::stoll(part.Find("valueString")->scalar());
      if (name == "focus") {
        const std::string& ref = part.Find("valueReference")->Find("reference")->scalar();
        std::size_t at = ref.rfind("/Task/");
        e.focus = at == std::string::npos ? ref : ref.substr(at + 1);
      }
    }
    out.push_back(e);
  }
  return out;
}

// events-since-subscription-start as $status reports it; -1 when the node does not answer.
std::int64_t StatusCount(const ServeProcess& node, const std::string& id) {
  HttpResult r = node.Request("GET", "Subscription/" + id + "/$status");
  if (r.status != 200) return -1;
  JsonValue bundle = Json(r.body);
  for (const JsonValue& p : bundle.Find("entry")->items().front().Find("resource")->Find("parameter")->items()) {
    if (p.Find("name")->scalar() == "events-since-subscription-start") {
      return std::stoll(p.Find("valueString")->scalar());
    }
  }
  return -1;
}

// How many Tasks exist (Task?_summary=count); -1 when the node does not answer.
std::int64_t TaskCount(const ServeProcess& node) {
  HttpResult r = node.Request("GET", "Task?_summary=count");
  if (r.status != 200) return -1;
  return std::stoll(Json(r.body).Find("total")->scalar());
}

// Every stored event of a subscription, read through $events in pages of `page` numbers.
std::vector<Event> AllEvents(const ServeProcess& node, const std::string& id, std::int64_t total,
                             std::int64_t page = 50) {
  std::vector<Event> out;
  for (std::int64_t since = 1; since <= total; since += page) {
    HttpResult r = node.Request("GET", "Subscription/" + id + "/$events?eventsSinceNumber=" +
                                           std::to_string(since) + "&eventsUntilNumber=" +
                                           std::to_string(since + page - 1));
    BOOST_REQUIRE_MESSAGE(r.status == 200, "$events: " << r.status << " " << r.body);
    for (Event& e : EventsOf(Json(r.body))) out.push_back(std::move(e));
  }
  return out;
}

// Numbers 1..n in order, each once, and each focus once (every write here creates a new Task).
void CheckGaplessAndUnique(const std::vector<Event>& events, std::int64_t n) {
  BOOST_TEST(static_cast<std::int64_t>(events.size()) == n);
  std::set<std::string> foci;
  for (std::size_t i = 0; i < events.size(); ++i) {
    BOOST_TEST_CONTEXT("event #" << i + 1) {
      BOOST_TEST(events[i].number == static_cast<std::int64_t>(i) + 1);
      BOOST_TEST(foci.insert(events[i].focus).second, "focus " << events[i].focus << " twice");
    }
  }
}

std::unique_ptr<WsClient> Bind(const ServeProcess& node, const std::string& token) {
  auto client = std::make_unique<WsClient>(ws_test::ConnectTcp(node.port()));
  BOOST_REQUIRE_EQUAL(client->Upgrade("/ws/subscriptions-r4"), 101);
  client->SendText("bind-with-token " + token);
  auto m = client->NextData(milliseconds(5000));
  BOOST_REQUIRE_MESSAGE(m.has_value(), "no handshake within 5 s");
  BOOST_REQUIRE_EQUAL(StatusValue(Json(m->payload), "type"), "handshake");
  return client;
}

// The next event notification on `client` within `wait` (nullopt when none came).
std::optional<Event> NextEvent(WsClient& client, milliseconds wait) {
  Clock::time_point deadline = Clock::now() + wait;
  while (true) {
    auto m = client.NextData(std::chrono::ceil<milliseconds>(deadline - Clock::now()));
    if (!m.has_value() || m->opcode != ws_test::ws::Opcode::kText) return std::nullopt;
    JsonValue bundle = Json(m->payload);
    if (StatusValue(bundle, "type") != "event-notification") continue;  // heartbeats
    std::vector<Event> events = EventsOf(bundle);
    BOOST_REQUIRE_EQUAL(events.size(), 1u);
    return events.front();
  }
}

// Whether the matcher's advisory lock (7406513, 1) is held in `dsn`'s database.
bool MatcherLockHeld(const std::string& dsn) {
  static constexpr fhir::store::pg::PgQuery kHeld{
      "test.matcher_lock_held",
      "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7406513"
      " AND objid = 1 AND objsubid = 2 AND granted"
      " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"};
  auto conn = fhir::store::pg::PgConnection::Connect(dsn);
  if (!conn.has_value()) return false;
  auto r = (*conn)->Execute(kHeld, {});
  return r.has_value() && r->GetInt64(0, 0) == 1;
}

// The server's output, attached to a failing test.
std::string Logs(std::initializer_list<const ServeProcess*> nodes) {
  std::string out;
  for (const ServeProcess* n : nodes) {
    if (n != nullptr) out += "---- fovea serve (port " + std::to_string(n->port()) + ") ----\n" + n->log();
  }
  return out;
}

BOOST_AUTO_TEST_SUITE(Cluster)

// A and B on one database. A starts first and takes the matcher lock; a Task written on A
// reaches a socket bound on B. A is SIGKILLed right after one more acknowledged write (which A
// may or may not have matched): B takes the lock within its 2 s retry, matches what A left and
// what B is written, and its socket gets both in order; $events shows each number once.
BOOST_AUTO_TEST_CASE(TwoNodesShareEventsAndMatchingMovesWhenTheHolderDies) {
  TestDatabase db;
  auto a = std::make_unique<ServeProcess>(FOVEA_BIN, db.dsn());
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return MatcherLockHeld(db.dsn()); }, seconds(10)),
                        "node A never took the matcher lock\n" << Logs({a.get()}));
  ServeProcess b(FOVEA_BIN, db.dsn());  // the lock is A's: B's matcher waits

  std::string id = CreateSubscription(*a);
  auto socket = Bind(b, Token(*a, id));  // the token is redeemable on any node
  BOOST_REQUIRE_EQUAL(a->Request("PUT", "Task/t1", TaskJson("t1")).status, 201);
  auto first = NextEvent(*socket, milliseconds(10000));
  BOOST_REQUIRE_MESSAGE(first.has_value(), "B's socket got nothing for a write on A\n" << Logs({a.get(), &b}));
  BOOST_TEST(first->number == 1);
  BOOST_TEST(first->focus == "Task/t1");

  BOOST_REQUIRE_EQUAL(a->Request("PUT", "Task/t2", TaskJson("t2")).status, 201);
  a->Kill();
  Clock::time_point killed = Clock::now();
  HttpResult on_b = b.Request("PUT", "Task/t3", TaskJson("t3"));
  BOOST_REQUIRE_MESSAGE(on_b.status == 201, on_b.body);
  auto second = NextEvent(*socket, milliseconds(10000));
  auto third = second ? NextEvent(*socket, milliseconds(10000)) : std::nullopt;
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - killed);
  BOOST_TEST_MESSAGE("matching moved to B; last event on B's socket " << took.count() << " ms after the kill");
  BOOST_REQUIRE_MESSAGE(second.has_value() && third.has_value(),
                        "B did not take over matching\n" << Logs({a.get(), &b}));
  BOOST_TEST(second->number == 2);
  BOOST_TEST(second->focus == "Task/t2");
  BOOST_TEST(third->number == 3);
  BOOST_TEST(third->focus == "Task/t3");
  BOOST_TEST(took < milliseconds(6000), "failover took " << took.count() << " ms");
  BOOST_TEST(MatcherLockHeld(db.dsn()));  // B's now

  BOOST_TEST(StatusCount(b, id) == 3);
  CheckGaplessAndUnique(AllEvents(b, id, 3), 3);
  socket.reset();  // gone before the stop, which else waits out its close timeout for it
  BOOST_TEST(b.Stop() == 0, "B did not shut down cleanly\n" << Logs({&b}));
}

// One node, a stream of creates, SIGKILL partway. After a restart on the same database every
// Task that exists (acknowledged or only committed) is one numbered event, 1..M without a gap,
// every acknowledged write among them, and numbering goes on from M for new writes.
BOOST_AUTO_TEST_CASE(SigkillMidStreamLosesAndRenumbersNothing) {
  TestDatabase db;
  auto node = std::make_unique<ServeProcess>(FOVEA_BIN, db.dsn());
  std::string id = CreateSubscription(*node);

  constexpr int kWrites = 200;
  std::atomic<int> acknowledged{0};
  std::vector<std::string> acked;  // written by the writer only; read after join
  int attempted = 0;
  std::string unexpected;
  std::thread writer([&] {
    for (int i = 0; i < kWrites; ++i) {
      std::string tid = "w";  // (not "w" + to_string: a GCC 12 -Wrestrict false positive)
      tid += std::to_string(i);
      attempted = i + 1;
      HttpResult r = node->Request("PUT", "Task/" + tid, TaskJson(tid));
      if (r.status == 0) return;  // the server is gone
      if (r.status != 201) {
        unexpected = std::to_string(r.status) + " " + r.body;
        return;
      }
      acked.push_back(tid);
      ++acknowledged;
    }
  });
  bool partway = WaitFor([&] { return acknowledged >= 60; }, seconds(20));
  node->Kill();
  writer.join();
  BOOST_REQUIRE_MESSAGE(partway, "the writes were too slow to kill partway");
  BOOST_REQUIRE_MESSAGE(unexpected.empty(), "a write failed: " << unexpected);
  BOOST_REQUIRE_MESSAGE(attempted < kWrites, "the server was killed after the last write");
  BOOST_TEST_MESSAGE("killed after " << acked.size() << " acknowledged writes of " << attempted
                                     << " attempted");

  node = std::make_unique<ServeProcess>(FOVEA_BIN, db.dsn());
  std::int64_t tasks = TaskCount(*node);
  // The write in flight at the kill may or may not have committed; nothing else can exist.
  BOOST_REQUIRE(tasks >= static_cast<std::int64_t>(acked.size()));
  BOOST_REQUIRE(tasks <= attempted);
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return StatusCount(*node, id) >= tasks; }, seconds(15)),
                        "the restarted matcher did not catch up: " << StatusCount(*node, id) << " of "
                                                                   << tasks << "\n" << Logs({node.get()}));
  BOOST_TEST(StatusCount(*node, id) == tasks);

  std::vector<Event> events = AllEvents(*node, id, tasks);
  CheckGaplessAndUnique(events, tasks);
  std::set<std::string> foci;
  for (const Event& e : events) foci.insert(e.focus);
  for (const std::string& tid : acked) BOOST_TEST(foci.count("Task/" + tid) == 1u, tid << " acknowledged, no event");
  for (const std::string& focus : foci) {
    BOOST_TEST(focus.rfind("Task/w", 0) == 0u);
    BOOST_TEST(std::stoi(focus.substr(6)) < attempted, focus << " was never written");
  }

  // Numbering goes on where it stopped.
  for (int i = 0; i < 5; ++i) {
    std::string tid = "after" + std::to_string(i);
    BOOST_REQUIRE_EQUAL(node->Request("PUT", "Task/" + tid, TaskJson(tid)).status, 201);
  }
  BOOST_REQUIRE(WaitFor([&] { return StatusCount(*node, id) >= tasks + 5; }, seconds(10)));
  std::vector<Event> all = AllEvents(*node, id, tasks + 5);
  CheckGaplessAndUnique(all, tasks + 5);
  if (all.size() == static_cast<std::size_t>(tasks + 5)) BOOST_TEST(all.back().focus == "Task/after4");
  BOOST_TEST(node->Stop() == 0);
}

// A PostgreSQL cluster of the test's own (scripts/pg-throwaway.sh), so that restarting it
// disturbs no other test.
class PrivateCluster {
 public:
  PrivateCluster() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fovea-pg.XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    dsn_ = Script("start");
    while (!dsn_.empty() && (dsn_.back() == '\n' || dsn_.back() == '\r')) dsn_.pop_back();
    BOOST_REQUIRE_MESSAGE(dsn_.rfind("host=", 0) == 0, "pg-throwaway start printed: " << dsn_);
  }
  ~PrivateCluster() { (void)Script("stop"); }
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  const std::string& dsn() const { return dsn_; }
  void Restart() { (void)Script("restart"); }

 private:
  // Runs the script; returns its stdout (stderr goes to the test's).
  std::string Script(const std::string& command) {
    std::string line = "bash '" FOVEA_SOURCE_DIR "/scripts/pg-throwaway.sh' " + command + " '" +
                       dir_.string() + "'";
    FILE* p = ::popen(line.c_str(), "r");
    if (p == nullptr) return "";
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    int rc = ::pclose(p);
    if (rc != 0 && command != "stop") BOOST_FAIL("pg-throwaway.sh " << command << " failed (" << rc << ")");
    return out;
  }

  std::filesystem::path dir_;
  std::string dsn_;
};

// PostgreSQL restarted (fast shutdown: every session ends) under a serving node with a bound
// socket. Writes work again within seconds, the matcher takes its lock again, and the same
// socket gets the new events with numbers continuing; $events shows them all.
BOOST_AUTO_TEST_CASE(PostgresRestartedUnderTheServer) {
  PrivateCluster cluster;
  ServeProcess node(FOVEA_BIN, cluster.dsn());  // migrates the cluster's database itself
  std::string id = CreateSubscription(node);
  auto socket = Bind(node, Token(node, id));
  BOOST_REQUIRE_EQUAL(node.Request("PUT", "Task/before", TaskJson("before")).status, 201);
  auto before = NextEvent(*socket, milliseconds(10000));
  BOOST_REQUIRE(before.has_value());
  BOOST_TEST(before->number == 1);

  // Several requests at once, so that the pool holds several connections, each broken by the
  // restart.
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&node] {
      for (int i = 0; i < 5; ++i) (void)node.Request("GET", "Task?status=ready");
    });
  }
  for (std::thread& t : readers) t.join();

  cluster.Restart();  // returns once PostgreSQL accepts connections again
  Clock::time_point restarted = Clock::now();
  int refused = 0;
  HttpResult last;
  bool written = WaitFor(
      [&] {
        last = node.Request("PUT", "Task/after", TaskJson("after"));
        if (last.status != 201 && last.status != 200) ++refused;
        return last.status == 201 || last.status == 200;
      },
      seconds(15));
  auto write_took = std::chrono::duration_cast<milliseconds>(Clock::now() - restarted);
  BOOST_TEST_MESSAGE("first successful write " << write_took.count() << " ms after the restart, after "
                                               << refused << " failed attempt(s)");
  BOOST_REQUIRE_MESSAGE(written, "no write succeeded after the restart: " << last.status << " "
                                                                          << last.body << "\n" << Logs({&node}));
  // PostgreSQL accepts connections again when Restart returns: a pooled connection the restart
  // broke must be noticed and replaced, not handed to a request that then fails with 503.
  BOOST_TEST(refused == 0, refused << " write(s) failed although PostgreSQL was back: " << last.body);
  BOOST_REQUIRE_EQUAL(node.Request("PUT", "Task/after2", TaskJson("after2")).status, 201);

  auto e2 = NextEvent(*socket, milliseconds(15000));
  auto e3 = e2 ? NextEvent(*socket, milliseconds(10000)) : std::nullopt;
  BOOST_TEST_MESSAGE("events on the socket again " << std::chrono::duration_cast<milliseconds>(Clock::now() - restarted).count()
                                                   << " ms after the restart");
  BOOST_REQUIRE_MESSAGE(e2.has_value() && e3.has_value(),
                        "the bound socket got no events after the restart\n" << Logs({&node}));
  BOOST_TEST(e2->number == 2);
  BOOST_TEST(e2->focus == "Task/after");
  BOOST_TEST(e3->number == 3);
  BOOST_TEST(e3->focus == "Task/after2");
  BOOST_TEST(StatusCount(node, id) == 3);
  CheckGaplessAndUnique(AllEvents(node, id, 3), 3);
  socket.reset();
  BOOST_TEST(node.Stop() == 0);
}

// A SearchParameter created on node A applies on node B too, without a restart: B reloads when
// A announces the change, so B's searches apply it and B indexes what it writes with it; what B
// wrote before is reindexed. Deleting it on B stops it applying on A. (The self link of a
// lenient search names only the parameters applied.)
BOOST_AUTO_TEST_CASE(ACustomSearchParameterReachesEveryNode) {
  TestDatabase db;
  ServeProcess a(FOVEA_BIN, db.dsn());
  ServeProcess b(FOVEA_BIN, db.dsn());
  auto patient = [](const std::string& id, const std::string& colour) {
    return R"({"resourceType":"Patient","id":")" + id +
           R"(","extension":[{"url":"http://fovea.example/eye-colour","valueString":")" + colour + R"("}]})";
  };
  // What a node finds for `query`, and whether it applied the parameter at all.
  auto found = [](const ServeProcess& node, const std::string& query) {
    HttpResult r = node.Request("GET", query);
    std::set<std::string> ids;
    bool applied = false;
    if (r.status != 200) return std::make_pair(applied, ids);
    JsonValue bundle = Json(r.body);
    if (const JsonValue* links = bundle.Find("link")) {
      for (const JsonValue& link : links->items()) {
        const JsonValue* relation = link.Find("relation");
        const JsonValue* url = link.Find("url");
        if (relation != nullptr && url != nullptr && relation->scalar() == "self") {
          applied = url->scalar().find("eye-colour") != std::string::npos;
        }
      }
    }
    if (const JsonValue* entries = bundle.Find("entry")) {
      for (const JsonValue& e : entries->items()) {
        const JsonValue* id = e.Find("resource")->Find("id");  // an OperationOutcome entry has none
        if (id != nullptr) ids.insert(id->scalar());
      }
    }
    return std::make_pair(applied, ids);
  };
  using Ids = std::set<std::string>;
  BOOST_REQUIRE_EQUAL(b.Request("PUT", "Patient/e1", patient("e1", "brown")).status, 201);
  BOOST_TEST(!found(b, "Patient?eye-colour=brown").first);
  HttpResult created = a.Request("PUT", "SearchParameter/eye-colour",
      R"({"resourceType":"SearchParameter","id":"eye-colour","url":"http://fovea.example/SearchParameter/eye-colour",
          "name":"EyeColour","status":"active","description":"Eye colour recorded at check-in","code":"eye-colour",
          "base":["Patient"],"type":"string","expression":"Patient.extension.where(url='http://fovea.example/eye-colour').value"})");
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return found(b, "Patient?eye-colour=brown") == std::make_pair(true, Ids{"e1"}); }, seconds(15)),
                        "node B never applied A's new parameter\n" << Logs({&a, &b}));
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return found(a, "Patient?eye-colour=brown") == std::make_pair(true, Ids{"e1"}); }, seconds(15)),
                        "node A never found what B wrote before\n" << Logs({&a, &b}));
  // Written on B now: indexed by B with the new parameter, found on A.
  BOOST_REQUIRE_EQUAL(b.Request("PUT", "Patient/e2", patient("e2", "green")).status, 201);
  BOOST_TEST((found(a, "Patient?eye-colour=gr") == std::make_pair(true, Ids{"e2"})));
  BOOST_REQUIRE_EQUAL(b.Request("DELETE", "SearchParameter/eye-colour").status, 204);
  BOOST_TEST(WaitFor([&] { return !found(a, "Patient?eye-colour=gr").first; }, seconds(15)),
             "node A still applies a deleted parameter\n" << Logs({&a, &b}));
}

// Two sockets bound to one full-resource subscription; one never reads (a tiny receive buffer)
// while large events arrive. Its send queue overflows and the server closes it (1008, after
// what was queued), while the other socket receives every event, in order: the dispatcher and
// the loop never wait for the slow one. (socket_loop_httptest.cpp checks the same on the loop
// alone; this is the whole path: matcher, NOTIFY, dispatcher, loop.)
BOOST_AUTO_TEST_CASE(SocketThatStopsReadingIsCutOffOthersGetEverything) {
  TestDatabase db;
  ServeProcess node(FOVEA_BIN, db.dsn());
  std::string id = CreateSubscription(node, R"({"resourceType":"Subscription","status":"requested","reason":"fault tests",
    "criteria":"https://fovea.health/fhir/SubscriptionTopic/Task-changed",
    "channel":{"type":"websocket","payload":"application/fhir+json",
     "_payload":{"extension":[{"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content","valueCode":"full-resource"}]}}})");

  // The slow socket: a receive buffer as small as the kernel allows, set before connecting.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd >= 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(node.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  WsClient slow(fd);
  BOOST_REQUIRE_EQUAL(slow.Upgrade("/ws/subscriptions-r4"), 101);
  slow.SendText("bind-with-token " + Token(node, id));
  auto handshake = slow.NextData(milliseconds(5000));
  BOOST_REQUIRE(handshake.has_value());
  auto fast = Bind(node, Token(node, id));

  // Each event carries a ~100 KB Task: 150 of them are far more than the 4 MiB send queue plus
  // what the kernel buffers on the way (tcp_wmem allows up to 4 MiB more).
  constexpr int kEvents = 150;
  const std::string note(100'000, 'x');
  std::vector<std::int64_t> fast_numbers;
  std::size_t smallest_frame = std::string::npos;
  std::thread reader([&] {
    Clock::time_point deadline = Clock::now() + seconds(40);
    while (static_cast<int>(fast_numbers.size()) < kEvents && Clock::now() < deadline) {
      auto m = fast->NextData(std::chrono::ceil<milliseconds>(deadline - Clock::now()));
      if (!m.has_value() || m->opcode != ws_test::ws::Opcode::kText) return;
      auto json = common::ParseJson(m->payload);
      if (!json.has_value()) return;
      std::vector<Event> events = EventsOf(*json);
      for (const Event& e : events) fast_numbers.push_back(e.number);
      if (!events.empty()) smallest_frame = std::min(smallest_frame, m->payload.size());
    }
  });
  Clock::time_point started = Clock::now();
  for (int i = 0; i < kEvents; ++i) {
    std::string tid = "big";
    tid += std::to_string(i);
    HttpResult r = node.Request("PUT", "Task/" + tid, TaskJson(tid, note));
    if (r.status != 201) {
      reader.join();
      BOOST_FAIL("write " << i << ": " << r.status << " " << r.body.substr(0, 300));
    }
  }
  auto written = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  reader.join();
  auto delivered = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  BOOST_TEST_MESSAGE(kEvents << " large writes in " << written.count() << " ms; the reading socket had them all after "
                             << delivered.count() << " ms");
  BOOST_REQUIRE_EQUAL(fast_numbers.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) BOOST_TEST(fast_numbers[i] == i + 1);
  BOOST_TEST(smallest_frame > note.size(), "events came without the resource: " << smallest_frame << " bytes");

  // Now the slow one reads: a prefix of the events, in order, then the close (1008) or, when the
  // server's close timeout has passed meanwhile, the end of the connection.
  std::int64_t slow_last = 0;
  std::uint16_t close_code = 0;
  while (true) {
    auto m = slow.Next(milliseconds(3000));
    if (!m.has_value()) break;
    if (m->opcode == ws_test::ws::Opcode::kClose) {
      close_code = ws_test::CloseCodeOf(*m);
      try {
        slow.SendClose(close_code, "");
      } catch (const std::exception&) {
        // the server has already let go
      }
      break;
    }
    if (m->opcode != ws_test::ws::Opcode::kText) continue;
    auto json = common::ParseJson(m->payload);
    BOOST_REQUIRE(json.has_value());
    for (const Event& e : EventsOf(*json)) {
      BOOST_TEST(e.number == slow_last + 1);
      slow_last = e.number;
    }
  }
  BOOST_TEST_MESSAGE("the slow socket got events 1.." << slow_last << ", then close code " << close_code);
  BOOST_TEST(slow_last < kEvents);
  BOOST_TEST((close_code == 1008 || close_code == 0));
  BOOST_TEST(slow.WaitEof(milliseconds(8000)), "the server did not close the slow socket");
  fast.reset();
  BOOST_TEST(node.Stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
