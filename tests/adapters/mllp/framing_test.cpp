#include "adapters/mllp/framing.h"

#include <boost/test/unit_test.hpp>

namespace {

using adapters::mllp::Frame;
using adapters::mllp::FrameDecoder;
using State = FrameDecoder::State;

BOOST_AUTO_TEST_SUITE(MllpFraming)

BOOST_AUTO_TEST_CASE(SplitsFramesArrivingInPieces) {
  FrameDecoder d(1024);
  std::string stream = Frame("MSH|a") + "\r\n" + Frame("MSH|b");
  std::string out;
  for (char c : stream.substr(0, 4)) d.Append(std::string(1, c));
  BOOST_TEST((d.Next(out) == State::kNeedMore));
  d.Append(stream.substr(4));
  BOOST_TEST((d.Next(out) == State::kMessage));
  BOOST_TEST(out == "MSH|a");
  BOOST_TEST((d.Next(out) == State::kMessage));
  BOOST_TEST(out == "MSH|b");
  BOOST_TEST((d.Next(out) == State::kNeedMore));
  BOOST_TEST(!d.partial());
}

BOOST_AUTO_TEST_CASE(WaitsForTheCarriageReturnAfterTheEndBlock) {
  FrameDecoder d(1024);
  std::string out;
  d.Append("\x0bMSH|a\x1c");
  BOOST_TEST((d.Next(out) == State::kNeedMore));
  d.Append("\r");
  BOOST_TEST((d.Next(out) == State::kMessage));
}

BOOST_AUTO_TEST_CASE(ProtocolErrors) {
  std::string out;
  FrameDecoder outside(1024);
  outside.Append("GET / HTTP/1.1\r\n");
  BOOST_TEST((outside.Next(out) == State::kError));
  FrameDecoder big(8);
  big.Append("\x0b" + std::string(9, 'x'));
  BOOST_TEST((big.Next(out) == State::kError));
  FrameDecoder bad_end(1024);
  bad_end.Append("\x0bMSH\x1cX");
  BOOST_TEST((bad_end.Next(out) == State::kError));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
