#include "fhir/patch/fhirpath_patch.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/fhirpath/fhirpath.h"
#include "fhir/validation/primitives.h"

namespace fhir::patch {
namespace {

using common::InvalidError;
using common::Result;
using common::Status;
using model::Element;
using model::ElementDef;
using model::TypeDef;

enum class OpType { kAdd, kInsert, kDelete, kReplace, kMove };

// The parts each operation type takes, all of them required (the table of fhirpatch.html).
struct OpSpec {
  std::string_view name;
  OpType type;
  std::vector<std::string_view> parts;
};

const std::vector<OpSpec>& OpSpecs() {
  static const std::vector<OpSpec> kSpecs = {
      {"add", OpType::kAdd, {"type", "path", "name", "value"}},
      {"insert", OpType::kInsert, {"type", "path", "value", "index"}},
      {"delete", OpType::kDelete, {"type", "path"}},
      {"replace", OpType::kReplace, {"type", "path", "value"}},
      {"move", OpType::kMove, {"type", "path", "source", "destination"}},
  };
  return kSpecs;
}

struct Operation {
  std::string type_name;
  OpType type = OpType::kDelete;
  std::string path;
  std::string name;
  const Element* value = nullptr;  // the `value` part: a value[x], a resource or nested parts
  long long index = 0;
  long long source = 0;
  long long destination = 0;
};

using Parts = std::map<std::string, const Element*, std::less<>>;

// ---- reading an operation from its parameter ----

std::string PartName(const Element& part) {
  const Element* name = part.Child("name");
  return name != nullptr && name->has_value() ? name->value() : std::string();
}

// The lexical value of a part's primitive value[x] (valueString, valueCode, valueInteger...).
Result<std::string> PartText(const Parts& parts, std::string_view name) {
  const Element* value = parts.find(name)->second->Child("value");
  if (value == nullptr || value->type() == nullptr || !value->type()->is_primitive() ||
      !value->has_value()) {
    return InvalidError("part '" + std::string(name) +
                        "' needs a primitive value (valueString...)");
  }
  return value->value();
}

Result<long long> PartInteger(const Parts& parts, std::string_view name) {
  FOVEA_ASSIGN_OR_RETURN(std::string text, PartText(parts, name));
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InvalidError("part '" + std::string(name) + "' must be an integer, not '" + text + "'");
  }
  return n;
}

Result<Parts> CollectParts(const Element& parameter) {
  Parts parts;
  for (const Element& c : parameter.children()) {
    if (c.name() != "part") continue;
    std::string name = PartName(c);
    if (!parts.emplace(name, &c).second) {
      return InvalidError("part '" + name + "' is given more than once");
    }
  }
  return parts;
}

// Checks the parts against the operation type's table: all needed, no others.
Result<const OpSpec*> CheckParts(const Parts& parts) {
  if (parts.find("type") == parts.end()) return InvalidError("the 'type' part is missing");
  FOVEA_ASSIGN_OR_RETURN(std::string type, PartText(parts, "type"));
  auto spec = std::find_if(OpSpecs().begin(), OpSpecs().end(),
                           [&](const OpSpec& s) { return s.name == type; });
  if (spec == OpSpecs().end()) {
    return InvalidError("type '" + type + "' is not one of add, insert, delete, replace, move");
  }
  for (const auto& [name, part] : parts) {
    if (std::find(spec->parts.begin(), spec->parts.end(), name) == spec->parts.end()) {
      return InvalidError("a " + type + " operation takes no '" + name + "' part");
    }
  }
  for (std::string_view needed : spec->parts) {
    if (parts.find(needed) == parts.end()) {
      return InvalidError("a " + type + " operation needs a '" + std::string(needed) + "' part");
    }
  }
  return &*spec;
}

Result<Operation> ReadOperation(const Element& parameter) {
  if (PartName(parameter) != "operation") {
    return InvalidError("parameter '" + PartName(parameter) + "' is not an operation");
  }
  FOVEA_ASSIGN_OR_RETURN(Parts parts, CollectParts(parameter));
  FOVEA_ASSIGN_OR_RETURN(const OpSpec* spec, CheckParts(parts));
  Operation op;
  op.type_name = std::string(spec->name);
  op.type = spec->type;
  FOVEA_ASSIGN_OR_RETURN(op.path, PartText(parts, "path"));
  if (parts.count("name") != 0) {
    FOVEA_ASSIGN_OR_RETURN(op.name, PartText(parts, "name"));
  }
  if (auto it = parts.find("value"); it != parts.end()) op.value = it->second;
  if (parts.count("index") != 0) {
    FOVEA_ASSIGN_OR_RETURN(op.index, PartInteger(parts, "index"));
  }
  if (parts.count("source") != 0) {
    FOVEA_ASSIGN_OR_RETURN(op.source, PartInteger(parts, "source"));
  }
  if (parts.count("destination") != 0) {
    FOVEA_ASSIGN_OR_RETURN(op.destination, PartInteger(parts, "destination"));
  }
  return op;
}

// ---- building the element a value describes ----

// An element definition a value fills; `type` is set when a typed choice name
// ("deceasedBoolean") fixed the type.
struct Slot {
  const ElementDef* def = nullptr;
  const TypeDef* type = nullptr;
};

std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

Result<Slot> FindSlot(const TypeDef& type, std::string_view name) {
  if (const ElementDef* def = type.FindElement(name)) return Slot{def, nullptr};
  for (const ElementDef& def : type.elements) {
    if (!def.choice || name.substr(0, def.name.size()) != def.name) continue;
    for (const TypeDef* t : def.types) {
      if (Capitalized(t->name) == name.substr(def.name.size())) return Slot{&def, t};
    }
  }
  return InvalidError(type.name + " has no element '" + std::string(name) + "'");
}

std::vector<const TypeDef*> SlotTypes(const Slot& slot) {
  if (slot.type != nullptr) return {slot.type};
  return slot.def->types;
}

std::string TypeNames(const std::vector<const TypeDef*>& types) {
  std::string out;
  for (const TypeDef* t : types) out += (out.empty() ? "" : " or ") + t->name;
  return out;
}

// A copy of `src` as an element of `def` with type `type`.
Element Rehomed(const Element& src, const ElementDef* def, const TypeDef* type) {
  Element out(def, type);
  if (src.has_value()) out.set_value(src.value());
  out.children() = src.children();
  return out;
}

// A primitive of another primitive type (valueString for a code, a div for xhtml): allowed
// when the JSON kind is the same and the lexical form is valid for the target type.
Result<Element> ConvertPrimitive(const Element& value, const ElementDef* def, const TypeDef* type,
                                 std::string_view where) {
  std::string why;
  if (value.has_value() && !validation::IsValidPrimitive(type->name, value.value(), &why)) {
    return InvalidError(std::string(where) + " is not a valid " + type->name + ": " + why);
  }
  Element out = Rehomed(value, def, type);
  // id and extension are defined by every primitive type: point them at the target's.
  for (Element& child : out.children()) {
    child = Rehomed(child, type->FindElement(child.name()), child.type());
  }
  return out;
}

Result<Element> FromValueX(const Element& value, const Slot& slot, std::string_view where) {
  std::vector<const TypeDef*> types = SlotTypes(slot);
  const TypeDef* given = value.type();
  for (const TypeDef* t : types) {
    if (t == given) return Rehomed(value, slot.def, t);
  }
  if (types.size() == 1 && types[0]->is_primitive() && given->is_primitive() &&
      types[0]->json_scalar == given->json_scalar) {
    return ConvertPrimitive(value, slot.def, types[0], where);
  }
  return InvalidError(std::string(where) + " must be " + TypeNames(types) + ", not " + given->name);
}

Result<Element> FromResource(const Element& resource, const Slot& slot, std::string_view where) {
  for (const TypeDef* t : SlotTypes(slot)) {
    if (t->is_resource() && (t == resource.type() || t->abstract)) {
      return Rehomed(resource, slot.def, resource.type());
    }
  }
  return InvalidError(std::string(where) + " must be " + TypeNames(SlotTypes(slot)) + ", not a " +
                      resource.type()->name + " resource");
}

Result<Element> BuildValue(const Element& part, const Slot& slot, const std::string& where);

// A complex or backbone element given as parts, one per child ("Add Anonymous Type").
Result<Element> FromParts(const Element& part, const Slot& slot, const std::string& where) {
  std::vector<const TypeDef*> types = SlotTypes(slot);
  if (types.size() != 1 || types[0]->is_primitive() || types[0]->is_resource()) {
    return InvalidError(where + " must be given as a value[x] or resource, not as parts (" +
                        TypeNames(types) + ")");
  }
  const TypeDef& type = *types[0];
  Element out(slot.def, &type);
  for (const Element& child : part.children()) {
    if (child.name() != "part") continue;
    std::string name = PartName(child);
    FOVEA_ASSIGN_OR_RETURN(Slot child_slot, FindSlot(type, name));
    if (!child_slot.def->array && out.Child(child_slot.def->name) != nullptr) {
      return InvalidError(where + "." + name + " is given twice but does not repeat");
    }
    FOVEA_ASSIGN_OR_RETURN(Element built, BuildValue(child, child_slot, where + "." + name));
    out.AddChild(std::move(built));
  }
  out.SortChildren();
  return out;
}

// The element a value part describes, as an element of `slot`. `where` names the part in
// messages ("value", "value.name").
Result<Element> BuildValue(const Element& part, const Slot& slot, const std::string& where) {
  const Element* value = part.Child("value");
  const Element* resource = part.Child("resource");
  const bool has_parts = part.Child("part") != nullptr;
  const int given = (value != nullptr) + (resource != nullptr) + (has_parts ? 1 : 0);
  if (given != 1) {
    return InvalidError(where + " needs exactly one of a value[x], a resource or parts");
  }
  if (value != nullptr) return FromValueX(*value, slot, where);
  if (resource != nullptr) return FromResource(*resource, slot, where);
  return FromParts(part, slot, where);
}

// ---- finding what a path selects ----

// Where an element sits: (parent, index among the parent's children) from the root down.
// Empty for the root itself.
using Chain = std::vector<std::pair<Element*, std::size_t>>;

bool FindChain(Element& node, const Element* target, Chain& chain) {
  for (std::size_t i = 0; i < node.children().size(); ++i) {
    Element& child = node.children()[i];
    chain.emplace_back(&node, i);
    if (&child == target || FindChain(child, target, chain)) return true;
    chain.pop_back();
  }
  return false;
}

struct Target {
  Element* element = nullptr;
  Chain chain;

