#include "conformance/engine/websocket_client.h"

#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/URI.h>

#include "conformance/engine/detail/tls.h"

namespace conformance::engine {

struct WebSocketClient::Socket {
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  std::unique_ptr<Poco::Net::WebSocket> ws;
};

common::Result<std::unique_ptr<WebSocketClient>> WebSocketClient::Bind(const std::string& url,
                                                                       const std::string& token,
                                                                       Receiver& receiver,
                                                                       const std::string& ca_file) {
  try {
    Poco::URI uri(url);
    auto socket = std::make_unique<Socket>();
    if (uri.getScheme() == "wss") {
      socket->session = std::make_unique<Poco::Net::HTTPSClientSession>(
          uri.getHost(), uri.getPort(), detail::ClientTlsContext(ca_file));
    } else if (uri.getScheme() == "ws") {
      socket->session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    } else {
      return common::InvalidError("not a ws:// or wss:// URL: " + url);
    }
    std::string target = uri.getPathEtc();
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target.empty() ? "/" : target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::Net::HTTPResponse response;
    socket->ws = std::make_unique<Poco::Net::WebSocket>(*socket->session, request, response);
    // A bounded wait per read, so the reader notices when the run is over.
    socket->ws->setReceiveTimeout(Poco::Timespan(0, 200 * 1000));
    std::string bind = "bind-with-token " + token;
    socket->ws->sendFrame(bind.data(), static_cast<int>(bind.size()),
                          Poco::Net::WebSocket::FRAME_TEXT);
    return std::unique_ptr<WebSocketClient>(new WebSocketClient(std::move(socket), url, receiver));
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("websocket " + url + ": " + e.displayText());
  }
}

WebSocketClient::WebSocketClient(std::unique_ptr<Socket> socket, std::string url,
                                 Receiver& receiver)
    : socket_(std::move(socket)), url_(std::move(url)), receiver_(receiver) {
  reader_ = std::thread([this] { ReadLoop(); });
}

WebSocketClient::~WebSocketClient() {
  stop_ = true;
  if (reader_.joinable()) reader_.join();
  try {
    socket_->ws->shutdown();
  } catch (const Poco::Exception&) {
  }
}

void WebSocketClient::ReadLoop() {
  Poco::Buffer<char> buffer(0);
  while (!stop_) {
    int flags = 0;
    int n = 0;
    try {
      buffer.resize(0);
      n = socket_->ws->receiveFrame(buffer, flags);
    } catch (const Poco::TimeoutException&) {
      continue;
    } catch (const Poco::Exception&) {
      return;  // closed or reset: whatever a script still waits for will not come
    }
    int opcode = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
    if (n == 0 && opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) return;
    if (opcode == Poco::Net::WebSocket::FRAME_OP_PING) {
      try {
        socket_->ws->sendFrame(buffer.begin(), n,
                               static_cast<int>(Poco::Net::WebSocket::FRAME_OP_PONG) |
                                   static_cast<int>(Poco::Net::WebSocket::FRAME_FLAG_FIN));
      } catch (const Poco::Exception&) {
        return;
      }
      continue;
    }
    if (opcode == Poco::Net::WebSocket::FRAME_OP_CLOSE) return;
    if (opcode != Poco::Net::WebSocket::FRAME_OP_TEXT) continue;
    ReceivedRequest r;
    r.method = "WEBSOCKET";
    r.path = url_;
    r.headers.emplace_back("Content-Type", "application/fhir+json");
    r.body.assign(buffer.begin(), static_cast<std::size_t>(n));
    receiver_.Record(std::move(r));
  }
}

}  // namespace conformance::engine
