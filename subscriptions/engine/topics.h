#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_TOPICS_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_TOPICS_H_

// SubscriptionTopics (hl7.org/fhir/R5/subscriptiontopic.html, as the R4 Backport IG advises R4
// servers to model them): what triggers a notification, which filters a subscriber may use, and
// the notification's shape. Fovea's topics are data (subscriptions/engine/data/topics.json,
// compiled in), canonical https://fovea.health/fhir/SubscriptionTopic/<id>. Immutable after
// loading: thread-safe.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "fhir/definitions/definitions.h"
#include "fhir/fhirpath/fhirpath.h"

namespace subscriptions {

inline constexpr const char* kTopicBase = "https://fovea.health/fhir/SubscriptionTopic/";

enum class Interaction { kCreate, kUpdate, kDelete };

struct ResourceTrigger {
  std::string resource;                   // an R4 resource type
  std::vector<Interaction> interactions;  // empty: all three
  std::string fhirpath_text;              // with %previous and %current; empty: none
  std::shared_ptr<const fhir::fhirpath::Expression> fhirpath;
};

struct TopicFilter {
  std::string parameter;                // filterParameter, as subscribers name it
  std::string resource;                 // empty: every trigger resource
  // The search parameter per resource type, where it is not `parameter` itself.
  std::map<std::string, std::string> search_parameter;
  std::string SearchParameterFor(const std::string& type) const;
};

struct NotificationShape {
  std::string resource;
  std::vector<std::string> includes;  // _include syntax
};

struct Topic {
  std::string id;
  std::string url;  // kTopicBase + id
  std::string title;
  std::string description;
  std::vector<ResourceTrigger> triggers;  // OR-ed
  std::vector<TopicFilter> filters;
  bool any_search_parameter = false;  // every search parameter of the trigger types may filter
  std::vector<NotificationShape> shapes;

  const ResourceTrigger* TriggerFor(const std::string& type) const;
  // The search parameter a filter named `parameter` stands for on `type`; nullopt when the topic
  // offers no such filter for that type.
  std::optional<std::string> FilterParameterFor(const std::string& parameter,
                                                const std::string& type) const;
};

class TopicRegistry {
 public:
  // Fovea's built-in topics, loaded once. kInternal if the compiled-in data is bad (a bug).
  static common::Result<const TopicRegistry*> BuiltIn();
  // From a topics.json document (tests, and topics added as data).
  static common::Result<std::unique_ptr<TopicRegistry>> FromJson(
      std::string_view json, const fhir::definitions::Definitions& defs);

  const Topic* Find(std::string_view url) const;
  const std::vector<Topic>& topics() const { return topics_; }

 private:
  std::vector<Topic> topics_;
};

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_TOPICS_H_
