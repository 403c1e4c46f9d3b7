#include "fhir/rest/detail/nonblocking_stream.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace fhir::rest::detail {
namespace {

using Io = NonBlockingStream::Io;
using IoResult = NonBlockingStream::IoResult;

bool SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

int ClampToInt(std::size_t n) { return static_cast<int>(std::min<std::size_t>(n, INT_MAX)); }

class PlainStream final : public NonBlockingStream {
 public:
  explicit PlainStream(int fd) : fd_(fd) {}
  ~PlainStream() override { ::close(fd_); }

  int fd() const override { return fd_; }

  IoResult Read(char* buffer, std::size_t capacity) override {
    while (true) {
      ssize_t n = ::recv(fd_, buffer, capacity, 0);
      if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
      if (n == 0) return {Io::kClosed, 0};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::kWantRead, 0};
      return {Io::kClosed, 0};
    }
  }

  IoResult Write(std::string_view data) override {
    while (true) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {Io::kWantWrite, 0};
      return {Io::kClosed, 0};
    }
  }

  bool HasPendingInput() const override { return false; }

  void Shutdown() override { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_;
};

struct SslFree {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

class TlsStream final : public NonBlockingStream {
 public:
  TlsStream(int fd, std::unique_ptr<SSL, SslFree> ssl) : fd_(fd), ssl_(std::move(ssl)) {}
  ~TlsStream() override {
    ssl_.reset();  // SSL_set_fd's socket BIO does not close the descriptor; we do
    ::close(fd_);
  }

  int fd() const override { return fd_; }

  IoResult Read(char* buffer, std::size_t capacity) override {
    ERR_clear_error();
    int n = SSL_read(ssl_.get(), buffer, ClampToInt(capacity));
    if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
    return Failed(SSL_get_error(ssl_.get(), n));
  }

  IoResult Write(std::string_view data) override {
    ERR_clear_error();
    // SSL_MODE_ENABLE_PARTIAL_WRITE and SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER are set (see
    // NewTlsStream): a retry may pass a moved, longer buffer.
    int n = SSL_write(ssl_.get(), data.data(), ClampToInt(data.size()));
    if (n > 0) return {Io::kOk, static_cast<std::size_t>(n)};
    return Failed(SSL_get_error(ssl_.get(), n));
  }

  bool HasPendingInput() const override { return SSL_has_pending(ssl_.get()) == 1; }

  void Shutdown() override {
    if (healthy_) {
      healthy_ = false;
      ERR_clear_error();
      SSL_shutdown(ssl_.get());
      ERR_clear_error();
    }
    ::shutdown(fd_, SHUT_WR);
  }

 private:
  IoResult Failed(int ssl_error) {
    switch (ssl_error) {
      case SSL_ERROR_WANT_READ:
        return {Io::kWantRead, 0};
      case SSL_ERROR_WANT_WRITE:
        return {Io::kWantWrite, 0};
      case SSL_ERROR_ZERO_RETURN:
        break;  // close_notify: our own close_notify may still go out
      default:
        healthy_ = false;  // after SSL_ERROR_SYSCALL or _SSL no further SSL call is allowed
        break;
    }
    ERR_clear_error();
    return {Io::kClosed, 0};
  }

  int fd_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool healthy_ = true;  // no fatal error, no close_notify sent yet
};

}  // namespace

std::unique_ptr<NonBlockingStream> NewPlainStream(int fd) {
  if (fd < 0) return nullptr;
  if (!SetNonBlocking(fd)) {
    ::close(fd);
    return nullptr;
  }
  return std::make_unique<PlainStream>(fd);
}

std::unique_ptr<NonBlockingStream> NewTlsStream(int fd, ssl_st* ssl) {
  std::unique_ptr<SSL, SslFree> owned(ssl);
  if (fd < 0 || !owned) {
    if (fd >= 0) ::close(fd);
    return nullptr;
  }
  ERR_clear_error();
  if (!SetNonBlocking(fd) || SSL_set_fd(owned.get(), fd) != 1) {
    ERR_clear_error();
    ::close(fd);
    return nullptr;
  }
  // Partial writes and a moving write buffer are what Write's contract relies on; the HTTPS
  // context sets them too, but a stream must not depend on where its session came from.
  SSL_set_mode(owned.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return std::make_unique<TlsStream>(fd, std::move(owned));
}

}  // namespace fhir::rest::detail
