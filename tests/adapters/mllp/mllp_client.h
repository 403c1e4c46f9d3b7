#ifndef FOVEA_TESTS_ADAPTERS_MLLP_MLLP_CLIENT_H_
#define FOVEA_TESTS_ADAPTERS_MLLP_MLLP_CLIENT_H_

// A minimal MLLP client for tests and the benchmark: one TCP connection, framed sends, and
// reads of whole framed answers with a deadline. Thread-compatible.

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <chrono>
#include <optional>
#include <string>

namespace mllp_test {

// A loopback port free right now (for a server's --mllp-port).
inline int FreePort() {
  Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
  return probe.address().port();
}

class MllpClient {
 public:
  explicit MllpClient(int port) : socket_(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port))) {
    socket_.setNoDelay(true);
  }

  void SendRaw(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      int n = socket_.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }
  void Send(const std::string& message) { SendRaw("\x0b" + message + "\x1c\r"); }

  // The next framed answer; nullopt when the connection closed or nothing came in time.
  std::optional<std::string> Read(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      std::size_t end = buffer_.find("\x1c\r");
      if (end != std::string::npos) {
        std::size_t start = buffer_.find('\x0b');
        std::string frame = buffer_.substr(start + 1, end - start - 1);
        buffer_.erase(0, end + 2);
        return frame;
      }
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      socket_.setReceiveTimeout(Poco::Timespan(left.count()));
      char chunk[65536];
      int n = 0;
      try {
        n = socket_.receiveBytes(chunk, sizeof chunk);
      } catch (const Poco::Exception&) {
        return std::nullopt;
      }
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // True when the server closed the connection (end of stream) within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    socket_.setReceiveTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count()));
    char chunk[4096];
    try {
      while (true) {
        int n = socket_.receiveBytes(chunk, sizeof chunk);
        if (n <= 0) return true;
      }
    } catch (const Poco::TimeoutException&) {
      return false;
    } catch (const Poco::Exception&) {
      return true;  // reset
    }
  }

  std::string Exchange(const std::string& message) {
    Send(message);
    auto a = Read();
    if (!a.has_value()) throw std::runtime_error("no MLLP answer");
    return *a;
  }

 private:
  Poco::Net::StreamSocket socket_;
  std::string buffer_;
};

}  // namespace mllp_test

#endif  // FOVEA_TESTS_ADAPTERS_MLLP_MLLP_CLIENT_H_
