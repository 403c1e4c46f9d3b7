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
#include <tuple>
#include <vector>

#include "common/clock.h"
#include "fhir/auth/principal.h"
#include "fhir/rest/http_server.h"
#include "fhir/search/live_registry.h"
#include "fhir/store/resource_store.h"
#include "subscriptions/engine/announcement.h"
#include "subscriptions/engine/notification_store.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/engine/presence.h"
#include "subscriptions/engine/recent_versions.h"
#include "subscriptions/engine/ws_protocol.h"
#include "subscriptions/engine/topics.h"
#include "subscriptions/rest/presence_tracker.h"
#include "subscriptions/websocket/socket_loop.h"

namespace subscriptions {

struct WebSocketChannelOptions {
  std::string dsn;       // for the dispatcher's LISTEN connection
  std::string base_url;  // the FHIR base in notifications
  websocket::SocketLoopOptions sockets;
  // Presence (docs/WORKFLOW.md): null turns it off. A node that stops refreshing its rows (it
  // died) has them expired by the others after `presence_ttl`.
  PresenceStore* presence = nullptr;
  std::chrono::seconds presence_ttl{30};
  // The versions this process's matcher just read (may be null): looked up before the store.
  std::shared_ptr<const RecentVersions> recent_versions;
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
    // The Subscription as it was when bound; shared by every binding made from that version.
    std::shared_ptr<const SubscriptionSpec> spec;
    std::int64_t sent = 0;
    bool json = false;  // the client spoke JSON (ping/pong form)
    common::TimePoint last_frame{};
    // Who the binding token was issued to (null: unknown, ids only) and until when it vouches.
    // One object per distinct reader (see Reader), so bindings with the same reader share
    // full-resource frames.
    std::shared_ptr<const fhir::auth::Principal> reader;
    common::TimePoint reader_until{};
  };
  // A subscription bound on this node: its sockets, and its spec as last read (for the next
  // binds, reused while the stored version and the search registry are the same).
  struct Subscribed {
    std::map<websocket::ConnectionId, Binding> sockets;
    std::shared_ptr<const SubscriptionSpec> latest;
    int latest_version = 0;
    const void* latest_registry = nullptr;
  };
  struct Work {
    websocket::ConnectionId connection = 0;
    ClientMessage message;  // a bind or an unbind
    bool closed = false;
  };
  // A notificationShape include's resources, per (topic, focus version, with content): the
  // same for every subscription of the topic, so looked up once per delivery round.
  using ContextKey = std::tuple<const Topic*, std::string, std::string, int, bool>;
  using ContextCache = std::map<ContextKey, std::vector<ContextResource>>;

  // Wakes the dispatcher from its wait on the database (a bind, unbind or close was queued).
  void WakeDispatcher();
  void OnText(websocket::ConnectionId id, std::string text);
  void OnClose(websocket::ConnectionId id);
  void Dispatch();
  // The binds queued in one round, together: one query for their tokens, one for the event
  // counts, one read per distinct subscription (parsed again only when its version changed).
  void BindAll(const std::vector<const Work*>& binds);
  void Unbind(websocket::ConnectionId id, const std::string& token);
  void Drop(websocket::ConnectionId id);  // the socket closed
  // The sessions socket `id` follows through its bindings now, and as whom (presence).
  PresenceTracker::Following FollowedBy(websocket::ConnectionId id) const;
  // The current version of a Subscription, parsed (shared with the bindings of that version);
  // null when it is deleted, unreadable or refused.
  std::shared_ptr<const SubscriptionSpec> CurrentSpec(
      const std::string& id, const std::shared_ptr<const fhir::search::SearchParameterRegistry>& search);
  // The one Principal object for a binding token's serialised reader (null: unknown, ids only).
  std::shared_ptr<const fhir::auth::Principal> Reader(const std::string& json);
  // Sends what the bound subscriptions have new; true when some is left for another round
  // (more than a round's worth, or the database was away). Without `announced`, one query for
  // the counts and one for the events of every subscription that has any; with the numbers the
  // matcher announced, only the subscriptions those do not cover are read. Each frame is built
  // once and sent to every socket that gets the same bytes (see the .cpp).
  bool DeliverNew(const Announced* announced);
  void SendHeartbeats();
  // One notification Bundle for subscription `id` in its dialect.
  std::string Frame(const std::string& id, const SubscriptionSpec& spec, NotificationType type,
                    std::int64_t events_since_start, const std::vector<NotificationEvent>& events,
                    PayloadContent content) const;
  // The content a binding gets now: full resources only while its token vouches for a reader.
  PayloadContent ContentFor(const Binding& b, common::TimePoint now) const;
  // AttachContext through `cache`.
  void AttachContextOnce(const SubscriptionSpec& spec, std::vector<NotificationEvent>& events,
                         const fhir::search::SearchParameterRegistry& search, bool with_content,
                         ContextCache& cache) const;
  // Drops the content of the events `reader` may not read (they go id-only).
  void KeepReadable(const fhir::auth::Principal& reader, std::vector<NotificationEvent>& events) const;

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
  std::map<std::string, Subscribed> subscribed_;  // by subscription id
  // Per socket, the subscriptions each bound token covers (by token hash), for unbinding and
  // for dropping the socket's bindings when it closes.
  std::map<websocket::ConnectionId, std::map<std::string, std::vector<std::string>>> tokens_;
  // Readers by their serialised form; expired entries are purged as the map grows.
  std::map<std::string, std::weak_ptr<const fhir::auth::Principal>> readers_;
  std::size_t readers_purge_at_ = 64;
  PresenceTracker presence_;  // dispatcher thread only (and Stop, after it ended)
  // An eventfd the loop thread writes when it queues work, so that the dispatcher, waiting for
  // NOTIFY on its listener, handles binds at once instead of at its next 50 ms tick. -1 if it
  // could not be made (then the tick).
  const int wake_fd_;
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_REST_WEBSOCKET_CHANNEL_H_
