#include "server/subscription_stack.h"

namespace server {
namespace {

subscriptions::RestHookOptions RestHookOptionsFrom(const fhir::store::pg::ConnectionPool& pool,
                                                   const SubscriptionSettings& settings) {
  subscriptions::RestHookOptions o;
  o.dsn = pool.dsn();
  o.base_url = settings.base_url;
  o.allow_http_hooks = settings.allow_http_hooks;
  o.workers = settings.rest_hook_workers;
  o.max_attempts = settings.rest_hook_max_attempts;
  o.require_registrant = settings.require_registrant;
  o.audit_observer = settings.audit_observer;
  o.provenance = settings.provenance;
  return o;
}

subscriptions::WebSocketChannelOptions ChannelOptionsFrom(
    const fhir::store::pg::ConnectionPool& pool, const SubscriptionSettings& settings,
    subscriptions::PresenceStore& presence, std::shared_ptr<const subscriptions::RecentVersions> recent) {
  subscriptions::WebSocketChannelOptions o;
  o.dsn = pool.dsn();
  o.base_url = settings.base_url;
  o.presence = &presence;
  o.presence_ttl = settings.presence_ttl;
  o.recent_versions = std::move(recent);
  return o;
}

subscriptions::pg::MatcherOptions MatcherOptionsFrom(const SubscriptionSettings& settings,
                                                     std::shared_ptr<subscriptions::RecentVersions> recent) {
  subscriptions::pg::MatcherOptions o;  // batch size and retry: the defaults
  o.base_url = settings.base_url;
  o.recent_versions = std::move(recent);
  return o;
}

}  // namespace

common::Result<std::unique_ptr<SubscriptionStack>> SubscriptionStack::Open(
    fhir::store::pg::ConnectionPool& pool, std::shared_ptr<fhir::search::LiveRegistry> registry,
    fhir::store::ResourceStore& store, const common::Clock& clock,
    const SubscriptionSettings& settings) {
  FOVEA_ASSIGN_OR_RETURN(const subscriptions::TopicRegistry* topics,
                         subscriptions::TopicRegistry::BuiltIn());
  return std::unique_ptr<SubscriptionStack>(
      new SubscriptionStack(*topics, pool, std::move(registry), store, clock, settings));
}

SubscriptionStack::SubscriptionStack(const subscriptions::TopicRegistry& topics,
                                     fhir::store::pg::ConnectionPool& pool,
                                     std::shared_ptr<fhir::search::LiveRegistry> registry,
                                     fhir::store::ResourceStore& store, const common::Clock& clock,
                                     const SubscriptionSettings& settings)
    : recent_versions_(std::make_shared<subscriptions::RecentVersions>()),
      notifications_(pool),
      presence_(pool),
      api_(topics, registry, store, notifications_, clock,
           {.base_url = settings.base_url, .allow_http_hooks = settings.allow_http_hooks,
            .provenance = settings.provenance}),
      matcher_(pool.dsn(), registry, topics, MatcherOptionsFrom(settings, recent_versions_)),
      channel_(topics, registry, store, notifications_, clock,
               ChannelOptionsFrom(pool, settings, presence_, recent_versions_)),
      rest_hooks_(topics, registry, store, notifications_, clock, RestHookOptionsFrom(pool, settings)) {}

workflow::PresenceLookup SubscriptionStack::PresenceLookup() {
  return [this](const std::string& session)
             -> common::Result<std::vector<std::pair<std::string, common::TimePoint>>> {
    FOVEA_ASSIGN_OR_RETURN(std::vector<subscriptions::PresentStaff> active, presence_.ActiveOn(session));
    std::vector<std::pair<std::string, common::TimePoint>> present;
    present.reserve(active.size());
    for (const subscriptions::PresentStaff& p : active) present.emplace_back(p.staff.reference, p.since);
    return present;
  };
}

common::Status SubscriptionStack::StartChannel(fhir::rest::HttpServer& http) {
  FOVEA_RETURN_IF_ERROR(channel_.Start());
  http.MountUpgrade(subscriptions::kWebSocketPath, channel_.Upgrade());
  return common::Status::Ok();
}

LocalMatcherWake::LocalMatcherWake(fhir::store::pg::PgResourceStore& store,
                                   subscriptions::pg::EventMatcher& matcher)
    : store_(store) {
  store_.SetLocalEventWake([m = &matcher] { return m->WakeIfActive(); });
}

LocalMatcherWake::~LocalMatcherWake() { store_.SetLocalEventWake(nullptr); }

}  // namespace server
