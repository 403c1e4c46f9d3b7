#include "adapters/mllp/mllp_server.h"

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>

#include "adapters/mllp/framing.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/rest/detail/transport.h"

namespace adapters::mllp {
namespace {

using Millis = std::chrono::milliseconds;
// How often a connection waiting for bytes checks whether the server is stopping.
constexpr Millis kPollSlice{500};

}  // namespace

class MllpServer::Connection final : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, MllpServer& server)
      : TCPServerConnection(socket), server_(server) {}

  void run() override {
    try {
      Poco::Net::StreamSocket& sock = socket();
      sock.setNoDelay(true);
      const MllpOptions& o = server_.options_;
      Millis stall = std::chrono::duration_cast<Millis>(o.idle_timeout);
      auto transport = server_.tls_ ? fhir::rest::detail::NewTlsTransport(sock, *server_.tls_, stall)
                                    : fhir::rest::detail::NewPlainTransport(sock, stall);
      if (!transport->Open(Millis(10000))) return;
      Serve(*transport);
      transport->Close();
    } catch (const Poco::Exception&) {
      // Reset or shutdown: the connection simply ends.
    } catch (const std::exception&) {
      common::LogError("mllp: connection ended by an unexpected exception");
    }
  }

 private:
  void Serve(fhir::rest::detail::Transport& transport) {
    const MllpOptions& o = server_.options_;
    FrameDecoder decoder(o.max_message_bytes);
    auto idle_since = std::chrono::steady_clock::now();
    std::string in;
    std::string message;
    auto send = [&](const std::string& ack) { return transport.Send(Frame(ack)); };
    while (!server_.stopping_.load()) {
      while (true) {
        auto state = decoder.Next(message);
        if (state == FrameDecoder::State::kError) {
          common::LogWarning("mllp: closing a connection: " + decoder.error());
          return;
        }
        if (state == FrameDecoder::State::kNeedMore) break;
        server_.processor_.Handle(message, send);
        idle_since = std::chrono::steady_clock::now();
      }
      in.clear();
      auto r = transport.Receive(in, kPollSlice);
      if (r == fhir::rest::detail::Transport::ReadResult::kClosed) return;
      if (r == fhir::rest::detail::Transport::ReadResult::kTimedOut) {
        if (std::chrono::steady_clock::now() - idle_since > o.idle_timeout) return;
        continue;
      }
      decoder.Append(in);
    }
  }

  MllpServer& server_;
};

namespace {

class Factory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit Factory(MllpServer& server) : server_(server) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new MllpServer::Connection(socket, server_);  // TCPServer takes ownership
  }

 private:
  MllpServer& server_;
};

}  // namespace

MllpServer::MllpServer(const InboundProcessor& processor, MllpOptions options)
    : processor_(processor), options_(std::move(options)) {}

MllpServer::~MllpServer() { Stop(); }

common::Status MllpServer::Start() {
  if (options_.tls.enabled()) {
    FOVEA_ASSIGN_OR_RETURN(tls_, fhir::rest::detail::TlsContext::Create(options_.tls));
  }
  try {
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress(options_.bind, static_cast<Poco::UInt16>(options_.port)), true);
    socket.listen(64);
    port_ = socket.address().port();
    auto* params = new Poco::Net::TCPServerParams;  // TCPServer takes ownership
    params->setMaxThreads(options_.max_connections);
    params->setMaxQueued(64);
    threads_ = std::make_unique<Poco::ThreadPool>(1, options_.max_connections);
    server_ = std::make_unique<Poco::Net::TCPServer>(new Factory(*this), *threads_, socket, params);
    server_->start();
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("Cannot listen for MLLP on " + options_.bind + ":" +
                                    std::to_string(options_.port) + ": " + e.displayText());
  }
  recovery_ = std::thread([this] {
    common::NameThisThread("fovea-mllp-rcv");
    RecoveryLoop();
  });
  return common::Status::Ok();
}

void MllpServer::RecoveryLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_.load()) {
    lock.unlock();
    auto applied = processor_.ApplyPending();
    if (applied.has_value() && *applied > 0) {
      common::LogInfo("hl7v2: applied " + std::to_string(*applied) + " accepted message(s) left unapplied");
    }
    lock.lock();
    wake_.wait_for(lock, options_.recovery_period, [this] { return stopping_.load(); });
  }
}

void MllpServer::Stop() {
  if (!server_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (recovery_.joinable()) recovery_.join();
  server_->stop();
  threads_->joinAll();
  server_.reset();
  threads_.reset();
}

}  // namespace adapters::mllp