  Element* parent() const { return chain.empty() ? nullptr : chain.back().first; }
};

// Evaluates the path and maps each result back to its mutable place in `resource`: the
// engine hands out const pointers into the tree we were given mutably, so walking our own
// tree for the same address needs no const_cast.
Result<std::vector<Target>> Select(Element& resource, const std::string& path,
                                   const definitions::Definitions& defs) {
  auto expr = fhirpath::CompileCached(path);
  if (!expr.has_value()) return InvalidError("path: " + expr.error().message());
  fhirpath::EvaluationContext context;
  context.definitions = &defs;
  context.strict = true;
  auto result = fhirpath::Evaluate(**expr, resource, context);
  if (!result.has_value()) return InvalidError("path: " + result.error().message());
  std::vector<Target> targets;
  for (const fhirpath::Value& v : *result) {
    if (v.kind() != fhirpath::Value::Kind::kElement) {
      return InvalidError("the path selects a computed value, not an element");
    }
    Target t;
    if (v.element() == &resource) {
      t.element = &resource;
    } else if (FindChain(resource, v.element(), t.chain)) {
      t.element = &t.parent()->children()[t.chain.back().second];
    } else {
      return InvalidError("the path selects an element outside the resource being patched");
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

Result<Target> SingleTarget(std::vector<Target> targets) {
  if (targets.empty()) {
    return InvalidError("the path selects nothing; exactly one element is needed");
  }
  if (targets.size() > 1) {
    return InvalidError("the path selects " + std::to_string(targets.size()) +
                        " elements; exactly one is needed");
  }
  return std::move(targets.front());
}

// The list a path selects (insert, move): every repeat of one element of one parent.
struct List {
  Element* parent = nullptr;
  const ElementDef* def = nullptr;
  std::size_t first = 0;  // index of the first item among the parent's children
  std::size_t size = 0;
};

Result<List> WholeList(const std::vector<Target>& targets) {
  if (targets.empty()) {
    return InvalidError("the path selects no list; use add to create a list's first item");
  }
  List list{targets[0].parent(), targets[0].element->def(), 0, 0};
  if (list.parent == nullptr) return InvalidError("the path selects the resource, not a list");
  for (const Target& t : targets) {
    if (t.parent() != list.parent || t.element->def() != list.def) {
      return InvalidError("the path selects items of more than one list");
    }
  }
  const auto& children = list.parent->children();
  auto first = std::find_if(children.begin(), children.end(),
                            [&](const Element& c) { return c.def() == list.def; });
  list.first = static_cast<std::size_t>(first - children.begin());
  list.size = static_cast<std::size_t>(std::count_if(
      children.begin(), children.end(), [&](const Element& c) { return c.def() == list.def; }));
  if (list.size != targets.size()) {
    return InvalidError("the path selects " + std::to_string(targets.size()) + " of the " +
                        std::to_string(list.size) + " items of " + list.def->name +
                        "; it must select the whole list");
  }
  return list;
}

Status CheckIndex(std::string_view what, long long index, std::size_t limit) {
  if (index < 0 || static_cast<unsigned long long>(index) > limit) {
    return InvalidError(std::string(what) + " " + std::to_string(index) +
                        " is out of range: it must be 0 to " + std::to_string(limit));
  }
  return Status::Ok();
}

// ---- the operations ----

// Removes the element at the end of `chain`, then any parent that leaves empty.
void RemoveWithEmptyParents(Chain chain) {
  while (!chain.empty()) {
    auto [parent, index] = chain.back();
    parent->children().erase(parent->children().begin() + static_cast<std::ptrdiff_t>(index));
    chain.pop_back();
    if (parent->has_value() || !parent->children().empty()) return;
  }
}

Status Delete(Element& resource, const Operation& op, const definitions::Definitions& defs) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<Target> targets, Select(resource, op.path, defs));
  if (targets.empty()) return Status::Ok();
  if (targets.size() > 1) {
    return InvalidError("the path selects " + std::to_string(targets.size()) +
                        " elements; only a single element can be deleted");
  }
  if (targets[0].chain.empty()) return InvalidError("the resource itself cannot be deleted");
  RemoveWithEmptyParents(std::move(targets[0].chain));
  return Status::Ok();
}

Status Replace(Element& resource, const Operation& op, const definitions::Definitions& defs) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<Target> targets, Select(resource, op.path, defs));
  FOVEA_ASSIGN_OR_RETURN(Target target, SingleTarget(std::move(targets)));
  if (target.chain.empty()) return InvalidError("the resource itself cannot be replaced");
  FOVEA_ASSIGN_OR_RETURN(Element value,
                         BuildValue(*op.value, Slot{target.element->def()}, "value"));
  *target.element = std::move(value);  // same definition: the order of children holds
  return Status::Ok();
}

