#include "workflow/screening_plan.h"

#include <algorithm>
#include <functional>
#include <set>

std::string_view EmbeddedScreeningPlan();

namespace workflow {
namespace {

using common::JsonValue;

std::string Str(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  return f != nullptr && !f->is_object() && !f->is_array() ? f->scalar() : std::string();
}

// The first coding of a CodeableConcept in `system` (any system when empty).
Coding CodingIn(const JsonValue* cc, std::string_view system) {
  if (cc == nullptr) return {};
  const JsonValue* codings = cc->Find("coding");
  if (codings == nullptr || !codings->is_array()) return {};
  for (const JsonValue& c : codings->items()) {
    if (system.empty() || Str(c, "system") == system) {
      return {Str(c, "system"), Str(c, "code"), Str(c, "display")};
    }
  }
  return {};
}

common::Status Invalid(const std::string& where, const std::string& what) {
  return common::InvalidError("PlanDefinition." + where + ": " + what);
}

}  // namespace

std::string OutputRequirement::Describe() const {
  std::string out = type;
  for (std::size_t i = 0; i < filters.size(); ++i) {
    out += (i == 0 ? " with " : " and ") + filters[i].path + " ";
    for (std::size_t j = 0; j < filters[i].codes.size(); ++j) {
      const Coding& c = filters[i].codes[j];
      out += (j == 0 ? "" : " or ") + c.code + (c.display.empty() ? "" : " (" + c.display + ")");
    }
  }
  return out;
}

const std::string& ScreeningPlan::BuiltInJson() {
  static const std::string json(EmbeddedScreeningPlan());
  return json;
}

common::Result<ScreeningPlan> ScreeningPlan::Parse(const JsonValue& plan) {
  if (Str(plan, "resourceType") != "PlanDefinition") return common::InvalidError("not a PlanDefinition");
  ScreeningPlan out;
  out.url_ = Str(plan, "url");
  out.id_ = Str(plan, "id");
  const JsonValue* actions = plan.Find("action");
  if (actions == nullptr || !actions->is_array() || actions->items().empty()) {
    return Invalid("action", "a screening plan needs at least one action (step)");
  }
  for (std::size_t i = 0; i < actions->items().size(); ++i) {
    const JsonValue& a = actions->items()[i];
    const std::string where = "action[" + std::to_string(i) + "]";
    Step step;
    step.id = Str(a, "id");
    step.title = Str(a, "title");
    if (step.id.empty()) return Invalid(where + ".id", "every step needs an id");
    if (out.Find(step.id) != nullptr) return Invalid(where + ".id", "'" + step.id + "' appears twice");
    if (const JsonValue* codes = a.Find("code"); codes != nullptr && codes->is_array()) {
      for (const JsonValue& c : codes->items()) {
        Coding coding = CodingIn(&c, kStepSystem);
        if (!coding.code.empty()) step.code = coding;
      }
    }
    if (step.code.code.empty()) {
      return Invalid(where + ".code", "a step needs a code in " + std::string(kStepSystem));
    }
    if (const JsonValue* participants = a.Find("participant"); participants != nullptr && participants->is_array()) {
      for (const JsonValue& p : participants->items()) {
        Coding role = CodingIn(p.Find("role"), kRoleSystem);
        if (!role.code.empty()) step.role = role;
      }
    }
    if (step.role.code.empty()) {
      return Invalid(where + ".participant", "a step needs a participant.role in " + std::string(kRoleSystem));
    }
    if (const JsonValue* related = a.Find("relatedAction"); related != nullptr && related->is_array()) {
      for (const JsonValue& r : related->items()) {
        std::string relationship = Str(r, "relationship");
        if (relationship != "after-end" && relationship != "after") {
          return Invalid(where + ".relatedAction", "only after-end is supported, not '" + relationship + "'");
        }
        step.after.push_back(Str(r, "actionId"));
      }
    }
    if (const JsonValue* outputs = a.Find("output"); outputs != nullptr && outputs->is_array()) {
      for (const JsonValue& o : outputs->items()) {
        OutputRequirement req;
        req.type = Str(o, "type");
        if (req.type.empty()) return Invalid(where + ".output.type", "is required");
        if (const JsonValue* filters = o.Find("codeFilter"); filters != nullptr && filters->is_array()) {
          for (const JsonValue& f : filters->items()) {
            CodeFilter filter;
            filter.path = Str(f, "path");
            if (filter.path.empty() || filter.path.find('.') != std::string::npos) {
              return Invalid(where + ".output.codeFilter.path", "must name a top-level element");
            }
            if (const JsonValue* codes = f.Find("code"); codes != nullptr && codes->is_array()) {
              for (const JsonValue& c : codes->items()) filter.codes.push_back({Str(c, "system"), Str(c, "code"), Str(c, "display")});
            }
            if (filter.codes.empty()) return Invalid(where + ".output.codeFilter.code", "is required");
            req.filters.push_back(std::move(filter));
          }
        }
        step.outputs.push_back(std::move(req));
      }
    }
    out.steps_.push_back(std::move(step));
  }
  for (const Step& s : out.steps_) {
    for (const std::string& a : s.after) {
      if (out.Find(a) == nullptr) return Invalid("action", "'" + s.id + "' follows unknown action '" + a + "'");
    }
  }
  // No cycles: a depth-first walk along `after` never comes back to where it started.
  std::set<std::string> done;
  std::function<bool(const Step&, std::set<std::string>&)> acyclic = [&](const Step& s, std::set<std::string>& path) {
    if (done.count(s.id) != 0) return true;
    if (!path.insert(s.id).second) return false;
    for (const std::string& a : s.after) {
      if (!acyclic(*out.Find(a), path)) return false;
    }
    path.erase(s.id);
    done.insert(s.id);
    return true;
  };
  for (const Step& s : out.steps_) {
    std::set<std::string> path;
    if (!acyclic(s, path)) return Invalid("action", "the steps' relatedActions form a cycle through '" + s.id + "'");
  }
  if (out.First().empty()) return Invalid("action", "no step can start a session");
  return out;
}

const Step* ScreeningPlan::Find(std::string_view step_id) const {
  for (const Step& s : steps_) {
    if (s.id == step_id) return &s;
  }
  return nullptr;
}

std::vector<const Step*> ScreeningPlan::Next(std::string_view step_id) const {
  std::vector<const Step*> out;
  for (const Step& s : steps_) {
    if (std::find(s.after.begin(), s.after.end(), step_id) != s.after.end()) out.push_back(&s);
  }
  return out;
}

std::vector<const Step*> ScreeningPlan::First() const {
  std::vector<const Step*> out;
  for (const Step& s : steps_) {
    if (s.after.empty()) out.push_back(&s);
  }
  return out;
}

bool ScreeningPlan::IsLast(std::string_view step_id) const { return Next(step_id).empty(); }

}  // namespace workflow
