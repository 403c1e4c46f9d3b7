#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_SUBSCRIPTION_SPEC_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_SUBSCRIPTION_SPEC_H_

// What one R4 Subscription resource asks for, read and checked once: a topic-based subscription
// of the R4 Backport IG (backport-subscription profile: the topic canonical in `criteria`, filters
// in `backport-filter-criteria`, content, heartbeat, timeout and max-count extensions), or a
// classic R4 subscription whose `criteria` is a search URL. Anything Fovea cannot honour (an
// unknown topic, a filter the topic does not offer or the in-memory matcher cannot evaluate, an
// unsupported channel or payload, an unknown extension) is an error, never silently ignored.
// Thread-compatible value types; parsing is stateless.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/json.h"
#include "common/status.h"
#include "fhir/search/search_parameter.h"
#include "fhir/search/search_query.h"
#include "subscriptions/engine/topics.h"

namespace subscriptions {

// Who registered a subscription, stamped by the server on every write of it (a client's value
// is replaced): a valueString with the writer's access (kind, client, fhirUser, scopes, launch
// patient; subscriptions/rest/subscription_api ReaderJson). A rest-hook sends a resource in
// full only where that access may read it. Absent: written with `--auth off`.
inline constexpr const char* kRegistrantExtension =
    "https://fovea.health/fhir/StructureDefinition/subscription-registrant";

inline constexpr const char* kBackportBase =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";

enum class ChannelType { kRestHook, kWebSocket };
enum class PayloadContent { kEmpty, kIdOnly, kFullResource };

std::string_view PayloadContentCode(PayloadContent c);  // "empty", "id-only", "full-resource"

// The filters that apply to one resource type, ANDed (the same search criteria form as a search).
struct TypeFilter {
  std::string type;
  fhir::search::SearchQuery query;
};

struct SubscriptionSpec {
  std::string id;
  std::string status;                 // requested | active | error | off
  const Topic* topic = nullptr;       // topic-based; null: classic
  std::string criteria;               // the topic URL, or the classic search URL
  std::vector<TypeFilter> filters;    // topic filters per type; classic: its criteria
  std::vector<std::string> filter_texts;  // as the subscriber wrote them (for $status)
  ChannelType channel = ChannelType::kWebSocket;
  std::string endpoint;
  std::vector<std::pair<std::string, std::string>> headers;  // rest-hook channel.header
  std::string payload_mime;           // channel.payload: "application/fhir+json"
  PayloadContent content = PayloadContent::kIdOnly;
  int heartbeat_seconds = 0;          // 0: no heartbeats
  int timeout_seconds = 0;            // 0: the server's default
  int max_count = 0;                  // 0: no limit
  std::optional<common::TimePoint> end;
  std::string registrant;             // kRegistrantExtension's JSON; empty: none

  bool topic_based() const { return topic != nullptr; }
  // The filters for `type`, or null when the subscription does not cover that type at all.
  const TypeFilter* FiltersFor(const std::string& type) const;
};

struct SpecContext {
  const TopicRegistry& topics;
  const fhir::search::SearchParameterRegistry& search;
  std::string base_url;           // this server's FHIR base (absolute local references)
  bool allow_http_hooks = false;  // plain http:// rest-hook endpoints beyond loopback
};

// Reads a Subscription (canonical JSON). kInvalid with a message a person can act on, naming
// the element, for anything unsupported or malformed.
common::Result<SubscriptionSpec> ParseSubscription(const common::JsonValue& subscription,
                                                   const SpecContext& context);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_SUBSCRIPTION_SPEC_H_
