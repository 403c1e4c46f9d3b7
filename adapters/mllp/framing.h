#ifndef FOVEA_ADAPTERS_MLLP_FRAMING_H_
#define FOVEA_ADAPTERS_MLLP_FRAMING_H_

// MLLP framing (HL7 v2 "Minimal Lower Layer Protocol", release 2): <VT> message <FS><CR>.
// Thread-compatible.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace adapters::mllp {

inline constexpr char kStartBlock = '\x0b';
inline constexpr char kEndBlock = '\x1c';
inline constexpr char kCarriageReturn = '\r';

std::string Frame(std::string_view message);

// Splits a byte stream into messages. Bytes between frames (stray CR/LF) are skipped; anything
// else there, or a message above the size limit, is a protocol error: the connection ends.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_message_bytes) : max_(max_message_bytes) {}

  void Append(std::string_view bytes) { buffer_.append(bytes); }
  enum class State { kMessage, kNeedMore, kError };
  // The next complete message into `out`.
  State Next(std::string& out);
  const std::string& error() const { return error_; }
  // Bytes of an unfinished frame are waiting.
  bool partial() const { return !buffer_.empty(); }

 private:
  std::size_t max_;
  std::string buffer_;
  std::string error_;
};

}  // namespace adapters::mllp

#endif  // FOVEA_ADAPTERS_MLLP_FRAMING_H_
