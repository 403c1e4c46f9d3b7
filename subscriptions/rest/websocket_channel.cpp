#include "subscriptions/rest/websocket_channel.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "common/json.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/access_control.h"
#include "fhir/store/pg/connection.h"
#include "subscriptions/engine/announcement.h"
#include "subscriptions/engine/notification_bundle.h"
#include "subscriptions/engine/notification_context.h"
#include "subscriptions/engine/ws_protocol.h"
#include "subscriptions/rest/subscription_api.h"
#include "subscriptions/websocket/handshake.h"

namespace subscriptions {

using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using websocket::ConnectionId;

namespace {

constexpr fhir::store::pg::PgQuery kListen{"channel.listen", "LISTEN fovea_notification"};
constexpr fhir::store::pg::PgQuery kListenPresence{"channel.listen_presence", "LISTEN fovea_presence"};
// Events fetched per subscription per round; the rest follow in the next round.
constexpr std::size_t kEventsPerRound = 200;
// Frames handed to the socket loop at once: enough that one event's fan-out to a van's
// tablets is one hand-off, small enough that the loop starts writing to a thousand sockets
// while the rest are built.
constexpr std::size_t kHandOffBytes = 256 * 1024;

}  // namespace

WebSocketChannel::WebSocketChannel(const TopicRegistry& topics,
                                   std::shared_ptr<fhir::search::LiveRegistry> search,
                                   fhir::store::ResourceStore& store,
                                   NotificationStore& notifications, const common::Clock& clock,
                                   WebSocketChannelOptions options)
    : topics_(topics),
      search_(std::move(search)),
      store_(store),
      notifications_(notifications),
      clock_(clock),
      options_(std::move(options)),
      loop_({.on_text = [this](ConnectionId id, std::string text) { OnText(id, std::move(text)); },
             .on_close = [this](ConnectionId id) { OnClose(id); }},
            options_.sockets),
      presence_(options_.presence, options_.presence_ttl, clock_,
                [this](ConnectionId id, const std::string& frame) { return loop_.SendText(id, frame); }),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

WebSocketChannel::~WebSocketChannel() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void WebSocketChannel::WakeDispatcher() {
  if (wake_fd_ < 0) return;
  std::uint64_t one = 1;
  // Full (2^64 - 2 pending) cannot happen; a failed write only costs the 50 ms tick.
  (void)!write(wake_fd_, &one, sizeof one);
}

common::Status WebSocketChannel::Start() {
  FOVEA_RETURN_IF_ERROR(loop_.Start());
  dispatcher_ = std::thread([this] {
    common::NameThisThread("fovea-ws-send");
    Dispatch();
  });
  return common::Status::Ok();
}

void WebSocketChannel::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_ready_.notify_all();
  WakeDispatcher();
  if (dispatcher_.joinable()) dispatcher_.join();
  presence_.LeaveAll();
  loop_.Stop();
}

fhir::rest::HttpServer::UpgradeHandler WebSocketChannel::Upgrade() {
  fhir::rest::HttpServer::UpgradeHandler h;
  h.answer = [this](const RestRequest& request) {
    websocket::HandshakeAnswer a = websocket::AnswerHandshake(
        request.method, [&](std::string_view name) { return request.Header(name); });
    RestResponse r;
    r.status = a.status;
    r.headers = a.headers;
    if (!a.accepted()) {
      r.content_type = "text/plain; charset=utf-8";
      r.body = a.reason + "\n";
      return r;
    }
    // A place in the loop is reserved before the 101; adopt (or abandon) takes it.
    if (!loop_.Admit()) {
      r = RestResponse{};
      r.status = 503;
      r.headers.emplace_back("Retry-After", "5");
      r.content_type = "text/plain; charset=utf-8";
      r.body = "Too many WebSocket connections; try again later\n";
    }
    return r;
  };
  h.adopt = [this](std::unique_ptr<fhir::rest::detail::NonBlockingStream> stream, std::string rest,
                   const RestRequest&) { loop_.Adopt(std::move(stream), std::move(rest)); };
  h.abandon = [this](const RestRequest&) { loop_.CancelAdmission(); };
  return h;
}

