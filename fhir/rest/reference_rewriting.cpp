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

// Replaces attribute values that are exactly a key of `targets`, quoted either way. One pass
// over the narrative with a lookup per attribute value, so the cost does not grow with the
// number of entries in the Bundle.
void RewriteNarrative(std::string& div, const std::unordered_map<std::string, std::string>& targets) {
  if (targets.empty()) return;
  std::string out;
  std::size_t copied = 0;
  for (std::size_t eq = div.find('='); eq != std::string::npos; eq = div.find('=', eq + 1)) {
    if (eq + 1 >= div.size() || (div[eq + 1] != '"' && div[eq + 1] != '\'')) continue;
    std::size_t start = eq + 2;
    std::size_t end = div.find(div[eq + 1], start);
    if (end == std::string::npos) break;
    auto it = targets.find(div.substr(start, end - start));
    if (it != targets.end()) {
      out.append(div, copied, start - copied);
      out += it->second;
      copied = end;
    }
    eq = end;
  }
  if (copied == 0) return;
  out.append(div, copied, std::string::npos);
  div = std::move(out);
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
