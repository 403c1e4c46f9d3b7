#include "fhir/format/json_format.h"

#include "fhir/format/detail/element_names.h"

#include <cctype>
#include <unordered_map>

namespace fhir::format {

using common::JsonValue;
using model::Element;
using model::ElementDef;
using model::IssueScope;
using model::IssueType;
using model::TypeDef;

namespace {

const char* KindName(JsonValue::Kind k) {
  switch (k) {
    case JsonValue::Kind::kNull: return "null";
    case JsonValue::Kind::kBool: return "a boolean";
    case JsonValue::Kind::kNumber: return "a number";
    case JsonValue::Kind::kString: return "a string";
    case JsonValue::Kind::kArray: return "an array";
    case JsonValue::Kind::kObject: return "an object";
  }
  return "?";
}

using detail::PathSegment;
using Resolved = detail::ResolvedElement;

class TreeBuilder {
 public:
  TreeBuilder(const definitions::Definitions& defs, model::IssueSink& sink)
      : defs_(defs), sink_(sink) {}

  // Builds a resource element; `def` is the containing element (null at the root).
  common::Result<Element> Resource(const JsonValue& json, const ElementDef* def,
                                   const IssueScope& scope) {
    if (!json.is_object()) {
      return common::InvalidError("A FHIR resource must be a JSON object, found " +
                                  std::string(KindName(json.kind())));
    }
    const JsonValue* rt = json.Find("resourceType");
    if (rt == nullptr || !rt->is_string()) {
      return common::InvalidError(
          (scope.empty() ? std::string() : scope.path() + ": ") +
          "the resource has no \"resourceType\" string property");
    }
    const TypeDef* type = defs_.FindResource(rt->scalar());
    if (type == nullptr) {
      return common::InvalidError(
          (scope.empty() ? std::string() : scope.path() + ": ") + "\"" + rt->scalar() +
          "\" is not a FHIR R4 resource type");
    }
    Element root(def, type);
    IssueScope inner = scope.empty() ? IssueScope(sink_, type->name) : scope;
    Object(root, json, inner);
    return root;
  }

 private:
  void Object(Element& parent, const JsonValue& json, const IssueScope& scope) {
    const TypeDef& type = *parent.type();
    parent.children().reserve(json.members().size());
    for (const auto& [key, value] : json.members()) {
      if (key == "resourceType" && type.is_resource()) continue;
      bool underscore = !key.empty() && key[0] == '_';
      std::string_view base = underscore ? std::string_view(key).substr(1) : key;
      Resolved r = detail::ResolveElementName(type, base);
      if (r.def == nullptr) {
        scope.Child(key).Error(IssueType::kStructure, detail::UnknownElementMessage(type, base));
        continue;
      }
      if (r.type->is_primitive()) {
        if (underscore && json.Find(base) != nullptr) continue;  // handled with its value
        const JsonValue* ext = underscore ? &value : json.Find("_" + key);
        Primitive(parent, r, underscore ? nullptr : &value, ext, scope);
        continue;
      }
      if (underscore) {
        scope.Child(key).Error(IssueType::kStructure,
                               "'" + key + "' is only allowed for primitive elements");
        continue;
      }
      Complex(parent, r, value, scope);
    }
    parent.SortChildren();
  }

  void Primitive(Element& parent, const Resolved& r, const JsonValue* value, const JsonValue* ext,
                 const IssueScope& scope) {
    IssueScope at = scope.Child(PathSegment(r));
    if (!r.def->array) {
      if ((value != nullptr && value->is_array()) || (ext != nullptr && ext->is_array())) {
        at.Error(IssueType::kStructure, "'" + r.def->name + "' is a single value, not an array");
        return;
      }
      PrimitiveItem(parent, r, value, ext, at);
      return;
    }
    if ((value != nullptr && !value->is_array()) || (ext != nullptr && !ext->is_array())) {
      at.Error(IssueType::kStructure, "'" + r.def->name + "' repeats: it must be a JSON array");
      return;
    }
    std::size_t n = value != nullptr ? value->items().size() : ext->items().size();
    if (value != nullptr && ext != nullptr && value->items().size() != ext->items().size()) {
      at.Error(IssueType::kStructure, "'" + r.def->name + "' and '_" + r.def->name +
                                          "' must be arrays of the same length");
      return;
    }
    if (n == 0) {
      at.Error(IssueType::kStructure, "Arrays must not be empty");
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const JsonValue* v = value != nullptr ? &value->items()[i] : nullptr;
      const JsonValue* e = ext != nullptr ? &ext->items()[i] : nullptr;
      PrimitiveItem(parent, r, v, e, at.Index(i));
    }
  }

  void PrimitiveItem(Element& parent, const Resolved& r, const JsonValue* value,
                     const JsonValue* ext, const IssueScope& at) {
    if (value != nullptr && value->is_null()) value = nullptr;
    if (ext != nullptr && ext->is_null()) ext = nullptr;
    if (value == nullptr && ext == nullptr) {
      at.Error(IssueType::kStructure, "A primitive must have a value or an extension");
      return;
    }
    Element child(r.def, r.type);
    if (value != nullptr) {
      JsonValue::Kind expected = r.type->json_scalar == model::JsonScalar::kBoolean
                                     ? JsonValue::Kind::kBool
                                 : r.type->json_scalar == model::JsonScalar::kNumber
                                     ? JsonValue::Kind::kNumber
                                     : JsonValue::Kind::kString;
      if (value->kind() != expected) {
        at.Error(IssueType::kValue, "Expected " + std::string(KindName(expected)) +
                                        " (JSON) for a FHIR " + r.type->name + ", found " +
                                        KindName(value->kind()));
        return;
      }
      child.set_value(value->scalar());
    }
    if (ext != nullptr) {
      if (!ext->is_object()) {
        at.Error(IssueType::kStructure, "The '_' companion of a primitive must be an object");
        return;
      }
      Object(child, *ext, at);
    }
    parent.AddChild(std::move(child));
  }