// Loop thread: no database here; binds go to the dispatcher.
void WebSocketChannel::OnText(ConnectionId id, std::string text) {
  ClientMessage m = ParseClientMessage(text);
  switch (m.kind) {
    case ClientMessage::Kind::kPing:
      loop_.SendText(id, PongFor(m));
      return;
    case ClientMessage::Kind::kUnknown:
      loop_.SendText(id, ErrorMessage("Unknown message: send bind-with-token <token> (or "
                                      "{\"type\":\"bind-with-token\",\"payload\":{\"token\":...}})"));
      return;
    default:
      break;
  }
  {
    std::lock_guard lock(mu_);
    work_.push_back({id, std::move(m), false});
  }
  work_ready_.notify_all();
  WakeDispatcher();
}

void WebSocketChannel::OnClose(ConnectionId id) {
  {
    std::lock_guard lock(mu_);
    work_.push_back({id, {}, true});
  }
  work_ready_.notify_all();
  WakeDispatcher();
}

void WebSocketChannel::Dispatch() {
  std::unique_ptr<fhir::store::pg::PgConnection> listener;
  // Whether notification rows may have been committed since the last delivery round that the
  // announcements below do not cover: set by an empty or unreadable NOTIFY payload, after
  // (re)connecting the listener (notifications may have been missed), and when a round left
  // something for the next.
  bool query = false;
  // The numbers the matcher announced since the last round (NOTIFY payloads, in commit order).
  Announced announced;
  for (;;) {
    std::deque<Work> work;
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      work.swap(work_);
    }
    // Binds are handled together, in order with the unbinds and closes around them.
    std::vector<const Work*> binds;
    auto bind_queued = [&] {
      if (binds.empty()) return;
      BindAll(binds);
      binds.clear();
    };
    for (const Work& w : work) {
      if (!w.closed && w.message.kind == ClientMessage::Kind::kBind) {
        binds.push_back(&w);
        continue;
      }
      bind_queued();
      if (w.closed) {
        Drop(w.connection);
      } else if (w.message.kind == ClientMessage::Kind::kUnbind) {
        Unbind(w.connection, w.message.token);
      }
    }
    bind_queued();
    // Presence follows the bindings as they are now, once per socket touched this round.
    std::set<ConnectionId> touched;
    for (const Work& w : work) touched.insert(w.connection);
    for (ConnectionId id : touched) presence_.Update(id, FollowedBy(id));
    presence_.Tick();
    if (listener == nullptr || !listener->healthy()) {
      auto connected = fhir::store::pg::PgConnection::Connect(options_.dsn);
      if (connected.has_value() && (*connected)->ExecuteUnprepared(kListen, {}).has_value() &&
          (*connected)->ExecuteUnprepared(kListenPresence, {}).has_value()) {
        listener = std::move(connected).value();
        query = true;
      } else {
        listener.reset();
      }
    }
    // The database is asked only when something was committed that no announcement covers
    // (or the listener was away).
    bool more = false;
    if (!subscribed_.empty()) {
      if (query || listener == nullptr) {
        more = DeliverNew(nullptr);
      } else if (!announced.empty()) {
        more = DeliverNew(&announced);
      }
      SendHeartbeats();
    }
    announced.clear();
    query = more;
    if (listener != nullptr) {
      // Woken by committed notifications and presence changes, by queued binds, unbinds and
      // closes (wake_fd_), and every 50 ms for heartbeats.
      std::vector<fhir::store::pg::PgNotification> received;
      auto woke = listener->WaitForNotification(more ? std::chrono::milliseconds(0)
                                                     : std::chrono::milliseconds(50),
                                                received, wake_fd_);
      if (!woke.has_value()) listener.reset();
      if (wake_fd_ >= 0) {
        std::uint64_t queued;
        (void)!read(wake_fd_, &queued, sizeof queued);  // reset; the work is in work_
      }
      for (const fhir::store::pg::PgNotification& n : received) {
        if (n.channel == "fovea_presence") {
          presence_.Announced(n.payload);
          continue;
        }
        std::optional<Announced> numbers = query ? std::nullopt : ParseAnnouncement(n.payload);
        if (!numbers.has_value()) {
          query = true;  // read the table; what was announced is in it too
          announced.clear();
          continue;
        }
        for (auto& [sid, events] : *numbers) {
          if (!subscribed_.contains(sid)) continue;  // bound later: its count comes from the table
          std::vector<NotificationEvent>& mine = announced[sid];
          for (NotificationEvent& e : events) mine.push_back(std::move(e));
        }
      }
    } else {
      std::unique_lock lock(mu_);
      work_ready_.wait_for(lock, std::chrono::milliseconds(500));
    }
  }
}

