// common/hex: two lower-case digits per byte, high nibble first, for every byte value.

#include "common/hex.h"

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(Hex)

BOOST_AUTO_TEST_CASE(TwoLowerCaseDigitsPerByte) {
  BOOST_TEST(common::HexEncode("") == "");
  BOOST_TEST(common::HexEncode("A") == "41");
  BOOST_TEST(common::HexEncode(std::string_view("\x00\x0f\xf0\xff", 4)) == "000ff0ff");
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string hex = common::HexEncode(all);
  BOOST_REQUIRE(hex.size() == 512u);
  for (int b = 0; b < 256; ++b) {
    BOOST_TEST(std::stoi(hex.substr(static_cast<std::size_t>(b) * 2, 2), nullptr, 16) == b);
  }
  BOOST_TEST(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(DigitValues) {
  BOOST_TEST(common::HexDigitValue('0') == 0);
  BOOST_TEST(common::HexDigitValue('9') == 9);
  BOOST_TEST(common::HexDigitValue('a') == 10);
  BOOST_TEST(common::HexDigitValue('F') == 15);
  for (char c : std::string_view("gG/:@` -+x")) BOOST_TEST(common::HexDigitValue(c) == -1);
}

BOOST_AUTO_TEST_CASE(DecodingRoundTripsAndRefusesWhatIsNotHex) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  BOOST_TEST(common::HexDecode(common::HexEncode(all)).value_or("") == all);
  BOOST_TEST(common::HexDecode("4A4b").value_or("") == "JK");
  BOOST_TEST(!common::HexDecode("abc").has_value());   // odd length
  BOOST_TEST(!common::HexDecode("zz").has_value());    // not hex
  BOOST_TEST(!common::HexDecode("0x").has_value());
  BOOST_TEST(!common::HexDecode("+1").has_value());    // what a number parser would take
}

BOOST_AUTO_TEST_SUITE_END()
