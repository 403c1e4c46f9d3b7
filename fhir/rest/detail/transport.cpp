#include "fhir/rest/detail/transport.h"

#include <Poco/Exception.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <filesystem>

#include "common/log.h"
#include "fhir/rest/http_server.h"

namespace fhir::rest::detail {
namespace {

using Clock = std::chrono::steady_clock;

// TLS 1.2: forward secrecy (ECDHE) and AEAD only, strongest first. TLS 1.3 suites are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
constexpr const char* kTls13Ciphers =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";

constexpr std::size_t kReadChunk = 16384;

Millis Remaining(Clock::time_point deadline) {
  return std::chrono::ceil<Millis>(deadline - Clock::now());
}

// Waits until `fd` is ready for `events` or `deadline` passes; false on timeout.
bool WaitReady(int fd, short events, Clock::time_point deadline) {
  while (true) {
    Millis left = Remaining(deadline);
    if (left <= Millis::zero()) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<Millis::rep>(left.count(), INT_MAX)));
    if (rc > 0) return true;  // readiness, or an error/hang-up the next call reports
    if (rc == 0 || errno != EINTR) return false;
  }
}

// Reads and discards what the peer still sends; see Transport::CloseLingering.
void Drain(int fd, Millis idle, Millis total, std::size_t max_bytes) {
  Clock::time_point end = Clock::now() + total;
  char buf[kReadChunk];
  std::size_t drained = 0;
  while (drained < max_bytes) {
    if (!WaitReady(fd, POLLIN, std::min(end, Clock::now() + idle))) return;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      drained += static_cast<std::size_t>(n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      return;
    }
  }
}

Poco::Timespan ToTimespan(Millis m) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(m.count()) * 1000);
}

int ClampToInt(std::size_t n) { return static_cast<int>(std::min<std::size_t>(n, INT_MAX)); }

// A duplicate that a child process (the embedded PostgreSQL) does not inherit: an inherited
// copy would keep the connection open after we close it.
int DupCloexec(int fd) { return ::fcntl(fd, F_DUPFD_CLOEXEC, 0); }

class PlainTransport final : public Transport {
 public:
  PlainTransport(Poco::Net::StreamSocket& socket, Millis send_stall) : socket_(socket) {
    socket_.setSendTimeout(ToTimespan(send_stall));
  }

  bool Open(Millis) override { return true; }

  ReadResult Receive(std::string& in, Millis limit) override {
    if (limit <= Millis::zero()) return ReadResult::kTimedOut;
    try {
      if (limit != receive_timeout_) {
        socket_.setReceiveTimeout(ToTimespan(limit));
        receive_timeout_ = limit;
      }
      char buf[kReadChunk];
      int n = socket_.receiveBytes(buf, sizeof buf);
      if (n <= 0) return ReadResult::kClosed;
      in.append(buf, static_cast<std::size_t>(n));
      return ReadResult::kData;
    } catch (const Poco::TimeoutException&) {
      return ReadResult::kTimedOut;
    } catch (const Poco::Exception&) {
      return ReadResult::kClosed;  // reset by the peer
    }
  }

  bool Send(std::string_view data) override {
    try {
      std::size_t sent = 0;
      while (sent < data.size()) {
        int n = socket_.sendBytes(data.data() + sent, ClampToInt(data.size() - sent));
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
      }
      return true;
    } catch (const Poco::Exception&) {
      return false;  // reset, or the send-stall timeout
    }
  }

  void CloseLingering(Millis idle, Millis total, std::size_t max_bytes) override {
    try {
      socket_.shutdownSend();
    } catch (const Poco::Exception&) {
      return;
    }
    Drain(socket_.impl()->sockfd(), idle, total, max_bytes);
  }

  void Close() override {}

  std::unique_ptr<NonBlockingStream> Release() override {
    return NewPlainStream(DupCloexec(socket_.impl()->sockfd()));
  }

 private:
  Poco::Net::StreamSocket& socket_;
  Millis receive_timeout_{-1};  // the SO_RCVTIMEO in force; -1: not set yet
};

struct SslFree {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

bool IsWant(int ssl_error) {
  return ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE;
}

short EventsFor(int ssl_error) { return ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN; }

// OpenSSL's reason for the last error of this thread ("unsupported protocol"): a fixed
// library string, never data from the peer.
std::string LastReason() {
  unsigned long e = ERR_peek_last_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  return reason != nullptr ? reason : "connection error";
}

// True when the client simply went away (closed or reset the connection) rather than
// speaking bad TLS: not worth a log line (load-balancer probes do this all day).
bool PeerLeft(int ssl_error) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN || ssl_error == SSL_ERROR_SYSCALL) return true;
  unsigned long e = ERR_peek_last_error();
  return ssl_error == SSL_ERROR_SSL && ERR_GET_LIB(e) == ERR_LIB_SSL &&
         ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

class TlsTransport final : public Transport {
 public:
  TlsTransport(Poco::Net::StreamSocket& socket, SSL_CTX* context, Millis send_stall)
      : socket_(socket), context_(context), send_stall_(send_stall) {}

