#ifndef FOVEA_ADAPTERS_MLLP_MLLP_SERVER_H_
#define FOVEA_ADAPTERS_MLLP_MLLP_SERVER_H_

// The MLLP listener (`fovea serve --mllp-port N`): a thread per connection (POCO TCPServer,
// bounded), many messages per connection answered in order, optional TLS with the HTTPS
// certificate (the HTTP server's transport: fhir/rest/detail/transport.h), a size limit per
// message and an idle timeout. A protocol error (bytes outside a frame, an oversized message)
// ends the connection. A background thread applies accepted messages left unapplied by a crash
// (InboundProcessor::ApplyPending) at start and every few seconds. Thread-safe.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/mllp/processor.h"
#include "common/status.h"
#include "fhir/rest/http_server.h"

namespace Poco {
class ThreadPool;
namespace Net {
class TCPServer;
}  // namespace Net
}  // namespace Poco

namespace fhir::rest::detail {
class TlsContext;
}  // namespace fhir::rest::detail

namespace adapters::mllp {

struct MllpOptions {
  std::string bind = "127.0.0.1";
  int port = 2575;  // 0: any free port (tests)
  int max_connections = 32;
  std::size_t max_message_bytes = 1u << 20;
  std::chrono::seconds idle_timeout{300};
  fhir::rest::TlsOptions tls;
  std::chrono::seconds recovery_period{5};
};

class MllpServer {
 public:
  MllpServer(const InboundProcessor& processor, MllpOptions options);
  ~MllpServer();
  MllpServer(const MllpServer&) = delete;
  MllpServer& operator=(const MllpServer&) = delete;

  // kUnavailable when the port cannot be bound; kInvalid for bad TLS files.
  common::Status Start();
  // Stops accepting, ends every connection (a message being applied finishes first).
  void Stop();
  int port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }

  class Connection;

 private:
  void RecoveryLoop();

  const InboundProcessor& processor_;
  const MllpOptions options_;
  std::unique_ptr<fhir::rest::detail::TlsContext> tls_;
  std::unique_ptr<Poco::ThreadPool> threads_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread recovery_;
};

}  // namespace adapters::mllp

#endif  // FOVEA_ADAPTERS_MLLP_MLLP_SERVER_H_