Status Add(Element& resource, const Operation& op, const definitions::Definitions& defs) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<Target> targets, Select(resource, op.path, defs));
  FOVEA_ASSIGN_OR_RETURN(Target target, SingleTarget(std::move(targets)));
  Element& parent = *target.element;
  FOVEA_ASSIGN_OR_RETURN(Slot slot, FindSlot(*parent.type(), op.name));
  if (!slot.def->array && parent.Child(slot.def->name) != nullptr) {
    return InvalidError(parent.type()->name + "." + slot.def->name +
                        " is already present and does not repeat; use replace");
  }
  FOVEA_ASSIGN_OR_RETURN(Element value, BuildValue(*op.value, slot, "value"));
  parent.AddChild(std::move(value));
  parent.SortChildren();  // stable: the new item follows the existing repeats
  return Status::Ok();
}

Status Insert(Element& resource, const Operation& op, const definitions::Definitions& defs) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<Target> targets, Select(resource, op.path, defs));
  FOVEA_ASSIGN_OR_RETURN(List list, WholeList(targets));
  if (!list.def->array) return InvalidError(list.def->name + " does not repeat");
  FOVEA_RETURN_IF_ERROR(CheckIndex("index", op.index, list.size));
  FOVEA_ASSIGN_OR_RETURN(Element value, BuildValue(*op.value, Slot{list.def}, "value"));
  auto& children = list.parent->children();
  children.insert(children.begin() + static_cast<std::ptrdiff_t>(list.first + op.index),
                  std::move(value));
  return Status::Ok();
}