  // The handshake runs here, in the connection's thread: the accepting thread never waits for
  // a client's bytes.
  bool Open(Millis limit) override {
    Clock::time_point deadline = Clock::now() + limit;
    socket_.setBlocking(false);
    fd_ = socket_.impl()->sockfd();
    ssl_.reset(SSL_new(context_));
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_) != 1) {
      common::LogError("TLS: cannot set up a connection: " + LastReason());
      return false;
    }
    SSL_set_accept_state(ssl_.get());
    while (true) {
      ERR_clear_error();
      int rc = SSL_do_handshake(ssl_.get());
      if (rc == 1) {
        healthy_ = true;
        return true;
      }
      int error = SSL_get_error(ssl_.get(), rc);
      if (IsWant(error)) {
        if (WaitReady(fd_, EventsFor(error), deadline)) continue;
        common::LogWarning("TLS handshake timed out");
        return false;
      }
      if (!PeerLeft(error)) common::LogWarning("TLS handshake failed: " + LastReason());
      ERR_clear_error();
      return false;
    }
  }

  ReadResult Receive(std::string& in, Millis limit) override {
    Clock::time_point deadline = Clock::now() + limit;
    char buf[kReadChunk];
    while (true) {
      ERR_clear_error();
      int n = SSL_read(ssl_.get(), buf, static_cast<int>(sizeof buf));
      if (n > 0) {
        in.append(buf, static_cast<std::size_t>(n));
        return ReadResult::kData;
      }
      int error = SSL_get_error(ssl_.get(), n);
      if (IsWant(error)) {
        if (WaitReady(fd_, EventsFor(error), deadline)) continue;
        return ReadResult::kTimedOut;
      }
      // close_notify (or an EOF, which SSL_OP_IGNORE_UNEXPECTED_EOF reports the same way)
      // leaves the session usable for our own close_notify; anything else is fatal.
      if (error != SSL_ERROR_ZERO_RETURN) healthy_ = false;
      ERR_clear_error();
      return ReadResult::kClosed;
    }
  }

  bool Send(std::string_view data) override {
    Clock::time_point deadline = Clock::now() + send_stall_;
    std::size_t sent = 0;
    while (sent < data.size()) {
      ERR_clear_error();
      // With SSL_MODE_ENABLE_PARTIAL_WRITE, n may be less than asked; after a "want", the
      // call is repeated with the same arguments, as OpenSSL requires.
      int n = SSL_write(ssl_.get(), data.data() + sent, ClampToInt(data.size() - sent));
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        deadline = Clock::now() + send_stall_;
        continue;
      }
      int error = SSL_get_error(ssl_.get(), n);
      if (IsWant(error) && WaitReady(fd_, EventsFor(error), deadline)) continue;
      healthy_ = false;
      ERR_clear_error();
      return false;
    }
    return true;
  }

  void CloseLingering(Millis idle, Millis total, std::size_t max_bytes) override {
    SendCloseNotify();
    if (::shutdown(fd_, SHUT_WR) != 0) return;
    // The rest of the request is discarded undecrypted, straight from the socket.
    Drain(fd_, idle, total, max_bytes);
  }

  void Close() override { SendCloseNotify(); }

  std::unique_ptr<NonBlockingStream> Release() override {
    if (!healthy_) return nullptr;
    int fd = DupCloexec(fd_);
    if (fd < 0) return nullptr;
    healthy_ = false;
    return NewTlsStream(fd, ssl_.release());
  }

 private:
  // One attempt, without waiting for the peer's close_notify (HTTP needs no more).
  void SendCloseNotify() {
    if (!healthy_) return;
    healthy_ = false;
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }

  Poco::Net::StreamSocket& socket_;
  SSL_CTX* context_;
  Millis send_stall_;
  int fd_ = -1;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool healthy_ = false;  // handshake done, no fatal error, no close_notify sent yet
};

// A passphrase-protected key would make OpenSSL prompt on the terminal; refuse instead.
int RefusePassphrase(char*, int, int, void*) { return 0; }

}  // namespace

void TlsContext::Free::operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }

common::Result<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsOptions& options) {
  if (options.cert_chain_file.empty() || options.private_key_file.empty()) {
    return common::InvalidError("TLS needs both a certificate chain file and a private key file");
  }
  for (const std::string* file : {&options.cert_chain_file, &options.private_key_file}) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*file, ec)) {
      return common::InvalidError("TLS file not found or not a regular file: " + *file);
    }
  }
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, Free> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return common::InternalError("TLS: cannot create a context: " + LastReason());
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(c, kGroups) != 1) {
    return common::InternalError("TLS: cannot apply the cipher policy: " + LastReason());
  }
  // No stateless session tickets: their key would live as long as the process and weaken
  // forward secrecy; resumption still works through the server-side session cache.
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET |
                             SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static constexpr unsigned char kSessionContext[] = "fovea";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);  // clients authenticate with OAuth tokens
  SSL_CTX_set_default_passwd_cb(c, RefusePassphrase);
  if (SSL_CTX_use_certificate_chain_file(c, options.cert_chain_file.c_str()) != 1) {
    return common::InvalidError("Cannot load the TLS certificate chain " + options.cert_chain_file +
                                ": " + LastReason());
  }
  if (SSL_CTX_use_PrivateKey_file(c, options.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return common::InvalidError("Cannot load the TLS private key " + options.private_key_file +
                                ": " + LastReason() + " (an unencrypted PEM key is needed)");
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return common::InvalidError("The TLS private key " + options.private_key_file +
                                " does not belong to the certificate " + options.cert_chain_file);
  }
  ERR_clear_error();
  return std::unique_ptr<TlsContext>(new TlsContext(std::move(ctx)));
}

std::unique_ptr<Transport> NewPlainTransport(Poco::Net::StreamSocket& socket, Millis send_stall) {
  return std::make_unique<PlainTransport>(socket, send_stall);
}

std::unique_ptr<Transport> NewTlsTransport(Poco::Net::StreamSocket& socket,
                                           const TlsContext& context, Millis send_stall) {
  return std::make_unique<TlsTransport>(socket, context.get(), send_stall);
}

}  // namespace fhir::rest::detail
