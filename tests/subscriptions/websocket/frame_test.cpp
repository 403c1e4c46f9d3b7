// subscriptions/websocket/frame: RFC 6455 framing without sockets, the RFC's own examples
// (§5.7) first.

#include "subscriptions/websocket/frame.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace ws = subscriptions::websocket;
using ws::FrameDecoder;
using ws::Message;
using ws::Opcode;

namespace {

constexpr std::array<std::uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};  // the RFC's example mask

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s += static_cast<char>(b);
  return s;
}

// Feeds `wire` to a fresh decoder and collects every message until it needs more or fails.
struct Decoded {
  std::vector<Message> messages;
  FrameDecoder::State last = FrameDecoder::State::kNeedMore;
  std::uint16_t error_code = 0;
};

Decoded Decode(FrameDecoder::Role role, std::string_view wire, std::size_t max = 1 << 20) {
  FrameDecoder decoder(role, max);
  decoder.Feed(wire);
  Decoded out;
  Message m;
  while ((out.last = decoder.Next(m)) == FrameDecoder::State::kMessage) out.messages.push_back(m);
  if (out.last == FrameDecoder::State::kError) out.error_code = decoder.error().code;
  return out;
}

std::string Masked(Opcode op, std::string_view payload, bool fin = true) {
  return ws::EncodeMaskedFrame(op, payload, kMask, fin);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(RfcExamples)

BOOST_AUTO_TEST_CASE(UnmaskedHelloIsWhatWeSend) {
  BOOST_TEST(ws::EncodeFrame(Opcode::kText, "Hello") ==
             Bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
}

BOOST_AUTO_TEST_CASE(MaskedHelloFromAClient) {
  std::string wire = Bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  BOOST_TEST(Masked(Opcode::kText, "Hello") == wire);
  Decoded d = Decode(FrameDecoder::kServer, wire);
  BOOST_REQUIRE(d.messages.size() == 1u);
  BOOST_TEST((d.messages[0].opcode == Opcode::kText));
  BOOST_TEST(d.messages[0].payload == "Hello");
  BOOST_TEST((d.last == FrameDecoder::State::kNeedMore));
}

BOOST_AUTO_TEST_CASE(FragmentedUnmaskedText) {
  std::string wire = Bytes({0x01, 0x03, 0x48, 0x65, 0x6c}) + Bytes({0x80, 0x02, 0x6c, 0x6f});
  BOOST_TEST(ws::EncodeFrame(Opcode::kText, "Hel", false) +
                 ws::EncodeFrame(Opcode::kContinuation, "lo") ==
             wire);
  Decoded d = Decode(FrameDecoder::kClient, wire);
  BOOST_REQUIRE(d.messages.size() == 1u);
  BOOST_TEST(d.messages[0].payload == "Hello");
}

BOOST_AUTO_TEST_CASE(PingAndMaskedPong) {
  BOOST_TEST(ws::EncodeFrame(Opcode::kPing, "Hello") ==
             Bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
  std::string pong = Bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  Decoded d = Decode(FrameDecoder::kServer, pong);
  BOOST_REQUIRE(d.messages.size() == 1u);
  BOOST_TEST((d.messages[0].opcode == Opcode::kPong));
  BOOST_TEST(d.messages[0].payload == "Hello");
}

BOOST_AUTO_TEST_CASE(SixteenAndSixtyFourBitLengths) {
  std::string frame256 = ws::EncodeFrame(Opcode::kBinary, std::string(256, 'x'));
  BOOST_TEST(frame256.substr(0, 4) == Bytes({0x82, 0x7E, 0x01, 0x00}));
  BOOST_TEST(frame256.size() == 4u + 256u);
  std::string frame64k = ws::EncodeFrame(Opcode::kBinary, std::string(65536, 'x'));
  BOOST_TEST(frame64k.substr(0, 10) == Bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}));
  BOOST_TEST(frame64k.size() == 10u + 65536u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(FrameDecoderRoundTrip)

const std::vector<std::size_t> kLengths{0, 1, 125, 126, 127, 65535, 65536, 100000};

BOOST_DATA_TEST_CASE(EveryLengthEncodingDecodes, boost::unit_test::data::make(kLengths), length) {
  std::string payload(length, '\0');
  for (std::size_t i = 0; i < length; ++i) payload[i] = static_cast<char>('a' + i % 26);
  std::string header = ws::EncodeFrame(Opcode::kText, payload).substr(0, 2);
  std::uint8_t length7 = static_cast<std::uint8_t>(header[1]);
  BOOST_TEST(length7 == (length < 126 ? length : length <= 65535 ? 126u : 127u));
  Decoded d = Decode(FrameDecoder::kServer, Masked(Opcode::kText, payload));
  BOOST_REQUIRE(d.messages.size() == 1u);
  BOOST_TEST(d.messages[0].payload == payload);
}

BOOST_AUTO_TEST_CASE(ByteAtATime) {
  std::string wire = Masked(Opcode::kText, "first") + Masked(Opcode::kPing, "p") +
                     Masked(Opcode::kText, std::string(300, 'z'));
  FrameDecoder decoder(FrameDecoder::kServer, 1024);
  std::vector<Message> got;
  Message m;
  for (char c : wire) {
    decoder.Feed(std::string_view(&c, 1));
    while (decoder.Next(m) == FrameDecoder::State::kMessage) got.push_back(m);
  }
  BOOST_REQUIRE(got.size() == 3u);
  BOOST_TEST(got[0].payload == "first");
  BOOST_TEST((got[1].opcode == Opcode::kPing));
  BOOST_TEST(got[2].payload == std::string(300, 'z'));
  BOOST_TEST(decoder.buffered() == 0u);
}

BOOST_AUTO_TEST_CASE(ControlFramesBetweenFragments) {
  std::string wire = Masked(Opcode::kText, "one ", false) + Masked(Opcode::kPing, "") +
                     Masked(Opcode::kContinuation, "two ", false) +
                     Masked(Opcode::kContinuation, "three");
  Decoded d = Decode(FrameDecoder::kServer, wire);
  BOOST_REQUIRE(d.messages.size() == 2u);
  BOOST_TEST((d.messages[0].opcode == Opcode::kPing));
  BOOST_TEST((d.messages[1].opcode == Opcode::kText));
  BOOST_TEST(d.messages[1].payload == "one two three");
}

BOOST_AUTO_TEST_CASE(Utf8SplitAcrossFragments) {
  std::string euro = "\xE2\x82\xAC";  // U+20AC in three bytes
  std::string wire = Masked(Opcode::kText, euro.substr(0, 1), false) +
                     Masked(Opcode::kContinuation, euro.substr(1));
  Decoded d = Decode(FrameDecoder::kServer, wire);
  BOOST_REQUIRE(d.messages.size() == 1u);
  BOOST_TEST(d.messages[0].payload == euro);
}

BOOST_AUTO_TEST_CASE(EmptyCloseAndCloseWithReason) {
  Decoded d =
      Decode(FrameDecoder::kServer,
             Masked(Opcode::kClose, "") + Masked(Opcode::kClose, ws::ClosePayload(1000, "bye")));
  BOOST_REQUIRE(d.messages.size() == 2u);
  ws::CloseInfo info;
  BOOST_TEST(!ws::ParseClosePayload(d.messages[0].payload, info).has_value());
  BOOST_TEST(info.code == ws::kCloseNoStatus);
  BOOST_TEST(!ws::ParseClosePayload(d.messages[1].payload, info).has_value());
  BOOST_TEST(info.code == 1000);
  BOOST_TEST(info.reason == "bye");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(FrameDecoderRejects)

struct BadInput {
  const char* name;
  FrameDecoder::Role role;
  std::string wire;
  std::uint16_t code;
};

std::ostream& operator<<(std::ostream& os, const BadInput& b) { return os << b.name; }

const std::vector<BadInput> kBad{
    {"unmasked client frame", FrameDecoder::kServer, ws::EncodeFrame(Opcode::kText, "hi"), 1002},
    {"masked server frame", FrameDecoder::kClient, Masked(Opcode::kText, "hi"), 1002},
    {"RSV1 set", FrameDecoder::kServer, Bytes({0xC1, 0x80, 0, 0, 0, 0}), 1002},
    {"opcode 3", FrameDecoder::kServer, Bytes({0x83, 0x80, 0, 0, 0, 0}), 1002},
    {"opcode 0xB", FrameDecoder::kServer, Bytes({0x8B, 0x80, 0, 0, 0, 0}), 1002},
    {"fragmented ping", FrameDecoder::kServer, Masked(Opcode::kPing, "x", false), 1002},
    {"126-byte ping", FrameDecoder::kServer, Masked(Opcode::kPing, std::string(126, 'x')), 1002},
    {"continuation first", FrameDecoder::kServer, Masked(Opcode::kContinuation, "x"), 1002},
    {"text inside fragmented text", FrameDecoder::kServer,
     Masked(Opcode::kText, "a", false) + Masked(Opcode::kText, "b"), 1002},
    {"64-bit length with the top bit", FrameDecoder::kServer,
     Bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 1002},
    {"frame over the limit", FrameDecoder::kServer, Masked(Opcode::kText, std::string(101, 'x')),
     1009},
    {"fragments over the limit", FrameDecoder::kServer,
     Masked(Opcode::kText, std::string(60, 'x'), false) +
         Masked(Opcode::kContinuation, std::string(60, 'x')),
     1009},
    {"text not UTF-8", FrameDecoder::kServer, Masked(Opcode::kText, "caf\xE9"), 1007},
    {"fragmented text not UTF-8", FrameDecoder::kServer,
     Masked(Opcode::kText, "ok", false) + Masked(Opcode::kContinuation, "\xC0\x80"), 1007},
    {"close of one byte", FrameDecoder::kServer, Masked(Opcode::kClose, "\x03"), 1002},
    {"close code 1005", FrameDecoder::kServer, Masked(Opcode::kClose, ws::ClosePayload(1005, "")),
     1002},
    {"close code 999", FrameDecoder::kServer, Masked(Opcode::kClose, ws::ClosePayload(999, "")),
     1002},
    {"close code 5000", FrameDecoder::kServer, Masked(Opcode::kClose, ws::ClosePayload(5000, "")),
     1002},
    {"close reason not UTF-8", FrameDecoder::kServer,
     Masked(Opcode::kClose, std::string("\x03\xE8\xFF", 3)), 1007},
};

BOOST_DATA_TEST_CASE(WithCloseCode, boost::unit_test::data::make(kBad), bad) {
  Decoded d = Decode(bad.role, bad.wire, 100);
  BOOST_TEST((d.last == FrameDecoder::State::kError));
  BOOST_TEST(d.error_code == bad.code);
}

BOOST_AUTO_TEST_CASE(OversizedFrameFailsFromItsHeaderAlone) {
  FrameDecoder decoder(FrameDecoder::kServer, 1000);
  std::string wire = Masked(Opcode::kText, std::string(5000, 'x'));
  decoder.Feed(wire.substr(0, 8));  // header only: the payload never needs to be buffered
  Message m;
  BOOST_TEST((decoder.Next(m) == FrameDecoder::State::kError));
  BOOST_TEST(decoder.error().code == ws::kCloseMessageTooBig);
}

BOOST_AUTO_TEST_CASE(StaysFailed) {
  FrameDecoder decoder(FrameDecoder::kServer, 1000);
  decoder.Feed(ws::EncodeFrame(Opcode::kText, "unmasked"));
  Message m;
  BOOST_TEST((decoder.Next(m) == FrameDecoder::State::kError));
  decoder.Feed(Masked(Opcode::kText, "fine"));
  BOOST_TEST((decoder.Next(m) == FrameDecoder::State::kError));
  BOOST_TEST(decoder.failed());
  BOOST_TEST(decoder.buffered() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(CloseFrames)

BOOST_AUTO_TEST_CASE(EncodesCodeThenReason) {
  BOOST_TEST(ws::EncodeClose(1008, "full") == Bytes({0x88, 0x06, 0x03, 0xF0, 'f', 'u', 'l', 'l'}));
}

BOOST_AUTO_TEST_CASE(ReasonTruncatedOnACharacterBoundary) {
  std::string reason = std::string(122, 'a') + "\xE2\x82\xAC";  // the euro sign straddles 123
  std::string payload = ws::ClosePayload(1000, reason);
  BOOST_TEST(payload.size() == 2u + 122u);
  BOOST_TEST(ws::IsValidUtf8(payload.substr(2)));
  BOOST_TEST(ws::EncodeClose(1000, std::string(500, 'r')).size() == 2u + 125u);
}

BOOST_AUTO_TEST_CASE(ApplicationCodesAccepted) {
  ws::CloseInfo info;
  BOOST_TEST(!ws::ParseClosePayload(ws::ClosePayload(3000, ""), info).has_value());
  BOOST_TEST(!ws::ParseClosePayload(ws::ClosePayload(4999, "x"), info).has_value());
  BOOST_TEST(info.code == 4999);
  BOOST_TEST(ws::ParseClosePayload(ws::ClosePayload(1004, ""), info).has_value());
  BOOST_TEST(ws::ParseClosePayload(ws::ClosePayload(1015, ""), info).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Utf8)

const std::vector<std::string> kValid{"",
                                      "plain",
                                      "caf\xC3\xA9",
                                      "\xE2\x82\xAC",
                                      "\xF0\x9F\x98\x80",
                                      "\xF4\x8F\xBF\xBF",
                                      "\xED\x9F\xBF"};
const std::vector<std::string> kInvalid{
    "\x80",              // a lone continuation byte
    "\xC0\x80",          // overlong NUL
    "\xE0\x80\xAF",      // overlong '/'
    "\xED\xA0\x80",      // a UTF-16 surrogate
    "\xF4\x90\x80\x80",  // above U+10FFFF
    "\xF5\x80\x80\x80",  // never a lead byte
    "\xE2\x82",          // truncated
    "\xE2\x28\xA1",      // bad continuation
};

BOOST_DATA_TEST_CASE(Accepts, boost::unit_test::data::make(kValid), text) {
  BOOST_TEST(ws::IsValidUtf8(text));
}

BOOST_DATA_TEST_CASE(Rejects, boost::unit_test::data::make(kInvalid), text) {
  BOOST_TEST(!ws::IsValidUtf8(text));
}

BOOST_AUTO_TEST_SUITE_END()
