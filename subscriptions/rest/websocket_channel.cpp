#include "subscriptions/rest/websocket_channel.h"

#include <algorithm>

#include "common/json.h"
#include "common/log.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/access_control.h"
#include "fhir/store/pg/connection.h"
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
// Events fetched per subscription per round; the rest follow in the next round.
constexpr std::size_t kEventsPerRound = 200;

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
            options_.sockets) {}

WebSocketChannel::~WebSocketChannel() { Stop(); }

common::Status WebSocketChannel::Start() {
  FOVEA_RETURN_IF_ERROR(loop_.Start());
  dispatcher_ = std::thread([this] { Dispatch(); });
  return common::Status::Ok();
}

void WebSocketChannel::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_ready_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
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
}

void WebSocketChannel::OnClose(ConnectionId id) {
  {
    std::lock_guard lock(mu_);
    work_.push_back({id, {}, true});
  }
  work_ready_.notify_all();
}

void WebSocketChannel::Dispatch() {
  std::unique_ptr<fhir::store::pg::PgConnection> listener;
  // Whether notification rows may have been committed since the last delivery round: set by
  // NOTIFY, and after (re)connecting the listener (notifications may have been missed).
  bool notified = false;
  for (;;) {
    std::deque<Work> work;
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
      work.swap(work_);
    }
    for (const Work& w : work) {
      if (w.closed) {
        std::erase_if(bindings_, [&](const Binding& b) { return b.connection == w.connection; });
        tokens_.erase(w.connection);
        continue;
      }
      const ClientMessage& m = w.message;
      if (m.kind == ClientMessage::Kind::kBind) Bind(w.connection, m.token, m.json);
      if (m.kind == ClientMessage::Kind::kUnbind) Unbind(w.connection, m.token);
    }
    if (listener == nullptr || !listener->healthy()) {
      auto connected = fhir::store::pg::PgConnection::Connect(options_.dsn);
      if (connected.has_value() && (*connected)->ExecuteUnprepared(kListen, {}).has_value()) {
        listener = std::move(connected).value();
        notified = true;
      } else {
        listener.reset();
      }
    }
    // The database is asked only when something was committed (or the listener was away).
    bool more = false;
    if (!bindings_.empty()) {
      more = (notified || listener == nullptr) && DeliverNew();
      SendHeartbeats();
    }
    notified = more;
    if (listener != nullptr) {
      // Woken by committed notifications; also every 50 ms for binds and heartbeats.
      auto woke = listener->WaitForNotification(more ? std::chrono::milliseconds(0)
                                                     : std::chrono::milliseconds(50));
      if (!woke.has_value()) {
        listener.reset();
      } else {
        notified = more || *woke;
      }
    } else {
      std::unique_lock lock(mu_);
      work_ready_.wait_for(lock, std::chrono::milliseconds(500));
    }
  }
}

void WebSocketChannel::Bind(ConnectionId id, const std::string& token, bool json) {
  std::string hash = BindingTokenHash(token);
  auto grant = notifications_.RedeemBindingToken(hash, clock_.Now());
  if (!grant.has_value()) {
    loop_.SendText(id, ErrorMessage(grant.error().message()));
    return;
  }
  const std::vector<std::string>& ids = grant->subscription_ids;
  auto counts = notifications_.EventCounts(ids);
  if (!counts.has_value()) {
    loop_.SendText(id, ErrorMessage("The subscriptions cannot be read now; bind again"));
    return;
  }
  std::shared_ptr<const fhir::auth::Principal> reader;
  if (!grant->reader.empty()) {
    auto parsed = ReaderFromJson(grant->reader);
    if (parsed.has_value()) {
      reader = std::make_shared<const fhir::auth::Principal>(std::move(parsed).value());
    } else {
      common::LogWarning("websocket: a binding token's reader could not be read; ids only");
    }
  }
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  SpecContext context{topics_, *search, options_.base_url, true};
  tokens_[id][hash] = ids;
  for (const std::string& sid : ids) {
    auto stored = store_.Read("Subscription", sid);
    if (!stored.has_value() || stored->deleted) continue;
    auto json_value = common::ParseJson(stored->content);
    if (!json_value.has_value()) continue;
    auto spec = ParseSubscription(*json_value, context);
    if (!spec.has_value()) continue;
    auto already = std::find_if(bindings_.begin(), bindings_.end(), [&](const Binding& b) {
      return b.connection == id && b.subscription == sid;
    });
    if (already != bindings_.end()) {
      // Bound again with a fresh token (@medplum/core does so before its token expires): the
      // new token vouches for the reader from now on, and the client gets its handshake again
      // (Medplum's client waits for it to consider the subscription refreshed).
      already->reader = reader;
      already->reader_until = grant->expires;
      loop_.SendText(id, Frame(*already, NotificationType::kHandshake, already->sent, {},
                               PayloadContent::kIdOnly));
      continue;
    }
    Binding b;
    b.connection = id;
    b.subscription = sid;
    b.spec = std::make_shared<const SubscriptionSpec>(std::move(spec).value());
    b.sent = counts->count(sid) != 0 ? counts->at(sid) : 0;
    b.json = json;
    b.last_frame = clock_.Now();
    b.reader = reader;
    b.reader_until = grant->expires;
    loop_.SendText(id, Frame(b, NotificationType::kHandshake, b.sent, {}, PayloadContent::kIdOnly));
    bindings_.push_back(std::move(b));
  }
}

