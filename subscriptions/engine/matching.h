#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_MATCHING_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_MATCHING_H_

// Does one change notify one subscription? The topic's trigger (resource type, interaction,
// fhirPathCriteria over %previous and %current), then the subscription's filters (or a classic
// subscription's criteria) on the version the change produced (on the previous one for a
// delete), evaluated in memory on that version's index rows: never on whatever is current by
// the time the matcher gets to the event. Stateless: thread-safe.

#include <map>
#include <string>

#include "common/clock.h"
#include "fhir/model/element.h"
#include "fhir/search/index_rows.h"
#include "subscriptions/engine/subscription_spec.h"
#include "subscriptions/engine/topics.h"

namespace subscriptions {

// One row of the change log (the `event` table).
struct ChangeEvent {
  std::int64_t seq = 0;
  std::string type;
  std::string id;
  int version = 0;
  Interaction interaction = Interaction::kCreate;
  common::TimePoint at{};
};

Interaction InteractionFromMethod(std::string_view method);  // POST, PUT, DELETE

// A version of the changed resource: its tree and its index rows.
struct VersionView {
  const fhir::model::Element* resource = nullptr;
  const fhir::search::IndexRows* rows = nullptr;
};

// Whether each topic trigger fired for ONE change: the same for every subscription of the
// topic, so the matcher evaluates each trigger's FHIRPath once per event, not once per
// subscription. Use a fresh one for every event.
using TriggerResults = std::map<const ResourceTrigger*, bool>;

// `previous`: the version before the change (absent for a create); `current`: the version it
// made (absent for a delete). `triggers`, if given, keeps the trigger results of this event.
bool Notifies(const SubscriptionSpec& subscription, const ChangeEvent& event,
              const VersionView& previous, const VersionView& current,
              TriggerResults* triggers = nullptr);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_MATCHING_H_
