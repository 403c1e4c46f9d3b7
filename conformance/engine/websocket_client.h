#ifndef FOVEA_CONFORMANCE_ENGINE_WEBSOCKET_CLIENT_H_
#define FOVEA_CONFORMANCE_ENGINE_WEBSOCKET_CLIENT_H_

// The client side of the Subscriptions Backport IG's websocket channel, for the engine's
// websocket-bind operation: connects to a ws:// or wss:// URL, sends
// `bind-with-token <token>`, and hands every text frame the server sends to a Receiver (as a
// request with method "WEBSOCKET"), so a script waits for notifications the same way for both
// channels. Pings are answered. Thread-safe; the reader thread ends with the object.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "conformance/engine/receiver.h"

namespace conformance::engine {

class WebSocketClient {
 public:
  // Connects and binds. kUnavailable when the server cannot be reached or refuses the upgrade.
  // `ca_file` as for PocoHttpTransport (wss://).
  static common::Result<std::unique_ptr<WebSocketClient>> Bind(const std::string& url,
                                                               const std::string& token,
                                                               Receiver& receiver,
                                                               const std::string& ca_file = "");
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

 private:
  struct Socket;
  WebSocketClient(std::unique_ptr<Socket> socket, std::string url, Receiver& receiver);
  void ReadLoop();

  std::unique_ptr<Socket> socket_;
  std::string url_;
  Receiver& receiver_;
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_WEBSOCKET_CLIENT_H_
