#include "conformance/engine/receiver.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <sstream>
#include <stdexcept>

namespace conformance::engine {

namespace {

class RecordingHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RecordingHandler(Receiver& receiver) : receiver_(receiver) {}
  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& res) override {
    ReceivedRequest r;
    r.method = req.getMethod();
    r.path = req.getURI();
    for (const auto& [k, v] : req) r.headers.emplace_back(k, v);
    std::ostringstream body;
    Poco::StreamCopier::copyStream(req.stream(), body);
    r.body = body.str();
    receiver_.Record(std::move(r));
    res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
    res.setContentLength(0);
    res.send();
  }

 private:
  Receiver& receiver_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(Receiver& receiver) : receiver_(receiver) {}
  // POCO takes ownership of the handler.
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RecordingHandler(receiver_);
  }

 private:
  Receiver& receiver_;
};

}  // namespace

struct Receiver::Server {
  Poco::Net::ServerSocket socket;
  std::unique_ptr<Poco::Net::HTTPServer> http;
};

Receiver::Receiver(const std::string& bind, std::string public_url)
    : server_(std::make_unique<Server>()), bind_(bind), public_url_(std::move(public_url)) {
  try {
    server_->socket.bind(Poco::Net::SocketAddress(bind, 0), true);
    server_->socket.listen(64);
    auto params = new Poco::Net::HTTPServerParams;  // HTTPServer takes ownership
    params->setKeepAlive(true);
    // POCO takes ownership of the factory.
    server_->http = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), server_->socket,
                                                            params);
    server_->http->start();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot start the receiver: " + e.displayText());
  }
}

Receiver::~Receiver() {
  if (server_->http) server_->http->stopAll(true);
}

std::string Receiver::url() const {
  if (!public_url_.empty()) return public_url_;
  std::string host = bind_ == "0.0.0.0" || bind_.empty() ? "127.0.0.1" : bind_;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(server_->socket.address().port()) + "/hook";
}

void Receiver::Record(ReceivedRequest request) {
  {
    std::lock_guard lock(mu_);
    received_.push_back(std::move(request));
  }
  cv_.notify_all();
}

std::size_t Receiver::WaitFor(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return received_.size() >= count; });
  return received_.size();
}

std::vector<ReceivedRequest> Receiver::Received() const {
  std::lock_guard lock(mu_);
  return received_;
}

}  // namespace conformance::engine