Status Move(Element& resource, const Operation& op, const definitions::Definitions& defs) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<Target> targets, Select(resource, op.path, defs));
  FOVEA_ASSIGN_OR_RETURN(List list, WholeList(targets));
  FOVEA_RETURN_IF_ERROR(CheckIndex("source", op.source, list.size - 1));
  FOVEA_RETURN_IF_ERROR(CheckIndex("destination", op.destination, list.size - 1));
  auto items = list.parent->children().begin() + static_cast<std::ptrdiff_t>(list.first);
  auto source = items + op.source;
  auto destination = items + op.destination;
  if (source < destination) {
    std::rotate(source, source + 1, destination + 1);
  } else {
    std::rotate(destination, source, source + 1);
  }
  return Status::Ok();
}

Status Apply(Element& resource, const Operation& op, const definitions::Definitions& defs) {
  switch (op.type) {
    case OpType::kAdd:
      return Add(resource, op, defs);
    case OpType::kInsert:
      return Insert(resource, op, defs);
    case OpType::kDelete:
      return Delete(resource, op, defs);
    case OpType::kReplace:
      return Replace(resource, op, defs);
    case OpType::kMove:
      return Move(resource, op, defs);
  }
  return InvalidError("unknown operation type");
}

// One parameter, read and applied; the reasons above get the operation's number and, once
// known, its type and path, so the client can find the culprit.
Status ApplyParameter(Element& resource, const Element& parameter, int number,
                      const definitions::Definitions& defs) {
  std::string label = "FHIRPath Patch operation " + std::to_string(number);
  Result<Operation> op = ReadOperation(parameter);
  if (!op.has_value()) return InvalidError(label + ": " + op.error().message());
  Status st = Apply(resource, *op, defs);
  if (!st.ok()) {
    return InvalidError(label + " (" + op->type_name + " at " + op->path + "): " + st.message());
  }
  return Status::Ok();
}

}  // namespace

Status ApplyFhirPathPatch(Element& resource, const Element& parameters,
                          const definitions::Definitions& defs) {
  if (parameters.type() == nullptr || parameters.type()->name != "Parameters") {
    return InvalidError("a FHIRPath Patch must be a Parameters resource");
  }
  int number = 0;
  for (const Element& parameter : parameters.children()) {
    if (parameter.name() != "parameter") continue;
    FOVEA_RETURN_IF_ERROR(ApplyParameter(resource, parameter, ++number, defs));
  }
  return Status::Ok();
}

}  // namespace fhir::patch
