#include "fhir/validation/validator.h"

#include <algorithm>
#include <vector>

#include "fhir/model/ids.h"
#include "fhir/validation/primitives.h"

namespace fhir::validation {

using model::Element;
using model::ElementDef;
using model::IssueScope;
using model::IssueType;

namespace {

std::string Segment(const Element& e) {
  if (e.def()->choice) return e.def()->name + ".ofType(" + e.type()->name + ")";
  return e.def()->name;
}

void ValidateElement(const Element& e, const IssueScope& at);

void ValidateChildren(const Element& parent, const IssueScope& at) {
  const auto& defs = parent.type()->elements;
  std::vector<int> counts(defs.size(), 0);
  for (const Element& child : parent.children()) {
    const ElementDef* d = child.def();
    int index = counts[static_cast<std::size_t>(d->index)]++;
    IssueScope child_at = d->array ? at.Child(Segment(child), static_cast<std::size_t>(index))
                                   : at.Child(Segment(child));
    ValidateElement(child, child_at);
  }
  for (const ElementDef& d : defs) {
    int n = counts[static_cast<std::size_t>(d.index)];
    if (n < d.min) {
      at.Child(d.name).Error(IssueType::kRequired,
                             "'" + d.name + "' is required (minimum " + std::to_string(d.min) +
                                 ", found " + std::to_string(n) + ")");
    } else if (d.max >= 0 && n > d.max) {
      at.Child(d.name).Error(IssueType::kStructure, "'" + d.name + "' allows at most " +
                                                        std::to_string(d.max) + ", found " +
                                                        std::to_string(n));
    }
  }
}

void ValidatePrimitive(const Element& e, const IssueScope& at) {
  if (!e.has_value()) {
    if (e.children().empty()) {
      at.Error(IssueType::kInvariant, "An element must have a value or children (ele-1)");
    }
    return;
  }
  std::string why;
  if (!IsValidPrimitive(e.type()->name, e.value(), &why)) {
    at.Error(IssueType::kValue, "Invalid " + e.type()->name + ": " + why);
    return;
  }
  const ElementDef* d = e.def();
  if (d != nullptr && d->required_codes != nullptr && e.type()->name == "code" &&
      !std::binary_search(d->required_codes->begin(), d->required_codes->end(), e.value())) {
    std::string allowed;
    std::size_t shown = 0;
    for (const auto& c : *d->required_codes) {
      if (shown++ == 12) {
        allowed += ", ...";
        break;
      }
      allowed += (allowed.empty() ? "" : ", ") + c;
    }
    at.Error(IssueType::kCodeInvalid, "The code '" + e.value() + "' is not in the required value set " +
                                          d->binding_url + " (allowed: " + allowed + ")");
  }
}

void ValidateElement(const Element& e, const IssueScope& at) {
  if (e.is_resource()) {
    ValidateResource(e, at);
    return;
  }
  if (e.type()->is_primitive()) ValidatePrimitive(e, at);
  if (e.children().empty() && !e.type()->is_primitive()) {
    at.Error(IssueType::kInvariant, "An element must have a value or children (ele-1)");
    return;
  }
  ValidateChildren(e, at);
}

}  // namespace

void ValidateResource(const Element& resource, const IssueScope& at) {
  if (const Element* id = resource.Child("id"); id != nullptr && id->has_value() &&
                                                !model::LogicalId::IsValid(id->value())) {
    at.Child("id").Error(IssueType::kValue,
                         "Invalid id: ids are 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'");
  }
  ValidateChildren(resource, at);
}

}  // namespace fhir::validation
