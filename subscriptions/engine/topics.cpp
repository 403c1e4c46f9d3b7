#include "subscriptions/engine/topics.h"

#include <algorithm>

#include "common/json.h"

std::string_view EmbeddedTopics();  // subscriptions/engine/data/topics.json (fovea_embed_file)

namespace subscriptions {

using common::JsonValue;
using common::Result;
using common::Status;

namespace {

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  return f != nullptr && f->is_string() ? f->scalar() : std::string();
}

Result<Interaction> InteractionOf(const std::string& code) {
  if (code == "create") return Interaction::kCreate;
  if (code == "update") return Interaction::kUpdate;
  if (code == "delete") return Interaction::kDelete;
  return common::InvalidError("unknown supportedInteraction '" + code + "'");
}

Result<Topic> TopicFromJson(const JsonValue& json, const std::string& type,
                            const fhir::definitions::Definitions& defs) {
  // The JSON with {type} replaced, re-parsed: templates stay simple data.
  FOVEA_ASSIGN_OR_RETURN(JsonValue t, common::ParseJson(Replace(common::ToJson(json), "{type}", type)));
  Topic topic;
  topic.id = Str(t, "id");
  topic.url = kTopicBase + topic.id;
  topic.title = Str(t, "title");
  topic.description = Str(t, "description");
  const JsonValue* any = t.Find("anySearchParameter");
  topic.any_search_parameter = any != nullptr && any->bool_value();
  if (const JsonValue* triggers = t.Find("resourceTrigger"); triggers != nullptr) {
    for (const JsonValue& tr : triggers->items()) {
      ResourceTrigger trigger;
      trigger.resource = Str(tr, "resource");
      if (defs.FindResource(trigger.resource) == nullptr) {
        return common::InvalidError("topic " + topic.id + ": unknown resource " + trigger.resource);
      }
      if (const JsonValue* list = tr.Find("supportedInteraction"); list != nullptr) {
        for (const JsonValue& code : list->items()) {
          FOVEA_ASSIGN_OR_RETURN(Interaction i, InteractionOf(code.scalar()));
          trigger.interactions.push_back(i);
        }
      }
      trigger.fhirpath_text = Str(tr, "fhirPathCriteria");
      if (!trigger.fhirpath_text.empty()) {
        FOVEA_ASSIGN_OR_RETURN(trigger.fhirpath, fhir::fhirpath::Compile(trigger.fhirpath_text));
      }
      topic.triggers.push_back(std::move(trigger));
    }
  }
  if (const JsonValue* filters = t.Find("canFilterBy"); filters != nullptr) {
    for (const JsonValue& f : filters->items()) {
      TopicFilter filter;
      filter.parameter = Str(f, "filterParameter");
      filter.resource = Str(f, "resource");
      if (const JsonValue* map = f.Find("searchParameter"); map != nullptr) {
        for (const auto& [resource, code] : map->members()) filter.search_parameter[resource] = code.scalar();
      }
      topic.filters.push_back(std::move(filter));
    }
  }
  if (const JsonValue* shapes = t.Find("notificationShape"); shapes != nullptr) {
    for (const JsonValue& s : shapes->items()) {
      NotificationShape shape;
      shape.resource = Str(s, "resource");
      if (const JsonValue* includes = s.Find("include"); includes != nullptr) {
        for (const JsonValue& i : includes->items()) shape.includes.push_back(i.scalar());
      }
      topic.shapes.push_back(std::move(shape));
    }
  }
  if (topic.id.empty() || topic.triggers.empty()) {
    return common::InvalidError("a topic needs an id and at least one resourceTrigger");
  }
  return topic;
}

}  // namespace

std::string TopicFilter::SearchParameterFor(const std::string& type) const {
  auto it = search_parameter.find(type);
  return it != search_parameter.end() ? it->second : parameter;
}

const ResourceTrigger* Topic::TriggerFor(const std::string& type) const {
  for (const ResourceTrigger& t : triggers) {
    if (t.resource == type) return &t;
  }
  return nullptr;
}

std::optional<std::string> Topic::FilterParameterFor(const std::string& parameter,
                                                     const std::string& type) const {
  for (const TopicFilter& f : filters) {
    if (f.parameter == parameter && (f.resource.empty() || f.resource == type)) {
      return f.SearchParameterFor(type);
    }
  }
  if (any_search_parameter && TriggerFor(type) != nullptr) return parameter;
  return std::nullopt;
}

Result<std::unique_ptr<TopicRegistry>> TopicRegistry::FromJson(
    std::string_view json, const fhir::definitions::Definitions& defs) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue doc, common::ParseJson(json));
  const JsonValue* list = doc.Find("topics");
  if (list == nullptr || !list->is_array()) return common::InvalidError("topics.json has no topics");
  auto registry = std::make_unique<TopicRegistry>();
  for (const JsonValue& t : list->items()) {
    const JsonValue* each = t.Find("eachResourceType");
    if (each != nullptr && each->bool_value()) {
      for (const std::string& type : defs.resource_names()) {
        FOVEA_ASSIGN_OR_RETURN(Topic topic, TopicFromJson(t, type, defs));
        registry->topics_.push_back(std::move(topic));
      }
    } else {
      FOVEA_ASSIGN_OR_RETURN(Topic topic, TopicFromJson(t, "", defs));
      registry->topics_.push_back(std::move(topic));
    }
  }
  return registry;
}

Result<const TopicRegistry*> TopicRegistry::BuiltIn() {
  static const Result<std::unique_ptr<TopicRegistry>> built =
      FromJson(EmbeddedTopics(), fhir::definitions::Definitions::R4());
  if (!built.has_value()) {
    return Status(common::StatusCode::kInternal, "built-in topics: " + built.error().message());
  }
  return built->get();
}

const Topic* TopicRegistry::Find(std::string_view url) const {
  for (const Topic& t : topics_) {
    if (t.url == url) return &t;
  }
  return nullptr;
}

}  // namespace subscriptions
