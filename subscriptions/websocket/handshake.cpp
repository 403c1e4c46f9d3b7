#include "subscriptions/websocket/handshake.h"

#include <openssl/evp.h>

#include <cctype>

#include "common/base64.h"

namespace subscriptions::websocket {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated header value lists `token` (case-insensitive).
bool ListsToken(std::string_view value, std::string_view token) {
  while (true) {
    std::size_t comma = value.find(',');
    if (EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) return false;
    value.remove_prefix(comma + 1);
  }
}

HandshakeAnswer Refuse(std::string reason) {
  HandshakeAnswer answer;
  answer.status = 400;
  answer.reason = std::move(reason);
  return answer;
}

}  // namespace

std::string AcceptKey(std::string_view key) {
  std::string input(key);
  input += kGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    return {};  // no SHA-1 in this OpenSSL: the client's check fails and it gives up
  }
  return common::Base64Encode(std::string_view(reinterpret_cast<const char*>(digest), length));
}

HandshakeAnswer AnswerHandshake(std::string_view method,
                                const std::function<std::string_view(std::string_view)>& header) {
  if (method != "GET") return Refuse("A WebSocket upgrade must use GET");
  if (!ListsToken(header("Upgrade"), "websocket")) {
    return Refuse("This endpoint only speaks WebSocket: send Upgrade: websocket");
  }
  if (!ListsToken(header("Connection"), "upgrade")) {
    return Refuse("A WebSocket upgrade needs Connection: Upgrade");
  }
  if (Trim(header("Sec-WebSocket-Version")) != "13") {
    HandshakeAnswer answer;
    answer.status = 426;
    answer.reason = "Only WebSocket version 13 is supported";
    answer.headers.emplace_back("Sec-WebSocket-Version", "13");
    return answer;
  }
  std::string_view key = Trim(header("Sec-WebSocket-Key"));
  auto decoded = common::Base64Decode(key);
  if (key.size() != 24 || !decoded || decoded->size() != 16) {
    return Refuse("Sec-WebSocket-Key must be 16 bytes in base64");
  }
  std::string accept = AcceptKey(key);
  if (accept.empty()) return Refuse("The WebSocket handshake is unavailable");
  HandshakeAnswer answer;
  answer.status = 101;
  answer.headers = {{"Upgrade", "websocket"},
                    {"Connection", "Upgrade"},
                    {"Sec-WebSocket-Accept", std::move(accept)}};
  return answer;
}

std::string SwitchingProtocolsResponse(const HandshakeAnswer& answer) {
  std::string out = "HTTP/1.1 101 Switching Protocols\r\n";
  for (const auto& [name, value] : answer.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace subscriptions::websocket