std::shared_ptr<const fhir::auth::Principal> WebSocketChannel::Reader(const std::string& json) {
  if (json.empty()) return nullptr;
  std::weak_ptr<const fhir::auth::Principal>& slot = readers_[json];
  if (auto known = slot.lock()) return known;
  auto parsed = ReaderFromJson(json);
  if (!parsed.has_value()) {
    common::LogWarning("websocket: a binding token's reader could not be read; ids only");
    return nullptr;
  }
  auto reader = std::make_shared<const fhir::auth::Principal>(std::move(parsed).value());
  slot = reader;
  return reader;
}

std::shared_ptr<const SubscriptionSpec> WebSocketChannel::CurrentSpec(
    const std::string& id, const std::shared_ptr<const fhir::search::SearchParameterRegistry>& search) {
  auto stored = store_.Read("Subscription", id);
  if (!stored.has_value() || stored->deleted) return nullptr;
  // The entry keeps the parsed spec for the next binds; BindAll drops it if nothing binds.
  Subscribed& known = subscribed_[id];
  if (known.latest != nullptr && known.latest_version == stored->version &&
      known.latest_registry == search.get()) {
    return known.latest;
  }
  auto json_value = common::ParseJson(stored->content);
  if (!json_value.has_value()) return nullptr;
  SpecContext context{topics_, *search, options_.base_url, true};
  auto spec = ParseSubscription(*json_value, context);
  if (!spec.has_value()) return nullptr;
  known.latest = std::make_shared<const SubscriptionSpec>(std::move(spec).value());
  known.latest_version = stored->version;
  known.latest_registry = search.get();
  return known.latest;
}

