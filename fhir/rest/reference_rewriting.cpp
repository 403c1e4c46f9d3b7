#include "fhir/rest/reference_rewriting.h"

#include <string_view>

namespace fhir::rest {

using model::Element;

namespace {

bool IsUriType(std::string_view type) {
  return type == "uri" || type == "url" || type == "canonical";
}

bool IsUrnReference(std::string_view value) {
  return value.substr(0, 9) == "urn:uuid:" || value.substr(0, 8) == "urn:oid:";
}

// Replaces attribute values that are exactly a key of `targets`, quoted either way.
void RewriteNarrative(std::string& div, const std::unordered_map<std::string, std::string>& targets) {
  for (const auto& [from, to] : targets) {
    for (char quote : {'"', '\''}) {
      std::string needle = std::string("=") + quote + from + quote;
      std::string replacement = std::string("=") + quote + to + quote;
      for (std::size_t at = div.find(needle); at != std::string::npos;
           at = div.find(needle, at + replacement.size())) {
        div.replace(at, needle.size(), replacement);
      }
    }
  }
}

template <class Visit>
void Walk(Element& e, const Visit& visit) {
  visit(e);
  for (Element& child : e.children()) Walk(child, visit);
}

}  // namespace

void ForEachReference(Element& resource, const std::function<void(std::string&)>& visit) {
  Walk(resource, [&](Element& e) {
    if (e.type() == nullptr || e.type()->name != "Reference") return;
    Element* reference = e.MutableChild("reference");
    if (reference == nullptr || !reference->has_value()) return;
    std::string value = reference->value();
    visit(value);
    if (value != reference->value()) reference->set_value(std::move(value));
  });
}

std::vector<std::string> RewriteReferences(
    Element& resource, const std::unordered_map<std::string, std::string>& targets) {
  std::vector<std::string> dangling;
  Walk(resource, [&](Element& e) {
    if (e.type() == nullptr) return;
    const std::string& type = e.type()->name;
    if (type == "Reference") {
      Element* reference = e.MutableChild("reference");
      if (reference == nullptr || !reference->has_value()) return;
      auto it = targets.find(reference->value());
      if (it != targets.end()) {
        reference->set_value(it->second);
      } else if (IsUrnReference(reference->value())) {
        dangling.push_back(reference->value());
      }
    } else if (IsUriType(type) && e.has_value()) {
      auto it = targets.find(e.value());
      if (it != targets.end()) e.set_value(it->second);
    } else if (type == "Narrative") {
      Element* div = e.MutableChild("div");
      if (div == nullptr || !div->has_value()) return;
      std::string text = div->value();
      RewriteNarrative(text, targets);
      div->set_value(std::move(text));
    }
  });
  return dangling;
}

bool IsConditionalReference(const std::string& reference, std::string* type,
                            std::string* criteria) {
  std::size_t q = reference.find('?');
  if (q == std::string::npos || q == 0 || reference.find('/') < q) return false;
  for (std::size_t i = 0; i < q; ++i) {
    char c = reference[i];
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!letter) return false;
  }
  if (type != nullptr) *type = reference.substr(0, q);
  if (criteria != nullptr) *criteria = reference.substr(q + 1);
  return true;
}

}  // namespace fhir::rest
