#ifndef FOVEA_SUBSCRIPTIONS_REST_WEBSOCKET_CHANNEL_H_
#define FOVEA_SUBSCRIPTIONS_REST_WEBSOCKET_CHANNEL_H_

// The websocket channel of Subscriptions (SUBSCRIPTIONS.md §3.5) on every node: clients open
// `/ws/subscriptions-r4`, send `bind-with-token <token>` (or the JSON form), get one handshake
// per subscription the token covers, then an event-notification Bundle for every numbered event
// of those subscriptions as the matcher (on whichever node) commits it, and heartbeats when the
// subscription asks for them.
//
// Threads: the sockets live on one SocketLoop thread (subscriptions/websocket), whose callbacks
// never touch the database; binds go to the dispatcher thread, which redeems tokens, sends
// handshakes and, woken by NOTIFY fovea_notification on a connection of its own, reads the new
// notification rows and queues the frames. A socket that cannot keep up is closed by the loop;
// its client catches up with $events.
//
// Two dialects: topic-based subscriptions get the Backport IG's Bundles (status Parameters
// first); classic ones (criteria = a search URL, what @medplum/core's subscribeToCriteria
// creates) get the bundles Medplum's client reads (SubscriptionStatus first). Full-resource
// payloads go only to a socket whose binding token's principal may read that resource (checked
// per event, until the token expires; after that ids only, until the client binds again).

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "fhir/auth/principal.h"
#include "fhir/rest/http_server.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/resource_store.h"
#include "subscriptions/engine/notification_store.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/engine/ws_protocol.h"
#include "subscriptions/engine/topics.h"
#include "subscriptions/websocket/socket_loop.h"

namespace subscriptions {

struct WebSocketChannelOptions {
  std::string dsn;       // for the dispatcher's LISTEN connection
  std::string base_url;  // the FHIR base in notifications
  websocket::SocketLoopOptions sockets;
};

class WebSocketChannel {
 public:
  WebSocketChannel(const TopicRegistry& topics, std::shared_ptr<fhir::search::LiveRegistry> search,
                   fhir::store::ResourceStore& store, NotificationStore& notifications,
                   const common::Clock& clock, WebSocketChannelOptions options);
  ~WebSocketChannel();  // Stop()

  common::Status Start();
  void Stop();

  // For HttpServer::MountUpgrade(kWebSocketPath, ...).
  fhir::rest::HttpServer::UpgradeHandler Upgrade();

  std::size_t sockets() const { return loop_.size(); }

 private:
  // One subscription bound on one socket, and the last event number it was sent.
  struct Binding {
    websocket::ConnectionId connection = 0;
    std::string subscription;
    std::shared_ptr<const SubscriptionSpec> spec;
    std::int64_t sent = 0;
    bool json = false;  // the client spoke JSON (ping/pong form)
    common::TimePoint last_frame{};
    // Who the binding token was issued to (null: unknown, ids only) and until when it vouches.
    std::shared_ptr<const fhir::auth::Principal> reader;
    common::TimePoint reader_until{};
  };
  struct Work {
    websocket::ConnectionId connection = 0;
    ClientMessage message;  // a bind or an unbind
    bool closed = false;
  };

  void OnText(websocket::ConnectionId id, std::string text);
  void OnClose(websocket::ConnectionId id);
  void Dispatch();
  void Bind(websocket::ConnectionId id, const std::string& token, bool json);
  void Unbind(websocket::ConnectionId id, const std::string& token);
  // Sends what the bound subscriptions have new; true when some is left for another round
  // (more than a round's worth, or the database was away).
  bool DeliverNew();
  void SendHeartbeats();
  // One notification Bundle for `b` in its subscription's dialect.
  std::string Frame(const Binding& b, NotificationType type, std::int64_t events_since_start,
                    const std::vector<NotificationEvent>& events, PayloadContent content) const;
  // Drops the content of the events `b`'s reader may not read (they go id-only).
  void KeepReadable(const Binding& b, std::vector<NotificationEvent>& events) const;

  const TopicRegistry& topics_;
  const std::shared_ptr<fhir::search::LiveRegistry> search_;
  fhir::store::ResourceStore& store_;
  NotificationStore& notifications_;
  const common::Clock& clock_;
  const WebSocketChannelOptions options_;
  websocket::SocketLoop loop_;

  std::mutex mu_;
  std::condition_variable work_ready_;
  std::deque<Work> work_;  // GUARDED_BY(mu_): from the loop thread to the dispatcher
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread dispatcher_;
  // Dispatcher thread only.
  std::vector<Binding> bindings_;
  // Per socket, the subscriptions each bound token covers (by token hash), for unbinding.
  std::map<websocket::ConnectionId, std::map<std::string, std::vector<std::string>>> tokens_;
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_REST_WEBSOCKET_CHANNEL_H_
