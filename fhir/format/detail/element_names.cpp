#include "fhir/format/detail/element_names.h"

#include <cctype>
#include <initializer_list>

namespace fhir::format::detail {
namespace {

bool MatchesTypeSuffix(const model::TypeDef& t, std::string_view suffix) {
  const std::string& name = t.name;
  if (name.empty() || suffix.size() != name.size()) return false;
  if (suffix[0] != static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])))) return false;
  return suffix.substr(1) == std::string_view(name).substr(1);
}

// Joins message parts (also avoids GCC 12's false -Wrestrict on literal + std::string).
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out += p;
  return out;
}

}  // namespace

ResolvedElement ResolveElementName(const model::TypeDef& type, std::string_view name) {
  for (const auto& def : type.elements) {
    if (!def.choice) {
      if (def.name == name) return {&def, def.types.front()};
      continue;
    }
    if (name.size() <= def.name.size() || name.substr(0, def.name.size()) != def.name) continue;
    std::string_view suffix = name.substr(def.name.size());
    for (const model::TypeDef* t : def.types) {
      if (MatchesTypeSuffix(*t, suffix)) return {&def, t};
    }
  }
  return {};
}

std::string UnknownElementMessage(const model::TypeDef& type, std::string_view name) {
  for (const auto& def : type.elements) {
    if (!def.choice || name.size() <= def.name.size() ||
        name.substr(0, def.name.size()) != def.name ||
        !std::isupper(static_cast<unsigned char>(name[def.name.size()])))
      continue;
    std::string allowed;
    for (const model::TypeDef* t : def.types) allowed += Cat({allowed.empty() ? "" : ", ", t->name});
    return Cat({"'", name, "' is not allowed: ", type.name, ".", def.name, "[x] takes only ",
                allowed});
  }
  return Cat({"Unknown element '", name, "' in ", type.name});
}

std::string PathSegment(const ResolvedElement& r) {
  if (r.def->choice) return Cat({r.def->name, ".ofType(", r.type->name, ")"});
  return r.def->name;
}

}  // namespace fhir::format::detail
