#ifndef FOVEA_FHIR_REST_DETAIL_NONBLOCKING_STREAM_H_
#define FOVEA_FHIR_REST_DETAIL_NONBLOCKING_STREAM_H_

// A connected byte stream on a non-blocking socket, plain TCP or TLS: what an HTTP connection
// becomes once it has switched protocols (HttpServer::MountUpgrade) and leaves the HTTP
// server for an event loop (subscriptions/websocket/socket_loop.h). The loop waits for the
// readiness the last call asked for; nothing here ever blocks.
//
// This header is the seam between fhir/rest, which makes streams (detail/transport.h,
// Transport::Release), and the loops that drive them; it names no POCO or OpenSSL type, so
// a loop depends on this interface only.

#include <cstddef>
#include <memory>
#include <string_view>

struct ssl_st;  // OpenSSL's SSL

namespace fhir::rest::detail {

// Owns its descriptor (and TLS session). Thread-compatible: one thread at a time, in practice
// the loop that owns it.
class NonBlockingStream {
 public:
  enum class Io {
    kOk,         // `bytes` > 0 were read or written
    kWantRead,   // nothing done: call again once the descriptor is readable
    kWantWrite,  // nothing done: call again once it is writable (TLS can need it for a read)
    kClosed,     // the peer closed (EOF, TLS close_notify), reset, or broke TLS: stop
  };
  struct IoResult {
    Io status = Io::kClosed;
    std::size_t bytes = 0;
  };

  NonBlockingStream() = default;
  NonBlockingStream(const NonBlockingStream&) = delete;
  NonBlockingStream& operator=(const NonBlockingStream&) = delete;
  // Closes the descriptor (and frees the TLS session) without any goodbye: call Shutdown
  // first for an orderly end.
  virtual ~NonBlockingStream() = default;

  // The descriptor to wait on (epoll, poll). Stays owned by the stream.
  virtual int fd() const = 0;
  virtual IoResult Read(char* buffer, std::size_t capacity) = 0;
  // Writes a prefix of `data` (possibly all of it). With TLS, after kWantRead/kWantWrite the
  // next call must pass the same bytes again (more may follow them; the buffer may move).
  virtual IoResult Write(std::string_view data) = 0;
  // True when Read would return bytes the descriptor's readiness does not announce (TLS
  // records already taken off the socket). Plain TCP: always false.
  virtual bool HasPendingInput() const = 0;
  // The orderly end of our sending side: TLS close_notify (one attempt, no waiting for the
  // peer's), then shutdown(SHUT_WR). Reading may continue until the peer closes.
  virtual void Shutdown() = 0;
};

// Takes ownership of `fd`, a connected socket, and makes it non-blocking. Null when `fd` < 0.
std::unique_ptr<NonBlockingStream> NewPlainStream(int fd);
// Takes ownership of `fd` and `ssl`, a session whose handshake is complete, and attaches
// `ssl` to `fd`. OpenSSL's buffers are released whenever they are empty
// (SSL_MODE_RELEASE_BUFFERS), so an idle stream holds only the session state (about 15 KB
// with OpenSSL 3.0). Null (both freed) when `ssl` cannot be attached.
std::unique_ptr<NonBlockingStream> NewTlsStream(int fd, ssl_st* ssl);

}  // namespace fhir::rest::detail

#endif  // FOVEA_FHIR_REST_DETAIL_NONBLOCKING_STREAM_H_
