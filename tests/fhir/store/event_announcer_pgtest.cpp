// fhir/store/pg/event_announcer.h: committed writes wake a listener on fovea_event, from
// outside the write's transaction (no trigger NOTIFYs inside it any more, migration 0017).

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fhir/store/pg/connection.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/event_announcer.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "tests/support/test_database.h"

namespace {

using fhir::store::pg::PgConnection;
using fhir::store::pg::PgNotification;
using fhir::store::pg::PgQuery;

constexpr PgQuery kListen{"test.listen", "LISTEN fovea_event"};

std::unique_ptr<PgConnection> Listener(const std::string& dsn) {
  auto conn = PgConnection::Connect(dsn);
  BOOST_REQUIRE(conn.has_value());
  BOOST_REQUIRE((*conn)->ExecuteUnprepared(kListen, {}).has_value());
  return std::move(conn).value();
}

// Waits (at most 10 s, a bound for a broken build, not a pause) for a NOTIFY on fovea_event.
bool Announced(PgConnection& listener) {
  std::vector<PgNotification> received;
  auto woke = listener.WaitForNotification(std::chrono::seconds(10), received);
  BOOST_REQUIRE(woke.has_value());
  for (const PgNotification& n : received) {
    if (n.channel == "fovea_event") return true;
  }
  return false;
}

fhir::store::ResourceVersion Observation(const std::string& id) {
  fhir::store::ResourceVersion v;
  v.type = "Observation";
  v.id = id;
  v.version = 1;
  v.last_updated = common::TimePoint(std::chrono::seconds(1'800'000'000));
  v.method = fhir::store::Method::kCreate;
  v.content = R"({"resourceType":"Observation","id":")" + id + R"("})";
  return v;
}

// A store on a fresh database, and a connection listening on fovea_event there.
struct ListenedStore {
  test_support::TestDatabase db;
  fhir::store::pg::ConnectionPool pool{db.dsn(), 4};
  fhir::store::pg::PgResourceStore store{pool};
  std::unique_ptr<PgConnection> listener = Listener(db.dsn());
};

}  // namespace

BOOST_AUTO_TEST_SUITE(EventAnnouncements)

BOOST_FIXTURE_TEST_CASE(ACommittedWriteWakesAListener, ListenedStore) {
  BOOST_REQUIRE(store.Write(Observation("o1"), 0).ok());
  BOOST_TEST(Announced(*listener));
}

BOOST_FIXTURE_TEST_CASE(ATransactionOfSeveralWritesWakesAListener, ListenedStore) {
  std::vector<fhir::store::PlannedWrite> writes(2);
  writes[0].version = Observation("t1");
  writes[1].version = Observation("t2");
  BOOST_REQUIRE(store.WriteAll(writes, {}, {}).ok());
  BOOST_TEST(Announced(*listener));
}

BOOST_AUTO_TEST_CASE(WhatIsPendingIsSentBeforeTheAnnouncerGoes) {
  test_support::TestDatabase db;
  auto listener = Listener(db.dsn());
  auto announcer = std::make_unique<fhir::store::pg::EventAnnouncer>(db.dsn());
  announcer->Announce();
  announcer.reset();  // a short-lived process (fovea load) ends right after its last write
  BOOST_TEST(Announced(*listener));
}

BOOST_AUTO_TEST_CASE(AnnouncementsDuringASendAreCoalescedNotLost) {
  test_support::TestDatabase db;
  auto listener = Listener(db.dsn());
  fhir::store::pg::EventAnnouncer announcer(db.dsn());
  for (int i = 0; i < 1000; ++i) announcer.Announce();
  BOOST_TEST(Announced(*listener));
  // Each Announce either started a NOTIFY or joined one not yet sent: far fewer than 1,000,
  // at least one.
  announcer.Announce();
  BOOST_TEST(Announced(*listener));
  BOOST_TEST(announcer.sent() >= 1u);
  BOOST_TEST(announcer.sent() < 1000u);
}

BOOST_AUTO_TEST_CASE(ALocalListenerThatTakesTheWakeSpendsNoNotify) {
  test_support::TestDatabase db;
  fhir::store::pg::EventAnnouncer announcer(db.dsn());
  int wakes = 0;
  announcer.SetLocalWake([&wakes] {
    ++wakes;
    return true;
  });
  announcer.Announce();
  announcer.Announce();
  BOOST_TEST(wakes == 2);
  BOOST_TEST(announcer.woken_locally() == 2u);
  BOOST_TEST(announcer.sent() == 0u);
}

BOOST_AUTO_TEST_CASE(ALocalListenerThatDeclinesLeavesItToNotify) {
  // Another node's matcher holds the lock: this node's matcher declines, the NOTIFY reaches it.
  test_support::TestDatabase db;
  auto listener = Listener(db.dsn());
  fhir::store::pg::EventAnnouncer announcer(db.dsn());
  announcer.SetLocalWake([] { return false; });
  announcer.Announce();
  BOOST_TEST(Announced(*listener));
  BOOST_TEST(announcer.woken_locally() == 0u);
}

BOOST_AUTO_TEST_CASE(NoTriggerNotifiesInsideTheWritersTransaction) {
  // Migration 0017: a NOTIFY in the write's transaction would hold PostgreSQL's notify lock
  // across the commit's fsync and make concurrent writes commit one at a time.
  test_support::TestDatabase db;
  auto conn = PgConnection::Connect(db.dsn());
  BOOST_REQUIRE(conn.has_value());
  auto triggers = (*conn)->ExecuteUnprepared(
      {"test.event_triggers",
       "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'event'::regclass AND NOT tgisinternal"},
      {});
  BOOST_REQUIRE(triggers.has_value());
  BOOST_TEST(triggers->GetInt64(0, 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
