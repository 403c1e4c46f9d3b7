#ifndef FOVEA_TESTS_SUBSCRIPTIONS_WEBSOCKET_WS_CLIENT_H_
#define FOVEA_TESTS_SUBSCRIPTIONS_WEBSOCKET_WS_CLIENT_H_

// A hand-written WebSocket client for the tests: a connected descriptor (a socketpair end, or
// TCP to a TestServer, optionally with OpenSSL on top), masked frames out, a client-role
// FrameDecoder in. Every wait is bounded. Thread-compatible.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

#include "subscriptions/websocket/frame.h"

namespace ws_test {

namespace ws = subscriptions::websocket;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

inline int ConnectTcp(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

class WsClient {
 public:
  enum class ReadStatus { kData, kTimedOut, kClosed };

  // Takes ownership of `fd`. With `tls`, runs a TLS handshake (any certificate accepted).
  explicit WsClient(int fd, bool tls = false, std::size_t max_message = 16 << 20)
      : fd_(fd), decoder_(ws::FrameDecoder::kClient, max_message) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL, 0) | O_NONBLOCK);
    if (!tls) return;
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_NONE, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    Clock::time_point deadline = Clock::now() + milliseconds(5000);
    while (true) {
      ERR_clear_error();
      int rc = SSL_connect(ssl_.get());
      if (rc == 1) break;
      int error = SSL_get_error(ssl_.get(), rc);
      if ((error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) ||
          !Wait(error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline)) {
        throw std::runtime_error("TLS handshake failed");
      }
    }
  }
  ~WsClient() { CloseSocket(); }
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  int fd() const { return fd_; }

  // Sends the opening handshake for `path` and reads the answer head; returns the status
  // (0 when none came) and keeps any bytes after the head for the frame decoder.
  int Upgrade(const std::string& path, const std::string& extra_headers = "",
              std::string* head_out = nullptr) {
    std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    WriteAll("GET " + path +
             " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: " +
             key + "\r\nSec-WebSocket-Version: 13\r\n" + extra_headers + "\r\n");
    std::string in;
    Clock::time_point deadline = Clock::now() + milliseconds(5000);
    std::size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      if (ReadSome(in, deadline) != ReadStatus::kData) return 0;
    }
    std::string head = in.substr(0, end + 4);
    if (head_out != nullptr) *head_out = head;
    decoder_.Feed(std::string_view(in).substr(end + 4));
    if (head.rfind("HTTP/1.1 ", 0) != 0) return 0;
    return std::stoi(head.substr(9, 3));
  }

  void Send(ws::Opcode opcode, std::string_view payload, bool fin = true) {
    std::array<std::uint8_t, 4> mask;
    for (auto& b : mask) b = static_cast<std::uint8_t>(rng_());
    WriteAll(ws::EncodeMaskedFrame(opcode, payload, mask, fin));
  }
  void SendText(std::string_view text) { Send(ws::Opcode::kText, text); }
  void SendClose(std::uint16_t code, std::string_view reason) {
    Send(ws::Opcode::kClose, ws::ClosePayload(code, reason));
  }

  // The next message or control frame within `wait`; nullopt on timeout, EOF, or a frame the
  // client decoder refuses.
  std::optional<ws::Message> Next(milliseconds wait = milliseconds(5000)) {
    Clock::time_point deadline = Clock::now() + wait;
    ws::Message m;
    std::string in;
    while (true) {
      auto state = decoder_.Next(m);
      if (state == ws::FrameDecoder::State::kMessage) return m;
      if (state == ws::FrameDecoder::State::kError) return std::nullopt;
      in.clear();
      if (ReadSome(in, deadline) != ReadStatus::kData) return std::nullopt;
      decoder_.Feed(in);
    }
  }
  // The next data message, skipping pings and pongs.
  std::optional<ws::Message> NextData(milliseconds wait = milliseconds(5000)) {
    Clock::time_point deadline = Clock::now() + wait;
    while (true) {
      auto m = Next(std::chrono::ceil<milliseconds>(deadline - Clock::now()));
      if (!m || (m->opcode != ws::Opcode::kPing && m->opcode != ws::Opcode::kPong)) return m;
    }
  }
  // Reads and discards until the server closes the connection, then closes ours as a real
  // client does (the server waits for that EOF before it lets go); false on timeout.
  bool WaitEof(milliseconds wait = milliseconds(5000)) {
    Clock::time_point deadline = Clock::now() + wait;
    std::string sink;
    while (true) {
      sink.clear();
      ReadStatus st = ReadSome(sink, deadline);
      if (st == ReadStatus::kTimedOut) return false;
      if (st == ReadStatus::kClosed) {
        CloseSocket();
        return true;
      }
    }
  }
  void CloseSocket() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void WriteAll(std::string_view data) {
    Clock::time_point deadline = Clock::now() + milliseconds(5000);
    while (!data.empty()) {
      if (ssl_) {
        ERR_clear_error();
        int n = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
        if (n > 0) {
          data.remove_prefix(static_cast<std::size_t>(n));
          continue;
        }
        int error = SSL_get_error(ssl_.get(), n);
        if ((error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) &&
            Wait(error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline)) {
          continue;
        }
        throw std::runtime_error("TLS write failed");
      }
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR) && Wait(POLLOUT, deadline)) {
        continue;
      } else {
        throw std::runtime_error("write failed");
      }
    }
  }

  // Appends what arrives (at most one read) to `in`.
  ReadStatus ReadSome(std::string& in, Clock::time_point deadline) {
    char buf[16384];
    while (true) {
      if (ssl_) {
        ERR_clear_error();
        int n = SSL_read(ssl_.get(), buf, sizeof buf);
        if (n > 0) {
          in.append(buf, static_cast<std::size_t>(n));
          return ReadStatus::kData;
        }
        int error = SSL_get_error(ssl_.get(), n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
          if (Wait(error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline)) continue;
          return ReadStatus::kTimedOut;
        }
        ERR_clear_error();
        return ReadStatus::kClosed;
      }
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, static_cast<std::size_t>(n));
        return ReadStatus::kData;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (Wait(POLLIN, deadline)) continue;
        return ReadStatus::kTimedOut;
      }
      return ReadStatus::kClosed;  // EOF or reset
    }
  }

 private:
  bool Wait(short events, Clock::time_point deadline) {
    auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, events, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
  }

  struct CtxFree {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
  };

  int fd_;
  ws::FrameDecoder decoder_;
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::minstd_rand rng_{12345};
};

// The code of a close frame's payload (1005 when it has none).
inline std::uint16_t CloseCodeOf(const ws::Message& m) {
  ws::CloseInfo info;
  (void)ws::ParseClosePayload(m.payload, info);
  return info.code;
}

}  // namespace ws_test

#endif  // FOVEA_TESTS_SUBSCRIPTIONS_WEBSOCKET_WS_CLIENT_H_
