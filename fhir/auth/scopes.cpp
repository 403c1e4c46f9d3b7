#include "fhir/auth/scopes.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace fhir::auth {
namespace {

constexpr std::string_view kPermissionLetters = "cruds";
constexpr unsigned kAllPermissions = 31;

unsigned Bit(Permission p) { return static_cast<unsigned>(p); }

// "cruds" letters in canonical order, each at most once; 0 when malformed.
unsigned ParseV2Permissions(std::string_view text) {
  unsigned bits = 0;
  std::size_t last = 0;
  bool first = true;
  for (char c : text) {
    std::size_t pos = kPermissionLetters.find(c);
    if (pos == std::string_view::npos) return 0;
    if (!first && pos <= last) return 0;  // out of order or repeated
    bits |= 1u << pos;
    last = pos;
    first = false;
  }
  return bits;
}

bool IsResourceTypeName(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

std::string_view ContextName(ScopeContext c) {
  switch (c) {
    case ScopeContext::kPatient: return "patient";
    case ScopeContext::kUser: return "user";
    case ScopeContext::kSystem: return "system";
  }
  return "user";
}

// Whether a granted scope in context `have` can back a requested one in context `want`: patient
// access is a narrowing of user access; system access stands alone.
bool ContextBacks(ScopeContext have, ScopeContext want) {
  if (have == want) return true;
  return have == ScopeContext::kUser && want == ScopeContext::kPatient;
}

}  // namespace

bool NamedOnly(std::string_view resource_type) {
  return resource_type == "AuditEvent" || resource_type == "SearchParameter";
}

std::optional<ResourceScope> ParseResourceScope(std::string_view scope) {
  std::size_t slash = scope.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ResourceScope s;
  std::string_view context = scope.substr(0, slash);
  if (context == "patient") {
    s.context = ScopeContext::kPatient;
  } else if (context == "user") {
    s.context = ScopeContext::kUser;
  } else if (context == "system") {
    s.context = ScopeContext::kSystem;
  } else {
    return std::nullopt;
  }
  std::string_view rest = scope.substr(slash + 1);
  std::size_t question = rest.find('?');
  if (question != std::string_view::npos) {
    s.query = std::string(rest.substr(question + 1));
    if (s.query.empty()) return std::nullopt;  // "Type.rs?" restricts nothing: malformed
    rest = rest.substr(0, question);
  }
  std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view type = rest.substr(0, dot);
  std::string_view perms = rest.substr(dot + 1);
  if (type != "*" && !IsResourceTypeName(type)) return std::nullopt;
  s.type = std::string(type);
  if (perms == "read") {
    s.permissions = Bit(Permission::kRead) | Bit(Permission::kSearch);
    s.v1 = true;
  } else if (perms == "write") {
    s.permissions = Bit(Permission::kCreate) | Bit(Permission::kUpdate) | Bit(Permission::kDelete);
    s.v1 = true;
  } else if (perms == "*") {
    s.permissions = kAllPermissions;
    s.v1 = true;
  } else {
    s.permissions = ParseV2Permissions(perms);
  }
  if (s.permissions == 0) return std::nullopt;
  return s;
}

bool ResourceScope::Covers(std::string_view resource_type) const {
  if (type == "*") return !NamedOnly(resource_type);
  return type == resource_type;
}

std::string ResourceScope::ToString() const {
  std::string out(ContextName(context));
  out += '/';
  out += type;
  out += '.';
  for (std::size_t i = 0; i < kPermissionLetters.size(); ++i) {
    if (permissions & (1u << i)) out += kPermissionLetters[i];
  }
  if (!query.empty()) out += "?" + query;
  return out;
}

ScopeSet ScopeSet::Parse(std::string_view text) {
  ScopeSet set;
  while (!text.empty()) {
    std::size_t space = text.find_first_of(" \t");
    std::string_view token = text.substr(0, space);
    if (!token.empty()) {
      if (auto s = ParseResourceScope(token)) {
        set.resource_.push_back(std::move(*s));
      } else if (std::find(set.others_.begin(), set.others_.end(), token) == set.others_.end()) {
        set.others_.emplace_back(token);
      }
    }
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return set;
}

Reach ScopeSet::ReachFor(std::string_view resource_type, Permission permission,
                         bool with_patient) const {
  Reach reach = Reach::kNone;
  bool granular = false;
  for (const ResourceScope& s : resource_) {
    if (!(s.permissions & Bit(permission)) || !s.Covers(resource_type)) continue;
    if (s.context == ScopeContext::kPatient && !with_patient) continue;
    if (!s.query.empty()) {
      granular = true;
    } else if (s.context != ScopeContext::kPatient) {
      return Reach::kAll;
    } else {
      reach = Reach::kPatientCompartment;
    }
  }
  return granular ? Reach::kFiltered : reach;
}

ScopeSet ScopeSet::Grant(const ScopeSet& requested, const std::vector<std::string>& others_allowed,
                         const GranularCheck& enforceable) const {
  // (context, type, query) -> permissions, merged so that each triple appears once.
  std::map<std::tuple<int, std::string, std::string>, unsigned> granted;
  for (const ResourceScope& want : requested.resource_) {
    if (!want.query.empty() && (want.type == "*" || !enforceable || !enforceable(want))) {
      continue;  // a query the server cannot enforce (or on every type) is not granted
    }
    for (const ResourceScope& have : resource_) {
      // A granular scope backs only the same query (a refresh asking for what it had).
      if (!have.query.empty() && have.query != want.query) continue;
      if (!ContextBacks(have.context, want.context)) continue;
      std::string type;
      if (have.type == "*") {
        if (want.type != "*" && !have.Covers(want.type)) continue;
        type = want.type;
      } else if (want.type == have.type || want.Covers(have.type)) {
        // A requested wildcard expands to the allowed types, but never to the named-only ones:
        // they are reached only by asking for them by name.
        type = have.type;
      } else {
        continue;
      }
      unsigned perms = want.permissions & have.permissions;
      if (perms != 0) granted[{static_cast<int>(want.context), type, want.query}] |= perms;
    }
  }
  ScopeSet out;
  for (const auto& [key, perms] : granted) {
    ResourceScope s;
    s.context = static_cast<ScopeContext>(std::get<0>(key));
    s.type = std::get<1>(key);
    s.query = std::get<2>(key);
    s.permissions = perms;
    out.resource_.push_back(std::move(s));
  }
  for (const std::string& other : requested.others_) {
    if (std::find(others_allowed.begin(), others_allowed.end(), other) != others_allowed.end()) {
      out.others_.push_back(other);
    }
  }
  return out;
}

bool ScopeSet::Has(std::string_view other) const {
  return std::find(others_.begin(), others_.end(), other) != others_.end();
}

std::string ScopeSet::ToString() const {
  std::string out;
  for (const ResourceScope& s : resource_) {
    if (!out.empty()) out += ' ';
    out += s.ToString();
  }
  for (const std::string& o : others_) {
    if (!out.empty()) out += ' ';
    out += o;
  }
  return out;
}

}  // namespace fhir::auth
