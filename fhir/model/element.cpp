#include "fhir/model/element.h"

#include <algorithm>
#include <cctype>

namespace fhir::model {

std::string_view Element::name() const {
  if (def_ != nullptr) return def_->name;
  return type_ != nullptr ? std::string_view(type_->name) : std::string_view();
}

std::string Element::JsonName() const {
  std::string n(name());
  if (def_ != nullptr && def_->choice && type_ != nullptr) {
    std::string suffix = type_->name;
    suffix[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0])));
    n += suffix;
  }
  return n;
}

Element& Element::AddChild(Element child) {
  children_.push_back(std::move(child));
  return children_.back();
}

const Element* Element::Child(std::string_view n) const {
  for (const auto& c : children_) {
    if (c.name() == n) return &c;
  }
  return nullptr;
}

Element* Element::MutableChild(std::string_view n) {
  for (auto& c : children_) {
    if (c.name() == n) return &c;
  }
  return nullptr;
}

Element* Element::ChildOrAdd(std::string_view n) {
  if (Element* existing = MutableChild(n)) return existing;
  return AddRepeat(n);
}

Element* Element::AddRepeat(std::string_view n) {
  if (type_ == nullptr) return nullptr;
  const ElementDef* d = type_->FindElement(n);
  if (d == nullptr || d->types.size() != 1) return nullptr;
  AddChild(Element(d, d->types.front()));
  SortChildren();  // stable: the new repeat stays after the existing ones
  // After sorting, the new child is the last one with this definition.
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    if (it->def_ == d) return &*it;
  }
  return nullptr;
}

void Element::RemoveChildren(std::string_view n) {
  children_.erase(std::remove_if(children_.begin(), children_.end(),
                                 [&](const Element& c) { return c.name() == n; }),
                  children_.end());
}

bool Element::SetPrimitiveChild(std::string_view n, std::string value) {
  if (Element* existing = MutableChild(n)) {
    existing->set_value(std::move(value));
    return true;
  }
  if (type_ == nullptr) return false;
  const ElementDef* d = type_->FindElement(n);
  if (d == nullptr || d->types.size() != 1 || !d->types[0]->is_primitive()) return false;
  Element child(d, d->types[0]);
  child.set_value(std::move(value));
  AddChild(std::move(child));
  SortChildren();
  return true;
}

void Element::SortChildren() {
  auto by_definition = [](const Element& a, const Element& b) {
    int ia = a.def_ != nullptr ? a.def_->index : 0;
    int ib = b.def_ != nullptr ? b.def_->index : 0;
    return ia < ib;
  };
  // Most JSON arrives in definition order already; stable_sort would allocate regardless.
  if (std::is_sorted(children_.begin(), children_.end(), by_definition)) return;
  std::stable_sort(children_.begin(), children_.end(), by_definition);
}

}  // namespace fhir::model
