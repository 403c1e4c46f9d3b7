#ifndef FOVEA_SUBSCRIPTIONS_WEBSOCKET_FRAME_H_
#define FOVEA_SUBSCRIPTIONS_WEBSOCKET_FRAME_H_

// RFC 6455 framing (https://www.rfc-editor.org/rfc/rfc6455#section-5): an incremental decoder
// for the frames a peer sends, and the encoders for the frames we send. Pure functions over
// byte buffers, no sockets. No extension is ever negotiated, so the RSV bits must be zero.
//
//   FrameDecoder decoder(FrameDecoder::kServer, 64 * 1024);
//   decoder.Feed(bytes_from_socket);
//   Message m;
//   while (decoder.Next(m) == FrameDecoder::State::kMessage) { ... m.opcode, m.payload ... }
//   if (decoder.failed()) { send EncodeClose(decoder.error().code, decoder.error().reason) }

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace subscriptions::websocket {

enum class Opcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close status codes (RFC 6455 §7.4.1) that Fovea sends or checks for.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;  // server stopping, idle peer
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseUnsupportedData = 1003;  // e.g. a binary message
inline constexpr std::uint16_t kCloseNoStatus = 1005;         // never on the wire
inline constexpr std::uint16_t kCloseAbnormal = 1006;         // never on the wire
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;   // text that is not UTF-8
inline constexpr std::uint16_t kClosePolicyViolation = 1008;  // e.g. a send queue overflow
inline constexpr std::uint16_t kCloseMessageTooBig = 1009;
inline constexpr std::uint16_t kCloseInternalError = 1011;

// Control frames carry at most this much payload (§5.5); a close reason at most 123 bytes.
inline constexpr std::size_t kMaxControlPayload = 125;

// A complete message (text or binary, reassembled from its fragments) or a control frame.
struct Message {
  Opcode opcode = Opcode::kText;
  std::string payload;  // unmasked
};

// Why the peer broke the protocol: the close code to send and a short reason that names no
// peer data (safe to send and to log).
struct ProtocolError {
  std::uint16_t code = kCloseProtocolError;
  std::string reason;
};

// Decodes one direction of a connection incrementally: Feed() bytes as they arrive, then call
// Next() until it stops returning kMessage. Checks (all fatal; the decoder then stays failed):
// frames from a client must be masked and frames from a server must not (1002); control
// frames are at most 125 bytes and never fragmented (1002); continuation frames only inside a
// fragmented message, and no new message before it ends (1002); unknown opcodes or RSV bits
// (1002); a message (all its fragments together) above max_message_bytes (1009, detected from
// the frame header, before the payload is buffered); text that is not UTF-8 and close frames
// with a bad code or reason (1007 or 1002). Non-minimal length encodings are accepted.
// Buffers hold at most one partial frame and one partial message; both release their memory
// when empty. Thread-compatible.
class FrameDecoder {
 public:
  // Which side's frames this decodes.
  enum Role { kServer /* decodes client frames: masked */, kClient /* decodes server frames */ };
  enum class State { kNeedMore, kMessage, kError };

  FrameDecoder(Role role, std::size_t max_message_bytes)
      : role_(role), max_message_bytes_(max_message_bytes) {}

  void Feed(std::string_view bytes);
  // kMessage: `message` holds the next message or control frame. kNeedMore: wait for more
  // bytes. kError: see error().
  State Next(Message& message);

  bool failed() const { return error_.has_value(); }
  const ProtocolError& error() const { return *error_; }
  // Bytes held: a partial frame plus a partial fragmented message.
  std::size_t buffered() const { return buffer_.size() - offset_ + message_.size(); }

 private:
  State Fail(std::uint16_t code, std::string reason);
  void Compact();

  Role role_;
  std::size_t max_message_bytes_;
  std::string buffer_;  // received, not yet decoded (from offset_)
  std::size_t offset_ = 0;
  std::string message_;               // the fragments so far of a fragmented data message
  std::optional<Opcode> fragmented_;  // its opcode, while one is in progress
  std::optional<ProtocolError> error_;
};

// Appends one unmasked frame (a server's) to `out`, with the shortest length encoding (7, 16
// or 64 bits). `fin` false starts or continues a fragmented message.
void AppendFrame(Opcode opcode, std::string_view payload, std::string& out, bool fin = true);
std::string EncodeFrame(Opcode opcode, std::string_view payload, bool fin = true);
// A client's frame, masked with `mask` (tests and tools; a real client picks a random mask).
std::string EncodeMaskedFrame(Opcode opcode, std::string_view payload,
                              std::array<std::uint8_t, 4> mask, bool fin = true);

// The payload of a close frame: the code in network order, then as much of `reason` as fits
// in 123 bytes without splitting a UTF-8 sequence.
std::string ClosePayload(std::uint16_t code, std::string_view reason);
// A whole (server) close frame.
std::string EncodeClose(std::uint16_t code, std::string_view reason);

// A received close frame's content. An empty payload means "no status" (1005).
struct CloseInfo {
  std::uint16_t code = kCloseNoStatus;
  std::string reason;
};
// Parses a close payload; a ProtocolError (1002 for a 1-byte payload or a code that may not be
// sent, 1007 for a reason that is not UTF-8) when it is malformed.
std::optional<ProtocolError> ParseClosePayload(std::string_view payload, CloseInfo& info);

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view text);

}  // namespace subscriptions::websocket

#endif  // FOVEA_SUBSCRIPTIONS_WEBSOCKET_FRAME_H_
