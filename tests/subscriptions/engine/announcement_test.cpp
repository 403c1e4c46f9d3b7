// subscriptions/engine/announcement: the matcher's NOTIFY payloads read back as the numbered
// events they announce; split so that no payload passes the size given; refused (empty: the
// dispatchers query instead) when too large together or not writable in the line format.

#include "subscriptions/engine/announcement.h"

#include <boost/test/unit_test.hpp>

namespace {

using subscriptions::AnnouncedEvent;
using subscriptions::AnnouncementPayloads;
using subscriptions::ParseAnnouncement;

AnnouncedEvent Event(const std::string& id, int version, const std::string& method,
                     std::vector<std::pair<std::string, std::int64_t>> numbers) {
  AnnouncedEvent e;
  e.at = common::TimePoint(std::chrono::microseconds(1796469211114123));
  e.type = "Task";
  e.id = id;
  e.version = version;
  e.method = method;
  e.numbers = std::move(numbers);
  return e;
}

// Every payload parsed and merged, per subscription, in order.
subscriptions::Announced ParseAll(const std::vector<std::string>& payloads) {
  subscriptions::Announced all;
  for (const std::string& p : payloads) {
    auto one = ParseAnnouncement(p);
    BOOST_REQUIRE(one.has_value());
    for (auto& [sid, events] : *one) {
      auto& mine = all[sid];
      mine.insert(mine.end(), events.begin(), events.end());
    }
  }
  return all;
}

BOOST_AUTO_TEST_SUITE(Announcement)

BOOST_AUTO_TEST_CASE(RoundTripsTheNumbersAndTheirEvents) {
  std::vector<AnnouncedEvent> batch{Event("t1", 1, "POST", {{"s1", 7}, {"s2", 1}}),
                                    Event("t1", 2, "DELETE", {{"s1", 8}}),
                                    Event("quiet", 3, "PUT", {})};
  auto payloads = AnnouncementPayloads(batch, 7900, 65536);
  BOOST_REQUIRE(payloads.size() == 1u);
  auto parsed = ParseAnnouncement(payloads[0]);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_REQUIRE(parsed->size() == 2u);
  const auto& s1 = parsed->at("s1");
  BOOST_REQUIRE(s1.size() == 2u);
  BOOST_TEST(s1[0].number == 7);
  BOOST_TEST(s1[0].id == "t1");
  BOOST_TEST(s1[0].type == "Task");
  BOOST_TEST(s1[0].version == 1);
  BOOST_TEST((s1[0].interaction == subscriptions::Interaction::kCreate));
  BOOST_TEST(std::chrono::duration_cast<std::chrono::microseconds>(s1[0].at.time_since_epoch()).count() ==
             1796469211114123);
  BOOST_TEST(s1[1].number == 8);
  BOOST_TEST(s1[1].version == 2);
  BOOST_TEST((s1[1].interaction == subscriptions::Interaction::kDelete));
  BOOST_TEST(parsed->at("s2").size() == 1u);
  BOOST_TEST(parsed->at("s2")[0].number == 1);
}

BOOST_AUTO_TEST_CASE(SplitsIntoPayloadsThatEachStandAlone) {
  std::vector<std::pair<std::string, std::int64_t>> numbers;
  for (int i = 0; i < 300; ++i) numbers.emplace_back("subscription-" + std::to_string(i), i + 1);
  std::vector<AnnouncedEvent> batch{Event("a", 1, "POST", numbers), Event("b", 4, "PUT", numbers)};
  auto payloads = AnnouncementPayloads(batch, 1000, 1 << 20);
  BOOST_TEST(payloads.size() > 10u);
  for (const std::string& p : payloads) BOOST_TEST(p.size() <= 1000u);
  subscriptions::Announced all = ParseAll(payloads);
  BOOST_REQUIRE(all.size() == 300u);
  for (int i = 0; i < 300; ++i) {
    const auto& events = all.at("subscription-" + std::to_string(i));
    BOOST_REQUIRE(events.size() == 2u);
    BOOST_TEST(events[0].id == "a");
    BOOST_TEST(events[1].id == "b");
    BOOST_TEST(events[1].version == 4);
    BOOST_TEST(events[0].number == i + 1);
  }
}

BOOST_AUTO_TEST_CASE(RefusesWhatIsTooLargeOrNotWritable) {
  std::vector<std::pair<std::string, std::int64_t>> numbers;
  for (int i = 0; i < 1000; ++i) numbers.emplace_back("subscription-" + std::to_string(i), 1);
  BOOST_TEST(AnnouncementPayloads({Event("a", 1, "POST", numbers)}, 7900, 8000).empty());
  BOOST_TEST(!AnnouncementPayloads({Event("a", 1, "POST", numbers)}, 7900, 64000).empty());
  BOOST_TEST(AnnouncementPayloads({Event("a b", 1, "POST", {{"s", 1}})}, 7900, 64000).empty());
  BOOST_TEST(AnnouncementPayloads({Event("a", 1, "POST", {{"s\n1 2", 1}})}, 7900, 64000).empty());
  // A line longer than a payload may be.
  BOOST_TEST(AnnouncementPayloads({Event("a", 1, "POST", {{std::string(200, 's'), 1}})}, 100, 64000).empty());
}

BOOST_AUTO_TEST_CASE(AnythingElseMeansReadTheTable) {
  BOOST_TEST(!ParseAnnouncement("").has_value());
  BOOST_TEST(!ParseAnnouncement("hello").has_value());
  BOOST_TEST(!ParseAnnouncement("fovea-n1\n").has_value());
  BOOST_TEST(!ParseAnnouncement("fovea-n1\ns1 3\n").has_value());                  // no event yet
  BOOST_TEST(!ParseAnnouncement("fovea-n1\ne 1 Task t 1 PUT\ns1 3").has_value());   // cut short
  BOOST_TEST(!ParseAnnouncement("fovea-n1\ne 1 Task t x PUT\ns1 3\n").has_value()); // bad version
  BOOST_TEST(!ParseAnnouncement("fovea-n1\ne 1 Task t 1 PUT\ns1 0\n").has_value()); // numbers start at 1
  BOOST_TEST(!ParseAnnouncement("fovea-n1\ne 1 Task t 1 PUT\ns1 3 4\n").has_value());
  BOOST_TEST(ParseAnnouncement("fovea-n1\ne 1 Task t 1 PUT\ns1 3\n").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
