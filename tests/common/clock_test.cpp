// common/clock: instant and HTTP-date formatting and parsing.

#include "common/clock.h"

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(ClockFormat)

BOOST_AUTO_TEST_CASE(InstantRoundTrips) {
  common::TimePoint t;
  BOOST_REQUIRE(common::ParseInstant("2026-11-28T05:01:02.345Z", t));
  BOOST_TEST(common::FormatInstant(t) == "2026-11-28T05:01:02.345Z");
  BOOST_REQUIRE(common::ParseInstant("2026-11-28T07:01:02.345+02:00", t));
  BOOST_TEST(common::FormatInstant(t) == "2026-11-28T05:01:02.345Z");
  BOOST_REQUIRE(common::ParseInstant("2026-11", t));
  BOOST_TEST(common::FormatInstant(t) == "2026-11-01T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(InstantRejectsMalformed) {
  common::TimePoint t;
  BOOST_TEST(!common::ParseInstant("2026-13-01", t));
  BOOST_TEST(!common::ParseInstant("2026-11-28T05:01:02", t));  // no zone
  BOOST_TEST(!common::ParseInstant("yesterday", t));
}

BOOST_AUTO_TEST_CASE(HttpDateRoundTrips) {
  common::TimePoint t;
  BOOST_REQUIRE(common::ParseHttpDate("Sat, 28 Nov 2026 05:01:02 GMT", t));
  BOOST_TEST(common::FormatHttpDate(t) == "Sat, 28 Nov 2026 05:01:02 GMT");
  BOOST_TEST(!common::ParseHttpDate("Saturday, 28-Nov-26 05:01:02 GMT", t));
}

BOOST_AUTO_TEST_SUITE_END()
