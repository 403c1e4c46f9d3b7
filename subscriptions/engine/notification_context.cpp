#include "subscriptions/engine/notification_context.h"

#include <algorithm>

#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/search/index_extractor.h"

namespace subscriptions {
namespace {

// "Task:encounter" or "Task:subject:Patient" → (parameter, target type or empty), for `type`.
bool ParseInclude(const std::string& include, const std::string& type, std::string& param,
                  std::string& target) {
  std::size_t first = include.find(':');
  if (first == std::string::npos || include.compare(0, first, type) != 0) return false;
  std::size_t second = include.find(':', first + 1);
  param = include.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
  target = second == std::string::npos ? "" : include.substr(second + 1);
  return !param.empty();
}

const NotificationShape* ShapeFor(const Topic& topic, const std::string& type) {
  for (const NotificationShape& s : topic.shapes) {
    if (s.resource == type && !s.includes.empty()) return &s;
  }
  return nullptr;
}

}  // namespace

bool HasShapeIncludes(const SubscriptionSpec& spec, const std::string& type) {
  return spec.topic_based() && spec.content != PayloadContent::kEmpty &&
         ShapeFor(*spec.topic, type) != nullptr;
}

bool HasShapeIncludes(const SubscriptionSpec& spec) {
  if (!spec.topic_based() || spec.content == PayloadContent::kEmpty) return false;
  return std::any_of(spec.topic->shapes.begin(), spec.topic->shapes.end(),
                     [](const NotificationShape& s) { return !s.includes.empty(); });
}

std::vector<std::pair<std::string, std::string>> ShapeIncludes(
    const Topic& topic, const std::string& type, std::string_view resource_json,
    const fhir::search::SearchParameterRegistry& search) {
  std::vector<std::pair<std::string, std::string>> out;
  const NotificationShape* shape = ShapeFor(topic, type);
  if (shape == nullptr || resource_json.empty()) return out;
  fhir::model::OperationOutcomeSink issues;
  auto tree = fhir::format::ParseResourceJson(resource_json, fhir::definitions::Definitions::R4(), issues);
  if (!tree.has_value()) return out;
  fhir::search::IndexRows rows = fhir::search::ExtractIndex(*tree, search);
  for (const std::string& include : shape->includes) {
    std::string param;
    std::string target;
    if (!ParseInclude(include, type, param, target)) continue;
    for (const fhir::search::ReferenceRow& r : rows.references) {
      if (r.param != param || r.target_type.empty() || r.target_id.empty()) continue;
      if (!target.empty() && r.target_type != target) continue;
      std::pair<std::string, std::string> ref{r.target_type, r.target_id};
      if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
    }
  }
  return out;
}

bool NeedsEventContent(const SubscriptionSpec& spec, PayloadContent content) {
  if (content == PayloadContent::kEmpty) return false;
  return content == PayloadContent::kFullResource || HasShapeIncludes(spec);
}

void KeepReadable(std::vector<NotificationEvent>& events, const fhir::rest::AccessControl& access) {
  auto readable = [&](const std::string& type, const std::string& content) {
    return access.ReachFor(type, fhir::auth::Permission::kRead) == fhir::auth::Reach::kAll ||
           access.MayAccess(type, fhir::auth::Permission::kRead, content);
  };
  for (NotificationEvent& e : events) {
    if (!e.content.empty() && !readable(e.type, e.content)) e.content.clear();
    for (ContextResource& c : e.context) {
      if (!c.content.empty() && !readable(c.type, c.content)) c.content.clear();
    }
  }
}

void AttachContext(const SubscriptionSpec& spec, std::vector<NotificationEvent>& events,
                   const fhir::search::SearchParameterRegistry& search,
                   fhir::store::ResourceStore& store, bool with_content) {
  if (!spec.topic_based()) return;
  for (NotificationEvent& e : events) {
    e.context.clear();
    if (!HasShapeIncludes(spec, e.type)) continue;
    for (auto& [type, id] : ShapeIncludes(*spec.topic, e.type, e.content, search)) {
      ContextResource c{type, id, ""};
      if (with_content) {
        auto current = store.Read(type, id);
        if (!current.has_value() || current->deleted) continue;
        c.content = std::move(current->content);
      } else {
        auto head = store.Head(type, id);
        if (!head.has_value() || head->deleted) continue;
      }
      e.context.push_back(std::move(c));
    }
  }
}

}  // namespace subscriptions
