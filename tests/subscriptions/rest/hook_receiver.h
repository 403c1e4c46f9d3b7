#ifndef FOVEA_TESTS_SUBSCRIPTIONS_REST_HOOK_RECEIVER_H_
#define FOVEA_TESTS_SUBSCRIPTIONS_REST_HOOK_RECEIVER_H_

// A rest-hook endpoint for the tests: a real HTTP server on 127.0.0.1 that records every request
// (method, path, headers, body) and answers the status the test sets, or holds its answer back
// (to test timeouts) until released. Waits are bounded. Thread-safe.

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace hook_test {

struct ReceivedRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

class HookReceiver {
 public:
  HookReceiver() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(8);
    params->setKeepAlive(false);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket_, params);
    server_->start();
  }
  ~HookReceiver() {
    Release();
    server_->stopAll(true);
  }

  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + path;
  }
  // The status the next requests are answered with.
  void Answer(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  // Holds every answer back until Release() (or 30 s).
  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      hold_ = false;
    }
    changed_.notify_all();
  }
  // Waits until at least `n` requests have arrived (at most `limit`); whether they did.
  bool WaitFor(std::size_t n, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return received_.size() >= n; });
  }
  // Waits until `pred(requests)` holds (at most `limit`); whether it did.
  template <class Pred>
  bool WaitUntil(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return pred(received_); });
  }
  std::vector<ReceivedRequest> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return received_.size();
  }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(HookReceiver& r) : r_(r) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      ReceivedRequest got;
      got.method = request.getMethod();
      got.path = request.getURI();
      for (const auto& [name, value] : request) {
        std::string lower = name;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        got.headers[lower] = value;
      }
      Poco::StreamCopier::copyToString(request.stream(), got.body);
      int status = 200;
      {
        std::unique_lock lock(r_.mu_);
        r_.received_.push_back(std::move(got));
        r_.changed_.notify_all();
        r_.changed_.wait_for(lock, std::chrono::seconds(30), [&] { return !r_.hold_; });
        status = r_.status_;
      }
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      response.setContentLength(0);
      response.send();
    }

   private:
    HookReceiver& r_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(HookReceiver& r) : r_(r) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new Handler(r_);
    }

   private:
    HookReceiver& r_;
  };

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<ReceivedRequest> received_;  // GUARDED_BY(mu_)
  int status_ = 200;                       // GUARDED_BY(mu_)
  bool hold_ = false;                      // GUARDED_BY(mu_)
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

}  // namespace hook_test

#endif  // FOVEA_TESTS_SUBSCRIPTIONS_REST_HOOK_RECEIVER_H_
