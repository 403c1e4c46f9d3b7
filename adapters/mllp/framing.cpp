#include "adapters/mllp/framing.h"

namespace adapters::mllp {

std::string Frame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 3);
  out.push_back(kStartBlock);
  out.append(message);
  out.push_back(kEndBlock);
  out.push_back(kCarriageReturn);
  return out;
}

FrameDecoder::State FrameDecoder::Next(std::string& out) {
  std::size_t start = 0;
  while (start < buffer_.size() && (buffer_[start] == '\r' || buffer_[start] == '\n')) ++start;
  if (start == buffer_.size()) {
    buffer_.clear();
    return State::kNeedMore;
  }
  if (buffer_[start] != kStartBlock) {
    error_ = "bytes outside an MLLP frame";
    return State::kError;
  }
  std::size_t end = buffer_.find(kEndBlock, start + 1);
  if (end == std::string::npos) {
    if (buffer_.size() - start - 1 > max_) {
      error_ = "message above the size limit";
      return State::kError;
    }
    if (start > 0) buffer_.erase(0, start);
    return State::kNeedMore;
  }
  if (end - start - 1 > max_) {
    error_ = "message above the size limit";
    return State::kError;
  }
  // <FS> must be followed by <CR>; wait for it.
  if (end + 1 >= buffer_.size()) {
    if (start > 0) buffer_.erase(0, start);
    return State::kNeedMore;
  }
  if (buffer_[end + 1] != kCarriageReturn) {
    error_ = "an MLLP end block without its carriage return";
    return State::kError;
  }
  out.assign(buffer_, start + 1, end - start - 1);
  buffer_.erase(0, end + 2);
  return State::kMessage;
}

}  // namespace adapters::mllp
