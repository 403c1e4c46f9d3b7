#include "subscriptions/websocket/frame.h"

#include <utility>

namespace subscriptions::websocket {
namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kRsvBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

bool IsControl(Opcode opcode) { return (static_cast<std::uint8_t>(opcode) & 0x8) != 0; }

bool IsKnownOpcode(std::uint8_t op) {
  switch (static_cast<Opcode>(op)) {
    case Opcode::kContinuation:
    case Opcode::kText:
    case Opcode::kBinary:
    case Opcode::kClose:
    case Opcode::kPing:
    case Opcode::kPong:
      return true;
  }
  return false;
}

// Codes a peer may put in a close frame (RFC 6455 §7.4, plus the IANA-registered 1012-1014).
// 1004-1006 and 1015 are reserved and never sent on the wire.
bool IsSendableCloseCode(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code != 1004 && code != kCloseNoStatus && code != kCloseAbnormal;
}

void AppendHeader(Opcode opcode, std::size_t length, bool fin, bool masked, std::string& out) {
  out += static_cast<char>((fin ? kFin : 0) | static_cast<std::uint8_t>(opcode));
  std::uint8_t mask_bit = masked ? kMaskBit : 0;
  if (length < 126) {
    out += static_cast<char>(mask_bit | length);
  } else if (length <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(length >> 8);
    out += static_cast<char>(length & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      out += static_cast<char>((static_cast<std::uint64_t>(length) >> shift) & 0xFF);
    }
  }
}

// The longest prefix of `text` of at most `limit` bytes that does not end inside a UTF-8
// sequence.
std::string_view Utf8Prefix(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut);
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int continuation = 0;
    unsigned char low = 0x80;   // bounds of the second byte, which rule out overlong forms,
    unsigned char high = 0xBF;  // surrogates and code points above U+10FFFF
    if (c >= 0xC2 && c <= 0xDF) {
      continuation = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      continuation = 2;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      continuation = 3;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (end - p <= continuation) return false;
    if (p[1] < low || p[1] > high) return false;
    for (int i = 2; i <= continuation; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += continuation + 1;
  }
  return true;
}

void FrameDecoder::Feed(std::string_view bytes) {
  if (error_) return;
  buffer_.append(bytes);
}

FrameDecoder::State FrameDecoder::Fail(std::uint16_t code, std::string reason) {
  error_ = ProtocolError{code, std::move(reason)};
  std::string().swap(buffer_);
  std::string().swap(message_);
  offset_ = 0;
  return State::kError;
}

void FrameDecoder::Compact() {
  if (offset_ == buffer_.size()) {
    std::string().swap(buffer_);  // idle: hold no memory
  } else if (offset_ > 0) {
    buffer_.erase(0, offset_);
  }
  offset_ = 0;
}

FrameDecoder::State FrameDecoder::Next(Message& message) {
  if (error_) return State::kError;
  while (true) {
    std::size_t available = buffer_.size() - offset_;
    if (available < 2) {
      Compact();
      return State::kNeedMore;
    }
    const auto* head = reinterpret_cast<const unsigned char*>(buffer_.data() + offset_);
    bool fin = (head[0] & kFin) != 0;
    std::uint8_t op = head[0] & kOpcodeBits;
    bool masked = (head[1] & kMaskBit) != 0;
    std::uint8_t length7 = head[1] & 0x7F;
    if ((head[0] & kRsvBits) != 0) return Fail(kCloseProtocolError, "reserved bits set");
    if (!IsKnownOpcode(op)) return Fail(kCloseProtocolError, "unknown opcode");
    auto opcode = static_cast<Opcode>(op);
    if (IsControl(opcode)) {
      if (!fin) return Fail(kCloseProtocolError, "fragmented control frame");
      if (length7 > kMaxControlPayload) return Fail(kCloseProtocolError, "control frame too long");
    }
    if (role_ == kServer && !masked) return Fail(kCloseProtocolError, "unmasked client frame");
    if (role_ == kClient && masked) return Fail(kCloseProtocolError, "masked server frame");

    std::size_t length_bytes = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
    std::size_t header = 2 + length_bytes + (masked ? 4 : 0);
    if (available < header) {
      Compact();
      return State::kNeedMore;
    }
    std::uint64_t length = length7;
    if (length_bytes > 0) {
      length = 0;
      for (std::size_t i = 0; i < length_bytes; ++i) length = (length << 8) | head[2 + i];
      if (length >> 63) return Fail(kCloseProtocolError, "invalid frame length");
    }
    if (opcode == Opcode::kContinuation && !fragmented_) {
      return Fail(kCloseProtocolError, "continuation frame outside a fragmented message");
    }
    if ((opcode == Opcode::kText || opcode == Opcode::kBinary) && fragmented_) {
      return Fail(kCloseProtocolError, "new message inside a fragmented message");
    }
    if (!IsControl(opcode)) {
      std::uint64_t so_far = opcode == Opcode::kContinuation ? message_.size() : 0;
      if (length > max_message_bytes_ || so_far + length > max_message_bytes_) {
        return Fail(kCloseMessageTooBig, "message too big");
      }
    }
    if (available - header < length) {
      Compact();
      return State::kNeedMore;
    }

    std::string payload(buffer_, offset_ + header, static_cast<std::size_t>(length));
    if (masked) {
      const unsigned char* key = head + 2 + length_bytes;
      for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= static_cast<char>(key[i & 3]);
    }
    offset_ += header + static_cast<std::size_t>(length);

    if (IsControl(opcode)) {
      if (opcode == Opcode::kClose) {
        CloseInfo info;
        if (auto bad = ParseClosePayload(payload, info)) return Fail(bad->code, bad->reason);
      }
      message.opcode = opcode;
      message.payload = std::move(payload);
      return State::kMessage;
    }
    if (opcode != Opcode::kContinuation) {
      if (!fin) {
        fragmented_ = opcode;
        message_ = std::move(payload);
        continue;
      }
      if (opcode == Opcode::kText && !IsValidUtf8(payload)) {
        return Fail(kCloseInvalidPayload, "text message is not UTF-8");
      }
      message.opcode = opcode;
      message.payload = std::move(payload);
      return State::kMessage;
    }
    message_ += payload;
    if (!fin) continue;
    Opcode whole = *fragmented_;
    fragmented_.reset();
    if (whole == Opcode::kText && !IsValidUtf8(message_)) {
      return Fail(kCloseInvalidPayload, "text message is not UTF-8");
    }
    message.opcode = whole;
    message.payload = std::move(message_);
    std::string().swap(message_);
    return State::kMessage;
  }
}

void AppendFrame(Opcode opcode, std::string_view payload, std::string& out, bool fin) {
  AppendHeader(opcode, payload.size(), fin, false, out);
  out += payload;
}

std::string EncodeFrame(Opcode opcode, std::string_view payload, bool fin) {
  std::string out;
  out.reserve(payload.size() + 10);
  AppendFrame(opcode, payload, out, fin);
  return out;
}

std::string EncodeMaskedFrame(Opcode opcode, std::string_view payload,
                              std::array<std::uint8_t, 4> mask, bool fin) {
  std::string out;
  out.reserve(payload.size() + 14);
  AppendHeader(opcode, payload.size(), fin, true, out);
  for (std::uint8_t b : mask) out += static_cast<char>(b);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ mask[i & 3]);
  }
  return out;
}

std::string ClosePayload(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += Utf8Prefix(reason, kMaxCloseReason);
  return payload;
}

std::string EncodeClose(std::uint16_t code, std::string_view reason) {
  return EncodeFrame(Opcode::kClose, ClosePayload(code, reason));
}

std::optional<ProtocolError> ParseClosePayload(std::string_view payload, CloseInfo& info) {
  info = CloseInfo{};
  if (payload.empty()) return std::nullopt;
  if (payload.size() == 1) return ProtocolError{kCloseProtocolError, "close frame of one byte"};
  auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                         static_cast<unsigned char>(payload[1]));
  if (!IsSendableCloseCode(code)) return ProtocolError{kCloseProtocolError, "invalid close code"};
  std::string_view reason = payload.substr(2);
  if (!IsValidUtf8(reason)) return ProtocolError{kCloseInvalidPayload, "close reason is not UTF-8"};
  info.code = code;
  info.reason = std::string(reason);
  return std::nullopt;
}

}  // namespace subscriptions::websocket