std::string WebSocketChannel::Frame(const Binding& b, NotificationType type,
                                    std::int64_t events_since_start,
                                    const std::vector<NotificationEvent>& events,
                                    PayloadContent content) const {
  SubscriptionStatus status{b.subscription, b.spec->status,
                            b.spec->topic_based() ? b.spec->topic->url : "", events_since_start, ""};
  if (b.spec->topic_based()) {
    return NotificationBundleJson(status, type, events, content, options_.base_url, clock_.Now());
  }
  return MedplumNotificationBundleJson(status, type, events, content, options_.base_url, clock_.Now());
}

void WebSocketChannel::KeepReadable(const Binding& b, std::vector<NotificationEvent>& events) const {
  std::shared_ptr<const fhir::search::SearchParameterRegistry> search = search_->Get();
  fhir::rest::AccessControl access(*b.reader, fhir::definitions::Definitions::R4(), search.get());
  subscriptions::KeepReadable(events, access);
}

void WebSocketChannel::Unbind(ConnectionId id, const std::string& token) {
  auto socket = tokens_.find(id);
  if (socket == tokens_.end()) return;
  auto covered = socket->second.find(BindingTokenHash(token));
  if (covered == socket->second.end()) return;
  for (const std::string& sid : covered->second) {
    std::erase_if(bindings_, [&](const Binding& b) { return b.connection == id && b.subscription == sid; });
  }
  socket->second.erase(covered);
}

bool WebSocketChannel::DeliverNew() {
  std::vector<std::string> ids;
  for (const Binding& b : bindings_) ids.push_back(b.subscription);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto counts = notifications_.EventCounts(ids);
  if (!counts.has_value()) return true;  // the database is away: try again on the next round
  bool more = false;
  for (Binding& b : bindings_) {
    auto count = counts->find(b.subscription);
    if (count == counts->end() || count->second <= b.sent) continue;
    // Full resources only while the binding token vouches for a reader, and only those it may
    // read (the others go id-only, as $events does); else ids (the client reads what it may).
    PayloadContent content = b.spec->content;
    if (content == PayloadContent::kFullResource &&
        (b.reader == nullptr || clock_.Now() >= b.reader_until)) {
      content = PayloadContent::kIdOnly;
    }
    auto events = notifications_.Events(b.subscription, b.sent + 1, count->second, kEventsPerRound,
                                        NeedsEventContent(*b.spec, content));
    if (!events.has_value()) {
      more = true;
      continue;
    }
    AttachContext(*b.spec, *events, *search_->Get(), store_, content == PayloadContent::kFullResource);
    if (content == PayloadContent::kFullResource) KeepReadable(b, *events);
    for (const NotificationEvent& e : *events) {
      if (!loop_.SendText(b.connection, Frame(b, NotificationType::kEventNotification, e.number, {e}, content))) {
        break;  // closed (or cut off): OnClose drops the binding
      }
      b.sent = e.number;
      b.last_frame = clock_.Now();
    }
    // Trimmed by retention below b.sent + 1 is not "more": only a full round is.
    if (events->size() == kEventsPerRound && b.sent < count->second) more = true;
  }
  return more;
}

void WebSocketChannel::SendHeartbeats() {
  common::TimePoint now = clock_.Now();
  for (Binding& b : bindings_) {
    if (b.spec->heartbeat_seconds <= 0) continue;
    if (now - b.last_frame < std::chrono::seconds(b.spec->heartbeat_seconds)) continue;
    loop_.SendText(b.connection, Frame(b, NotificationType::kHeartbeat, b.sent, {}, PayloadContent::kIdOnly));
    b.last_frame = now;
  }
}

}  // namespace subscriptions