  void Complex(Element& parent, const Resolved& r, const JsonValue& value,
               const IssueScope& scope) {
    IssueScope at = scope.Child(PathSegment(r));
    if (r.def->array != value.is_array()) {
      at.Error(IssueType::kStructure, r.def->array
                                          ? "'" + r.def->name + "' repeats: it must be a JSON array"
                                          : "'" + r.def->name + "' is a single object, not an array");
      return;
    }
    if (!r.def->array) {
      ComplexItem(parent, r, value, at);
      return;
    }
    if (value.items().empty()) {
      at.Error(IssueType::kStructure, "Arrays must not be empty");
      return;
    }
    for (std::size_t i = 0; i < value.items().size(); ++i) {
      ComplexItem(parent, r, value.items()[i], at.Index(i));
    }
  }

  void ComplexItem(Element& parent, const Resolved& r, const JsonValue& value,
                   const IssueScope& at) {
    if (!value.is_object()) {
      at.Error(IssueType::kStructure,
               "Expected an object for " + r.type->name + ", found " + KindName(value.kind()));
      return;
    }
    if (r.type->is_resource()) {
      auto resource = Resource(value, r.def, at);
      if (!resource.has_value()) {
        at.Error(IssueType::kStructure, resource.error().message());
        return;
      }
      parent.AddChild(std::move(resource).value());
      return;
    }
    if (value.members().empty()) {
      at.Error(IssueType::kStructure, "Empty objects are not allowed: an element needs content");
      return;
    }
    Element child(r.def, r.type);
    Object(child, value, at);
    parent.AddChild(std::move(child));
  }

  const definitions::Definitions& defs_;
  model::IssueSink& sink_;
};

void AppendPrimitive(std::string& out, const Element& e) {
  if (e.type()->json_scalar == model::JsonScalar::kString) {
    common::AppendJsonString(out, e.value());
  } else {
    out += e.value();
  }
}

void AppendObjectBody(std::string& out, const Element& e, bool first);

void AppendComplexValue(std::string& out, const Element& e) {
  if (e.is_resource()) {
    AppendResourceJson(out, e);
    return;
  }
  out += '{';
  AppendObjectBody(out, e, true);
  out += '}';
}

void AppendKey(std::string& out, std::string_view key, bool& first) {
  if (!first) out += ',';
  first = false;
  out += '"';
  out += key;
  out += "\":";
}

void AppendObjectBody(std::string& out, const Element& e, bool first) {
  const auto& children = e.children();
  std::size_t i = 0;
  while (i < children.size()) {
    const Element& head = children[i];
    std::size_t end = i + 1;
    // Repeats share one JSON array even when their types differ (contained resources).
    while (end < children.size() && children[end].def() == head.def()) ++end;
    std::string key = head.JsonName();
    bool array = head.def() != nullptr && head.def()->array;
    if (head.type()->is_primitive()) {
      bool any_value = false, any_ext = false;
      for (std::size_t k = i; k < end; ++k) {
        any_value |= children[k].has_value();
        any_ext |= !children[k].children().empty();
      }
      if (any_value) {
        AppendKey(out, key, first);
        if (array) out += '[';
        for (std::size_t k = i; k < end; ++k) {
          if (k > i) out += ',';
          if (children[k].has_value()) AppendPrimitive(out, children[k]);
          else out += "null";
        }
        if (array) out += ']';
      }
      if (any_ext) {
        AppendKey(out, "_" + key, first);
        if (array) out += '[';
        for (std::size_t k = i; k < end; ++k) {
          if (k > i) out += ',';
          if (children[k].children().empty()) {
            out += "null";
          } else {
            out += '{';
            AppendObjectBody(out, children[k], true);
            out += '}';
          }
        }
        if (array) out += ']';
      }
    } else {
      AppendKey(out, key, first);
      if (array) out += '[';
      for (std::size_t k = i; k < end; ++k) {
        if (k > i) out += ',';
        AppendComplexValue(out, children[k]);
      }
      if (array) out += ']';
    }
    i = end;
  }
}

}  // namespace

common::Result<Element> ParseResourceJson(std::string_view text,
                                          const definitions::Definitions& defs,
                                          model::IssueSink& issues,
                                          const JsonParseOptions& options) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(text, {.max_depth = options.max_depth}));
  return ResourceFromJson(json, defs, issues);
}

common::Result<Element> ResourceFromJson(const JsonValue& json,
                                         const definitions::Definitions& defs,
                                         model::IssueSink& issues) {
  TreeBuilder builder(defs, issues);
  return builder.Resource(json, nullptr, IssueScope(issues, ""));
}

void AppendElementJson(std::string& out, const Element& element) {
  if (element.type()->is_primitive()) {
    if (element.has_value()) {
      AppendPrimitive(out, element);
    } else {
      out += "null";
    }
    return;
  }
  AppendComplexValue(out, element);
}

void AppendResourceJson(std::string& out, const Element& resource) {
  out += "{\"resourceType\":\"";
  out += resource.type()->name;
  out += '"';
  AppendObjectBody(out, resource, false);
  out += '}';
}

std::string WriteResourceJson(const Element& resource) {
  std::string out;
  out.reserve(1024);
  AppendResourceJson(out, resource);
  return out;
}

}  // namespace fhir::format
