#include "subscriptions/engine/matching.h"

#include <algorithm>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/search/memory_matcher.h"

namespace subscriptions {

namespace {

bool TriggerFires(const ResourceTrigger& trigger, const ChangeEvent& event,
                  const VersionView& previous, const VersionView& current) {
  if (!trigger.interactions.empty() &&
      std::find(trigger.interactions.begin(), trigger.interactions.end(), event.interaction) ==
          trigger.interactions.end()) {
    return false;
  }
  if (trigger.fhirpath == nullptr) return true;
  // %previous is empty on a create, %current on a delete (the spec's convention).
  fhir::fhirpath::EvaluationContext context;
  context.variables["previous"] = {};
  context.variables["current"] = {};
  if (previous.resource != nullptr) {
    context.variables["previous"].push_back(fhir::fhirpath::Value::OfElement(previous.resource));
  }
  if (current.resource != nullptr) {
    context.variables["current"].push_back(fhir::fhirpath::Value::OfElement(current.resource));
  }
  const fhir::model::Element* focus = current.resource != nullptr ? current.resource : previous.resource;
  if (focus == nullptr) return false;
  auto result = fhir::fhirpath::Evaluate(*trigger.fhirpath, *focus, context);
  // An expression that fails on this data does not fire (it is logged by no one: topics are
  // server data, tested with the data they describe).
  return result.has_value() && result->size() == 1 &&
         result->front().kind() == fhir::fhirpath::Value::Kind::kBoolean &&
         result->front().boolean();
}

}  // namespace

Interaction InteractionFromMethod(std::string_view method) {
  if (method == "POST") return Interaction::kCreate;
  if (method == "DELETE") return Interaction::kDelete;
  return Interaction::kUpdate;
}

bool Notifies(const SubscriptionSpec& subscription, const ChangeEvent& event,
              const VersionView& previous, const VersionView& current, TriggerResults* triggers) {
  if (subscription.topic_based()) {
    const ResourceTrigger* trigger = subscription.topic->TriggerFor(event.type);
    if (trigger == nullptr) return false;
    bool fired;
    if (triggers == nullptr) {
      fired = TriggerFires(*trigger, event, previous, current);
    } else {
      auto [known, fresh] = triggers->try_emplace(trigger, false);
      if (fresh) known->second = TriggerFires(*trigger, event, previous, current);
      fired = known->second;
    }
    if (!fired) return false;
  }
  const TypeFilter* filters = subscription.FiltersFor(event.type);
  if (filters == nullptr) return false;
  // Filters look at what the resource is after the change, or was before a delete.
  const VersionView& seen = event.interaction == Interaction::kDelete ? previous : current;
  if (seen.rows == nullptr) return filters->query.clauses.empty();
  return fhir::search::MatchesInMemory(filters->query, event.id, *seen.rows);
}

}  // namespace subscriptions