void WebSocketChannel::BindAll(const std::vector<const Work*>& binds) {
  common::TimePoint now = clock_.Now();
  std::vector<std::string> hashes;
  hashes.reserve(binds.size());
  for (const Work* w : binds) hashes.push_back(BindingTokenHash(w->message.token));
  std::vector<std::string> distinct = hashes;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  auto grants = notifications_.RedeemBindingTokens(distinct, now);
  if (!grants.has_value()) {
    for (const Work* w : binds) {
      loop_.SendText(w->connection, ErrorMessage("The binding token cannot be checked now; bind again"));
    }
    return;
  }
  std::vector<std::string> ids;
  for (const auto& [hash, grant] : *grants) {
    ids.insert(ids.end(), grant.subscription_ids.begin(), grant.subscription_ids.end());
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto counts = notifications_.EventCounts(ids);
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  std::map<std::string, std::shared_ptr<const SubscriptionSpec>> specs;  // null: not bindable
  if (counts.has_value()) {
    for (const std::string& sid : ids) specs.emplace(sid, CurrentSpec(sid, search));
  }
  // Handshakes are the same bytes for every socket bound to one version at one count.
  std::map<std::pair<const SubscriptionSpec*, std::int64_t>, std::string> handshakes;
  auto handshake = [&](const std::string& sid, const Binding& b) -> const std::string& {
    auto [it, fresh] = handshakes.try_emplace({b.spec.get(), b.sent});
    if (fresh) it->second = Frame(sid, *b.spec, NotificationType::kHandshake, b.sent, {}, PayloadContent::kIdOnly);
    return it->second;
  };
  for (std::size_t i = 0; i < binds.size(); ++i) {
    ConnectionId id = binds[i]->connection;
    auto grant = grants->find(hashes[i]);
    if (grant == grants->end()) {
      loop_.SendText(id, ErrorMessage("The binding token is unknown or has expired"));
      continue;
    }
    if (!counts.has_value()) {
      loop_.SendText(id, ErrorMessage("The subscriptions cannot be read now; bind again"));
      continue;
    }
    std::shared_ptr<const fhir::auth::Principal> reader = Reader(grant->second.reader);
    tokens_[id][hashes[i]] = grant->second.subscription_ids;
    for (const std::string& sid : grant->second.subscription_ids) {
      const std::shared_ptr<const SubscriptionSpec>& spec = specs[sid];
      if (spec == nullptr) continue;
      Subscribed& subscribed = subscribed_[sid];
      auto [it, inserted] = subscribed.sockets.try_emplace(id);
      Binding& b = it->second;
      b.reader = reader;
      b.reader_until = grant->second.expires;
      if (!inserted) {
        // Bound again with a fresh token (@medplum/core does so before its token expires): the
        // new token vouches for the reader from now on, and the client gets its handshake again
        // (Medplum's client waits for it to consider the subscription refreshed).
        loop_.SendText(id, handshake(sid, b));
        continue;
      }
      b.spec = spec;
      auto count = counts->find(sid);
      b.sent = count != counts->end() ? count->second : 0;
      b.json = binds[i]->message.json;
      b.last_frame = now;
      loop_.SendText(id, handshake(sid, b));
    }
  }
  std::erase_if(subscribed_, [](const auto& entry) { return entry.second.sockets.empty(); });
  if (readers_.size() > readers_purge_at_) {
    std::erase_if(readers_, [](const auto& entry) { return entry.second.expired(); });
    readers_purge_at_ = std::max<std::size_t>(64, readers_.size() * 2);
  }
}

std::string WebSocketChannel::Frame(const std::string& id, const SubscriptionSpec& spec,
                                    NotificationType type, std::int64_t events_since_start,
                                    const std::vector<NotificationEvent>& events,
                                    PayloadContent content) const {
  SubscriptionStatus status{id, spec.status, spec.topic_based() ? spec.topic->url : "",
                            events_since_start, ""};
  if (spec.topic_based()) {
    return NotificationBundleJson(status, type, events, content, options_.base_url, clock_.Now());
  }
  return MedplumNotificationBundleJson(status, type, events, content, options_.base_url, clock_.Now());
}

PayloadContent WebSocketChannel::ContentFor(const Binding& b, common::TimePoint now) const {
  // Full resources only while the binding token vouches for a reader, and only those it may
  // read (the others go id-only, as $events does); else ids (the client reads what it may).
  if (b.spec->content == PayloadContent::kFullResource && (b.reader == nullptr || now >= b.reader_until)) {
    return PayloadContent::kIdOnly;
  }
  return b.spec->content;
}

void WebSocketChannel::KeepReadable(const fhir::auth::Principal& reader,
                                    std::vector<NotificationEvent>& events) const {
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  fhir::rest::AccessControl access(reader, fhir::definitions::Definitions::R4(), search.get());
  subscriptions::KeepReadable(events, access);
}

void WebSocketChannel::AttachContextOnce(const SubscriptionSpec& spec,
                                         std::vector<NotificationEvent>& events,
                                         const fhir::search::SearchParameterRegistry& search,
                                         bool with_content, ContextCache& cache) const {
  if (!spec.topic_based()) return;
  for (NotificationEvent& e : events) {
    e.context.clear();
    if (!HasShapeIncludes(spec, e.type)) continue;
    ContextKey key{spec.topic, e.type, e.id, e.version, with_content};
    auto known = cache.find(key);
    if (known == cache.end()) {
      std::vector<NotificationEvent> one{e};
      AttachContext(spec, one, search, store_, with_content);
      known = cache.emplace(std::move(key), std::move(one.front().context)).first;
    }
    e.context = known->second;
  }
}

PresenceTracker::Following WebSocketChannel::FollowedBy(ConnectionId id) const {
  PresenceTracker::Following following;
  auto socket = tokens_.find(id);
  if (socket == tokens_.end()) return following;
  for (const auto& [hash, sids] : socket->second) {
    for (const std::string& sid : sids) {
      auto subscribed = subscribed_.find(sid);
      if (subscribed == subscribed_.end()) continue;
      auto binding = subscribed->second.sockets.find(id);
      if (binding == subscribed->second.sockets.end()) continue;
      if (binding->second.reader == nullptr) continue;
      std::optional<StaffMember> staff = StaffOf(*binding->second.reader);
      if (!staff.has_value()) continue;
      std::optional<std::string> session = SessionOfSubscription(*binding->second.spec, options_.base_url);
      if (session.has_value()) following.try_emplace(*session, std::move(*staff));
    }
  }
  return following;
}

void WebSocketChannel::Unbind(ConnectionId id, const std::string& token) {
  auto socket = tokens_.find(id);
  if (socket == tokens_.end()) return;
  auto covered = socket->second.find(BindingTokenHash(token));
  if (covered == socket->second.end()) return;
  for (const std::string& sid : covered->second) {
    auto subscribed = subscribed_.find(sid);
    if (subscribed == subscribed_.end()) continue;
    subscribed->second.sockets.erase(id);
    if (subscribed->second.sockets.empty()) subscribed_.erase(subscribed);
  }
  socket->second.erase(covered);
}

void WebSocketChannel::Drop(ConnectionId id) {
  auto socket = tokens_.find(id);
  if (socket == tokens_.end()) return;
  for (const auto& [hash, sids] : socket->second) {
    for (const std::string& sid : sids) {
      auto subscribed = subscribed_.find(sid);
      if (subscribed == subscribed_.end()) continue;
      subscribed->second.sockets.erase(id);
      if (subscribed->second.sockets.empty()) subscribed_.erase(subscribed);
    }
  }
  tokens_.erase(socket);
}

// One round. Without announcements: the counts of every bound subscription (one query) and
// the new events of those that have any (one query). With them (the numbers the matcher's
// NOTIFY carried): no query for a subscription whose every binding can continue from the
// announced numbers without a gap and needs no stored content; the others, as above, in one
// query. Then per subscription the bindings that get the same bytes form a group: the same
// spec (version) and content, and for full resources the same reader (the content is filtered
// by what that reader may read; KeepReadable). Each group's frames are built once and sent to
// each of its sockets, event by event, from where that socket is.
bool WebSocketChannel::DeliverNew(const Announced* announced) {
  common::TimePoint now = clock_.Now();
  std::map<std::string, EventRange> ranges;  // every subscription with something new
  std::map<std::string, EventRange> queried;  // those read from the table
  std::map<std::string, std::vector<NotificationEvent>> fetched;
  if (announced == nullptr) {
    std::vector<std::string> ids;
    ids.reserve(subscribed_.size());
    for (const auto& [sid, subscribed] : subscribed_) ids.push_back(sid);
    auto counts = notifications_.EventCounts(ids);
    if (!counts.has_value()) return true;  // the database is away: try again on the next round
    for (const auto& [sid, subscribed] : subscribed_) {
      auto count = counts->find(sid);
      if (count == counts->end()) continue;
      EventRange range{std::numeric_limits<std::int64_t>::max(), count->second, false};
      for (const auto& [connection, b] : subscribed.sockets) {
        if (b.sent >= count->second) continue;
        range.since = std::min(range.since, b.sent + 1);
        range.with_content = range.with_content || NeedsEventContent(*b.spec, ContentFor(b, now));
      }
      if (range.since <= range.until) ranges.emplace(sid, range);
    }
    queried = ranges;
  } else {
    std::vector<std::string> with_content;
    for (const auto& [sid, events] : *announced) {
      auto subscribed = subscribed_.find(sid);
      if (subscribed == subscribed_.end() || events.empty()) continue;
      std::int64_t first = events.front().number;
      std::int64_t last = events.back().number;
      for (const NotificationEvent& e : events) {
        first = std::min(first, e.number);
        last = std::max(last, e.number);
      }
      EventRange range{std::numeric_limits<std::int64_t>::max(), last, false};
      bool complete = true;  // every binding continues from what was announced
      for (const auto& [connection, b] : subscribed->second.sockets) {
        if (b.sent >= last) continue;
        range.since = std::min(range.since, b.sent + 1);
        range.with_content = range.with_content || NeedsEventContent(*b.spec, ContentFor(b, now));
      }
      if (range.since > range.until) continue;
      // Numbers below the first announced (a binding behind, or announcements missed) are in
      // the table only.
      if (range.since < first) complete = false;
      ranges.emplace(sid, range);
      if (!complete) {
        queried.emplace(sid, range);
        continue;
      }
      if (range.with_content) with_content.push_back(sid);
      std::vector<NotificationEvent>& mine = fetched[sid];
      for (const NotificationEvent& e : events) {
        if (e.number >= range.since) mine.push_back(e);
      }
      std::sort(mine.begin(), mine.end(), [](const NotificationEvent& a, const NotificationEvent& b) {
        return a.number < b.number;
      });
      // Announced twice (never expected): once is enough.
      mine.erase(std::unique(mine.begin(), mine.end(),
                             [](const NotificationEvent& a, const NotificationEvent& b) { return a.number == b.number; }),
                 mine.end());
    }
    // The stored versions those need (to send, or to find what the topic includes): read once
    // per version for every subscription that announced it, as EventsOf would have joined them.
    std::map<std::tuple<std::string, std::string, int>, std::string> contents;
    for (const std::string& sid : with_content) {
      for (NotificationEvent& e : fetched[sid]) {
        auto [known, fresh] = contents.try_emplace({e.type, e.id, e.version});
        // This process's matcher usually has just read it.
        std::optional<std::string> recent;
        if (fresh && options_.recent_versions) recent = options_.recent_versions->Get(e.type, e.id, e.version);
        if (recent) {
          known->second = std::move(*recent);
        } else if (fresh) {
          auto stored = store_.ReadVersion(e.type, e.id, e.version);
          if (stored.has_value()) {
            known->second = stored->content;
          } else if (stored.error().code() != common::StatusCode::kNotFound) {
            return true;  // the database is away: the next round reads the table
          }
        }
        e.content = known->second;
      }
    }
  }
  if (ranges.empty()) return false;
  if (!queried.empty()) {
    auto read = notifications_.EventsOf(queried, kEventsPerRound);
    if (!read.has_value()) return true;
    for (auto& [sid, events] : *read) fetched[sid] = std::move(events);
  }
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  ContextCache contexts;
  bool more = false;
  struct Member {
    ConnectionId connection;
    Binding* binding;
  };
  // The round's frames go to the socket loop in batches (SocketLoop::SendTexts): one lock and one
  // wake-up of its thread per batch, not per frame. A binding's `sent` moves when its frame is
  // queued; a frame refused (the socket closed or cut off) leaves it where it was, and so do the
  // later frames for that socket, which are refused too.
  struct Queued {
    Binding* binding;
    std::int64_t number;
  };
  std::deque<std::string> frames;  // what `outgoing` points into
  std::vector<websocket::SocketLoop::Outgoing> outgoing;
  std::vector<Queued> queued;
  std::size_t queued_bytes = 0;
  std::vector<bool> accepted;
  auto flush = [&] {
    if (outgoing.empty()) return;
    loop_.SendTexts(outgoing, accepted);
    for (std::size_t i = 0; i < queued.size(); ++i) {
      if (!accepted[i]) continue;
      queued[i].binding->sent = std::max(queued[i].binding->sent, queued[i].number);
      queued[i].binding->last_frame = now;
    }
    outgoing.clear();
    queued.clear();
    frames.clear();
    queued_bytes = 0;
  };
  using GroupKey = std::tuple<const SubscriptionSpec*, PayloadContent, const fhir::auth::Principal*>;
  // An event goes to many subscriptions of one topic: what its Bundle holds that is the same for
  // them all is formatted once per round (the reader: full resources are filtered per reader).
  using PartsKey = std::tuple<const Topic*, std::string, std::string, int, PayloadContent,
                              const fhir::auth::Principal*>;
  std::map<PartsKey, SharedEventParts> shared_parts;
  const std::string sent_at = common::FormatInstant(now);
  auto event_frame = [&](const std::string& sid, const SubscriptionSpec& spec, const NotificationEvent& e,
                         PayloadContent content, const fhir::auth::Principal* reader) {
    if (!spec.topic_based()) return Frame(sid, spec, NotificationType::kEventNotification, e.number, {e}, content);
    auto [parts, fresh] = shared_parts.try_emplace({spec.topic, e.type, e.id, e.version, content, reader});
    if (fresh) parts->second = SharedPartsOf(e, content, options_.base_url);
    SubscriptionStatus status{sid, spec.status, spec.topic->url, e.number, ""};
    return EventNotificationBundleJson(status, NotificationType::kEventNotification, e.number, parts->second,
                                       content, options_.base_url, sent_at);
  };
  for (auto& [sid, events] : fetched) {
    if (events.empty()) continue;
    const EventRange& range = ranges.at(sid);
    std::map<GroupKey, std::vector<Member>> groups;
    for (auto& [connection, b] : subscribed_.at(sid).sockets) {
      if (b.sent >= range.until) continue;
      PayloadContent content = ContentFor(b, now);
      const fhir::auth::Principal* reader = content == PayloadContent::kFullResource ? b.reader.get() : nullptr;
      groups[{b.spec.get(), content, reader}].push_back({connection, &b});
    }
    for (auto& [key, members] : groups) {
      const SubscriptionSpec& spec = *std::get<0>(key);
      PayloadContent content = std::get<1>(key);
      std::vector<NotificationEvent> mine = events;
      AttachContextOnce(spec, mine, *search, content == PayloadContent::kFullResource, contexts);
      if (content == PayloadContent::kFullResource) KeepReadable(*std::get<2>(key), mine);
      for (const NotificationEvent& e : mine) {
        const std::string* frame = nullptr;  // built when the first socket needs it
        for (const Member& m : members) {
          if (m.binding->sent >= e.number) continue;
          if (frame == nullptr) {
            frame = &frames.emplace_back(event_frame(sid, spec, e, content, std::get<2>(key)));
            queued_bytes += frame->size();
          }
          outgoing.push_back({m.connection, *frame});
          queued.push_back({m.binding, e.number});
        }
        if (queued_bytes >= kHandOffBytes) flush();
      }
    }
    // Trimmed by retention below the first number asked for is not "more": only a full round
    // read from the table is.
    if (queried.contains(sid) && events.size() == kEventsPerRound && events.back().number < range.until) {
      more = true;
    }
  }
  flush();
  return more;
}

void WebSocketChannel::SendHeartbeats() {
  common::TimePoint now = clock_.Now();
  for (auto& [sid, subscribed] : subscribed_) {
    for (auto& [connection, b] : subscribed.sockets) {
      if (b.spec->heartbeat_seconds <= 0) continue;
      if (now - b.last_frame < std::chrono::seconds(b.spec->heartbeat_seconds)) continue;
      loop_.SendText(connection, Frame(sid, *b.spec, NotificationType::kHeartbeat, b.sent, {}, PayloadContent::kIdOnly));
      b.last_frame = now;
    }
  }
}

}  // namespace subscriptions
