#include "adapters/hl7v2/message.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

namespace {

using adapters::hl7v2::Delimiters;
using adapters::hl7v2::Escape;
using adapters::hl7v2::Message;
using adapters::hl7v2::Path;
using adapters::hl7v2::Unescape;

constexpr const char* kAdt =
    "MSH|^~\\&|ADT1|GOOD HEALTH|FOVEA|UNIT1|20240102120000+0100||ADT^A04^ADT_A01|MSG0001|P|2.5.1|||AL|NE\r"
    "EVN|A04|20240102120000+0100\r"
    "PID|1||12345^^^HOSP&1.2.3&ISO^MR~999-99-9999^^^SSA^SS||Doe^Jane^Q^^Dr.^^L~Roe^Janie^^^^^M||19800229|F|||"
    "1 Main St^Apt 2^Springfield^IL^62701^USA^H||555-1234^PRN^PH~^NET^Internet^jane@example.org\r"
    "PV1|1|O|VAN1||||||||||||||||V100^^^HOSP\r"
    "ZFV|custom^field|kept\r";

BOOST_AUTO_TEST_SUITE(Hl7v2Message)

BOOST_AUTO_TEST_CASE(ReadsByPath) {
  auto m = Message::Parse(kAdt);
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->MessageType() == "ADT");
  BOOST_TEST(m->TriggerEvent() == "A04");
  BOOST_TEST(m->ControlId() == "MSG0001");
  BOOST_TEST(m->Version() == "2.5.1");
  BOOST_TEST(m->Get("MSH-1") == "|");
  BOOST_TEST(m->Get("MSH-2") == "^~\\&");
  BOOST_TEST(m->Get("PID-3(1)") == "12345^^^HOSP&1.2.3&ISO^MR");  // the first repetition
  BOOST_TEST(m->Get("PID-3.1") == "12345");
  BOOST_TEST(m->Get("PID-3(2).1") == "999-99-9999");
  BOOST_TEST(m->Get("PID-3(2).5") == "SS");
  BOOST_TEST(m->Get("PID-3.4.2") == "1.2.3");
  BOOST_TEST(m->Get("PID-5(2).1") == "Roe");
  BOOST_TEST(m->Get("PID-13(2).4") == "jane@example.org");
  BOOST_TEST(m->Get("ZFV-1.2") == "field");
  BOOST_TEST(m->Get("PID-99") == "");
  BOOST_TEST(m->Get("PID-3(9).1") == "");
  BOOST_TEST(m->Get("OBX-1") == "");
  BOOST_TEST(m->Encode() == kAdt);
}

BOOST_AUTO_TEST_CASE(OccurrenceSelectsRepeatedSegments) {
  auto m = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5\rOBX|1|NM|a\rOBX|2|ST|b\r");
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->Get("OBX-3") == "a");
  BOOST_TEST(m->Get("OBX[2]-3") == "b");
  BOOST_TEST(m->Get("OBX[3]-3") == "");
}

BOOST_AUTO_TEST_CASE(UnescapesOnRead) {
  auto m = Message::Parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5\r"
                          "NTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X414243\\h\\H\\i\\N\\\r");
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->Get("NTE-3") == "a|b^c&d~e\\f\ngABChi");
}

BOOST_AUTO_TEST_CASE(CustomSeparatorsAndTruncation) {
  std::string text = "MSH#*@!%$#A#B#C#D#20240101##ADT*A04#7#P#2.7\rPID#1##42***x%y##Doe*Jo\r";
  auto m = Message::Parse(text);
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->delimiters().field == '#');
  BOOST_TEST(m->delimiters().component == '*');
  BOOST_TEST(m->delimiters().truncation == '$');
  BOOST_TEST(m->Get("PID-3.1") == "42");
  BOOST_TEST(m->Get("PID-3.4.2") == "y");
  BOOST_TEST(m->Get("PID-5.2") == "Jo");
  BOOST_TEST(m->Encode() == text);
}

BOOST_AUTO_TEST_CASE(EscapeRoundTrips) {
  Delimiters d;
  std::string text = "a|b^c&d~e\\f\ng\x01h";
  std::string escaped = Escape(text, d);
  BOOST_TEST(escaped == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X01\\h");
  BOOST_TEST(Unescape(escaped, d) == text);
}

BOOST_AUTO_TEST_CASE(SetBuildsStructure) {
  Message m = Message::New();
  auto& obx = m.Add("OBX");
  obx.Set(3, 1, 1, 0, "363983007", m.delimiters());
  obx.Set(3, 1, 3, 0, "SCT", m.delimiters());
  obx.Set(5, 2, 0, 0, "6/9 ^ ok", m.delimiters());
  obx.Set(7, 1, 2, 3, "x", m.delimiters());
  BOOST_TEST(m.Encode() == "MSH|^~\\&\rOBX|||363983007^^SCT||~6/9 \\S\\ ok||^&&x\r");
  auto again = Message::Parse(m.Encode());
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->Get("OBX-5(2)") == "6/9 ^ ok");
}

const char* const kBadMessages[] = {
    "",                                   // nothing
    "PID|1||x\r",                         // not MSH first
    "MSH|^~\\\r",                         // too few encoding characters
    "MSH|^~\\&&|A\r",                     // repeated separator
    "MSHA^~\\&|A\r",                      // alphanumeric field separator
    "MSH|^~\\&^^^|A\r",                   // too many encoding characters
};

BOOST_DATA_TEST_CASE(RejectsWhatIsNotAMessage, boost::unit_test::data::make(kBadMessages), text) {
  auto m = Message::Parse(text);
  BOOST_TEST(!m.has_value());
}

const char* const kBadPaths[] = {"", "PI-3", "PID-", "PID-0", "PID-3(", "PID-3(0)", "PID-3.x",
                                 "PID-3.1.2.3", "PID[0]-1", "PID3"};

BOOST_DATA_TEST_CASE(RejectsBadPaths, boost::unit_test::data::make(kBadPaths), text) {
  BOOST_TEST(!Path::Parse(text).has_value());
}

BOOST_AUTO_TEST_CASE(PathsPrintAsParsed) {
  for (const char* p : {"PID-3", "PID-3(2).1", "OBX[2]-5.1.2", "MSH"}) {
    auto parsed = Path::Parse(p);
    BOOST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->ToString() == p);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
