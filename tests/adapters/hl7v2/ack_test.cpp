#include "adapters/hl7v2/ack.h"

#include <boost/test/unit_test.hpp>

namespace {

using adapters::hl7v2::AckError;
using adapters::hl7v2::AckModes;
using adapters::hl7v2::BuildAck;
using adapters::hl7v2::Message;

BOOST_AUTO_TEST_SUITE(Hl7v2Ack)

BOOST_AUTO_TEST_CASE(SwapsSenderAndEchoesControlId) {
  auto in = Message::Parse("MSH|^~\\&|ADT1|HOSP^1.2^ISO|FOVEA|UNIT|20240101||ADT^A04^ADT_A01|C42|P|2.5.1|||AL|AL\r");
  BOOST_REQUIRE(in.has_value());
  Message ack = BuildAck(*in, "AA", "", std::nullopt, "F1", "20240101120000+0000");
  BOOST_TEST(ack.Encode() ==
             "MSH|^~\\&|FOVEA|UNIT|ADT1|HOSP^1.2^ISO|20240101120000+0000||ACK^A04^ACK|F1|P|2.5.1\r"
             "MSA|AA|C42\r");
  AckModes modes = AckModes::Of(*in);
  BOOST_TEST(modes.enhanced());
  BOOST_TEST(modes.accept == "AL");
}

BOOST_AUTO_TEST_CASE(ErrNamesSegmentAndField) {
  auto in = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A04|C1|P|2.5.1\r");
  BOOST_REQUIRE(in.has_value());
  AckError e;
  e.location.segment = "PID";
  e.location.field = 7;
  e.code = "102";
  e.text = "PID-7 (date of birth) is not a valid date";
  Message ack = BuildAck(*in, "AE", e.text, e, "F2", "20240101");
  BOOST_TEST(ack.Get("MSA-1") == "AE");
  BOOST_TEST(ack.Get("ERR-2.1") == "PID");
  BOOST_TEST(ack.Get("ERR-2.3") == "7");
  BOOST_TEST(ack.Get("ERR-3.1") == "102");
  BOOST_TEST(ack.Get("ERR-4") == "E");
  BOOST_TEST(ack.Get("ERR-8") == e.text);
}

BOOST_AUTO_TEST_CASE(LegacyVersionsUseErr1) {
  auto in = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A04|C1|P|2.3\r");
  BOOST_REQUIRE(in.has_value());
  AckError e;
  e.location.segment = "PID";
  e.location.field = 3;
  e.code = "101";
  e.text = "PID-3 is required";
  Message ack = BuildAck(*in, "AE", e.text, e, "F3", "20240101");
  BOOST_TEST(ack.Get("ERR-1.1") == "PID");
  BOOST_TEST(ack.Get("ERR-1.3") == "3");
  BOOST_TEST(ack.Get("ERR-1.4.1") == "101");
  BOOST_TEST(ack.Get("MSA-3") == e.text);
}

BOOST_AUTO_TEST_CASE(WantedFollowsTable0155) {
  BOOST_TEST(AckModes::Wanted("AL", true));
  BOOST_TEST(!AckModes::Wanted("NE", false));
  BOOST_TEST(AckModes::Wanted("ER", false));
  BOOST_TEST(!AckModes::Wanted("ER", true));
  BOOST_TEST(AckModes::Wanted("SU", true));
  BOOST_TEST(!AckModes::Wanted("SU", false));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
