#ifndef FOVEA_CONFORMANCE_ENGINE_RECEIVER_H_
#define FOVEA_CONFORMANCE_ENGINE_RECEIVER_H_

// A loopback HTTP endpoint the engine starts for scripts that need a callback (rest-hook
// subscriptions): it answers every request 200 and records it, so a script can wait for what
// arrived (docs/CONFORMANCE.md, the fovea-receiver operation). Thread-safe.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conformance/engine/http_transport.h"

namespace conformance::engine {

struct ReceivedRequest {
  std::string method;
  std::string path;  // path and query as sent
  HeaderList headers;
  std::string body;
};

class Receiver {
 public:
  // Listens on `bind` (loopback by default) and a free port; `public_url`, when given, is the
  // URL url() reports instead of http://BIND:PORT/hook. Throws std::runtime_error when it
  // cannot listen.
  explicit Receiver(const std::string& bind = "127.0.0.1", std::string public_url = "");
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // http://BIND:PORT/hook, or the public URL.
  std::string url() const;
  // Waits until at least `count` requests have arrived in total (or `timeout` passed) and
  // returns how many there are.
  std::size_t WaitFor(std::size_t count, std::chrono::milliseconds timeout);
  std::vector<ReceivedRequest> Received() const;
  void Record(ReceivedRequest request);

 private:
  struct Server;
  std::unique_ptr<Server> server_;
  std::string bind_;
  std::string public_url_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedRequest> received_;  // guarded by mu_
};

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_RECEIVER_H_
