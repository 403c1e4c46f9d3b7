// subscriptions/pg/pg_presence_store against PostgreSQL: joins and leaves are announced on
// NOTIFY fovea_presence only when they change who is active (a second device is silent), in the
// statement that makes them; a node's rows go with LeaveAll, or expire when the node stops
// touching them; ActiveOn lists each person once, the longest present first.

#include "subscriptions/pg/pg_presence_store.h"

#include <boost/test/unit_test.hpp>

#include "fhir/store/pg/connection.h"
#include "tests/support/test_database.h"

namespace {

using fhir::store::pg::PgConnection;
using fhir::store::pg::PgNotification;
using fhir::store::pg::PgQuery;
using subscriptions::StaffMember;

const StaffMember kTech{"Practitioner/t1", "tech1", {"technician"}};
const StaffMember kDoc{"Practitioner/d1", "doc", {"doctor"}};

class Fixture {
 public:
  Fixture() : pool(db.dsn(), 4), store(pool) {
    auto conn = PgConnection::Connect(db.dsn());
    BOOST_REQUIRE(conn.has_value());
    listener = std::move(conn).value();
    BOOST_REQUIRE(listener->ExecuteUnprepared({"t.listen", "LISTEN fovea_presence"}, {}).has_value());
  }

  // Every announcement committed so far, as "event session staff". A marker notified after
  // them is the barrier: PostgreSQL delivers notifications in commit order, so everything
  // committed before the marker has arrived when the marker has.
  std::vector<std::string> Heard() {
    auto other = PgConnection::Connect(db.dsn());
    BOOST_REQUIRE(other.has_value());
    BOOST_REQUIRE((*other)->ExecuteUnprepared({"t.marker", "SELECT pg_notify('fovea_presence', 'marker')"}, {}).has_value());
    std::vector<PgNotification> received;
    while (received.empty() || received.back().payload != "marker") {
      auto woke = listener->WaitForNotification(std::chrono::seconds(10), received);
      BOOST_REQUIRE(woke.has_value());
      BOOST_REQUIRE_MESSAGE(*woke, "the marker notification never arrived");
    }
    received.pop_back();
    std::vector<std::string> heard;
    for (const PgNotification& n : received) {
      BOOST_TEST(n.channel == "fovea_presence");
      auto change = subscriptions::ParsePresenceChange(n.payload);
      BOOST_REQUIRE_MESSAGE(change.has_value(), n.payload);
      heard.push_back(std::string(change->joined ? "join " : "leave ") + change->session + " " +
                      change->staff.reference);
    }
    return heard;
  }
  std::vector<std::string> Active(const std::string& session) {
    auto active = store.ActiveOn(session);
    BOOST_REQUIRE(active.has_value());
    std::vector<std::string> who;
    for (const auto& p : *active) who.push_back(p.staff.reference);
    return who;
  }
  void Age(const std::string& node, int seconds) {
    auto conn = PgConnection::Connect(db.dsn());
    BOOST_REQUIRE(conn.has_value());
    BOOST_REQUIRE((*conn)
                      ->ExecuteUnprepared({"t.age", "UPDATE session_presence SET seen_at = now() - make_interval("
                                                    "secs => $2::bigint) WHERE node = $1"},
                                          {node, std::to_string(seconds)})
                      .has_value());
  }

  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool;
  subscriptions::pg::PgPresenceStore store;
  std::unique_ptr<PgConnection> listener;
};

using Strings = std::vector<std::string>;

BOOST_AUTO_TEST_SUITE(PresenceStore)

BOOST_FIXTURE_TEST_CASE(JoinsAndLeavesAreAnnouncedOncePerPerson, Fixture) {
  BOOST_REQUIRE(store.Join("n1", 1, "Encounter/e1", kTech).ok());
  BOOST_TEST(Heard() == Strings{"join Encounter/e1 Practitioner/t1"});
  // The same person on a second device (another node): present already, nothing to announce.
  BOOST_REQUIRE(store.Join("n2", 7, "Encounter/e1", kTech).ok());
  // The same socket joining again (a second binding): nothing either.
  BOOST_REQUIRE(store.Join("n1", 1, "Encounter/e1", kTech).ok());
  BOOST_TEST(Heard().empty());
  BOOST_REQUIRE(store.Join("n2", 8, "Encounter/e1", kDoc).ok());
  BOOST_REQUIRE(store.Join("n1", 1, "Encounter/e2", kTech).ok());
  BOOST_TEST(Heard() == (Strings{"join Encounter/e1 Practitioner/d1", "join Encounter/e2 Practitioner/t1"}));
  BOOST_TEST(Active("Encounter/e1") == (Strings{"Practitioner/t1", "Practitioner/d1"}));

  // One of the technician's two devices leaves: still present.
  BOOST_REQUIRE(store.Leave("n1", 1, "Encounter/e1").ok());
  BOOST_TEST(Heard().empty());
  BOOST_TEST(Active("Encounter/e1") == (Strings{"Practitioner/t1", "Practitioner/d1"}));
  // The other one leaves too: now they are gone.
  BOOST_REQUIRE(store.Leave("n2", 7, "Encounter/e1").ok());
  BOOST_TEST(Heard() == Strings{"leave Encounter/e1 Practitioner/t1"});
  BOOST_TEST(Active("Encounter/e1") == Strings{"Practitioner/d1"});
  // Leaving what was never joined is quiet.
  BOOST_REQUIRE(store.Leave("n9", 1, "Encounter/e1").ok());
  BOOST_TEST(Heard().empty());
}

BOOST_FIXTURE_TEST_CASE(ANodeLeavesEverythingAtOnce, Fixture) {
  BOOST_REQUIRE(store.Join("n1", 1, "Encounter/e1", kTech).ok());
  BOOST_REQUIRE(store.Join("n1", 2, "Encounter/e1", kTech).ok());  // two sockets, one person
  BOOST_REQUIRE(store.Join("n1", 3, "Encounter/e2", kDoc).ok());
  BOOST_REQUIRE(store.Join("n2", 4, "Encounter/e2", kTech).ok());
  (void)Heard();
  BOOST_REQUIRE(store.LeaveAll("n1").ok());
  Strings heard = Heard();
  std::sort(heard.begin(), heard.end());
  BOOST_TEST(heard == (Strings{"leave Encounter/e1 Practitioner/t1", "leave Encounter/e2 Practitioner/d1"}));
  BOOST_TEST(Active("Encounter/e1").empty());
  BOOST_TEST(Active("Encounter/e2") == Strings{"Practitioner/t1"});
}

BOOST_FIXTURE_TEST_CASE(ANodeThatStopsTouchingItsRowsExpires, Fixture) {
  BOOST_REQUIRE(store.Join("alive", 1, "Encounter/e1", kDoc).ok());
  BOOST_REQUIRE(store.Join("dead", 2, "Encounter/e1", kTech).ok());
  (void)Heard();
  Age("alive", 100);
  Age("dead", 100);
  BOOST_REQUIRE(store.Touch("alive").ok());  // the living node refreshes; the dead one cannot
  BOOST_REQUIRE(store.Expire(std::chrono::seconds(30)).ok());
  BOOST_TEST(Heard() == Strings{"leave Encounter/e1 Practitioner/t1"});
  BOOST_TEST(Active("Encounter/e1") == Strings{"Practitioner/d1"});
  // Nothing is stale now: expiring again changes nothing.
  BOOST_REQUIRE(store.Expire(std::chrono::seconds(30)).ok());
  BOOST_TEST(Heard().empty());
}

BOOST_FIXTURE_TEST_CASE(ActiveStaffCarryTheirRolesAndEarliestJoin, Fixture) {
  BOOST_REQUIRE(store.Join("n1", 1, "Encounter/e1", kDoc).ok());
  BOOST_REQUIRE(store.Join("n1", 2, "Encounter/e1", kDoc).ok());
  auto active = store.ActiveOn("Encounter/e1");
  BOOST_REQUIRE(active.has_value());
  BOOST_REQUIRE(active->size() == 1u);
  BOOST_TEST(active->front().staff.user == "doc");
  BOOST_TEST(active->front().staff.roles == std::vector<std::string>{"doctor"});
  BOOST_TEST(active->front().since.time_since_epoch().count() > 0);
  auto none = store.ActiveOn("Encounter/nobody");
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none->empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
