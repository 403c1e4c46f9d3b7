#ifndef FOVEA_FHIR_REST_DETAIL_TRANSPORT_H_
#define FOVEA_FHIR_REST_DETAIL_TRANSPORT_H_

// The byte stream under one HTTP connection: plain TCP, or TLS over it. Every wait is bounded
// by the caller, so the connection loop (http_server.cpp) can hold a client to a total deadline
// for a request head or body however slowly the bytes trickle in.
//
// TLS is driven here with OpenSSL on the accepted socket, not through POCO's SecureStreamSocket:
// in POCO 1.11 its blocking read loop restarts the receive timeout for every byte of a TLS
// record (so a trickled record or handshake has no upper bound), non-blocking mode does not
// reach the inner socket, and shutdownSend/shutdownReceive are no-ops. Here the socket is
// non-blocking and every wait is a poll() with the time that is left.

#include <openssl/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"
#include "fhir/rest/detail/nonblocking_stream.h"

namespace Poco::Net {
class StreamSocket;
}  // namespace Poco::Net

namespace fhir::rest {
struct TlsOptions;
}  // namespace fhir::rest

namespace fhir::rest::detail {

using Millis = std::chrono::milliseconds;

// The server side of TLS: TLS 1.2 minimum (1.3 preferred by clients that have it), ECDHE with
// AEAD ciphers only for 1.2, server cipher preference, no compression, no renegotiation, no
// client certificates. Immutable after Create. Thread-safe.
class TlsContext {
 public:
  // kInvalid when a file is missing or unreadable, the key is encrypted, or the key does not
  // belong to the certificate; the message names the file and the reason.
  static common::Result<std::unique_ptr<TlsContext>> Create(const TlsOptions& options);
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_.get(); }

 private:
  struct Free {
    void operator()(SSL_CTX* ctx) const noexcept;
  };
  explicit TlsContext(std::unique_ptr<SSL_CTX, Free> ctx) : ctx_(std::move(ctx)) {}
  std::unique_ptr<SSL_CTX, Free> ctx_;
};

// One connection's transport. Borrows the socket, which must outlive it. Thread-compatible:
// used only by the connection's own thread.
class Transport {
 public:
  enum class ReadResult { kData, kClosed, kTimedOut };

  virtual ~Transport() = default;

  // Before the first request: the TLS handshake, within `limit`. False when the connection
  // should end (a failed handshake is logged in one line, without client data).
  virtual bool Open(Millis limit) = 0;
  // Waits at most `limit` in total for bytes and appends what arrived to `in`.
  virtual ReadResult Receive(std::string& in, Millis limit) = 0;
  // Sends all of `data`. False when the peer is gone or accepted nothing for the send-stall
  // limit given at construction.
  virtual bool Send(std::string_view data) = 0;
  // After a final answer: ends our sending side, then reads and discards what the client still
  // sends (a "lingering close"), so that it can read the answer instead of seeing a reset.
  // Stops after `idle` without bytes, `total` in all, or `max_bytes`.
  virtual void CloseLingering(Millis idle, Millis total, std::size_t max_bytes) = 0;
  // The orderly end of a connection that is still healthy (TLS: sends close_notify).
  virtual void Close() = 0;
  // Hands the connection over after a protocol upgrade (HttpServer::MountUpgrade): a
  // NonBlockingStream on a duplicate of the socket's descriptor, carrying on the TLS session.
  // The StreamSocket still closes its own descriptor, which leaves the connection open
  // through the duplicate; it must not be shut down (shutdown acts on the connection, not
  // the descriptor). The transport must not be used afterwards. Null when the descriptor
  // cannot be duplicated.
  virtual std::unique_ptr<NonBlockingStream> Release() = 0;
};

// Plain TCP. The socket stays blocking; waits use SO_RCVTIMEO, set only when the limit changes,
// so an idle keep-alive read costs one recv() as before.
std::unique_ptr<Transport> NewPlainTransport(Poco::Net::StreamSocket& socket, Millis send_stall);

// TLS over the socket, which this switches to non-blocking mode.
std::unique_ptr<Transport> NewTlsTransport(Poco::Net::StreamSocket& socket,
                                           const TlsContext& context, Millis send_stall);

}  // namespace fhir::rest::detail

#endif  // FOVEA_FHIR_REST_DETAIL_TRANSPORT_H_
