#include "common/json_patch.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <vector>

namespace common {
namespace {

// "/a/b~1c/0" -> {"a", "b/c", "0"}; nullopt-like failure as an empty optional flag.
bool ParsePointer(std::string_view pointer, std::vector<std::string>& tokens) {
  tokens.clear();
  if (pointer.empty()) return true;  // the whole document
  if (pointer.front() != '/') return false;
  pointer.remove_prefix(1);
  while (true) {
    std::size_t slash = pointer.find('/');
    std::string_view raw = pointer.substr(0, slash);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token += raw[i];
      } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        return false;  // '~' must be followed by 0 or 1
      }
    }
    tokens.push_back(std::move(token));
    if (slash == std::string_view::npos) break;
    pointer.remove_prefix(slash + 1);
  }
  return true;
}

// An array index token: digits without leading zeros.
bool ArrayIndex(const std::string& token, std::size_t& index) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) return false;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  return ec == std::errc() && p == token.data() + token.size();
}

JsonValue* Child(JsonValue& parent, const std::string& token) {
  if (parent.is_object()) {
    for (auto& [k, v] : parent.members()) {
      if (k == token) return &v;
    }
    return nullptr;
  }
  if (parent.is_array()) {
    std::size_t i = 0;
    if (!ArrayIndex(token, i) || i >= parent.items().size()) return nullptr;
    return &parent.items()[i];
  }
  return nullptr;
}

// The value at `tokens`, or null.
JsonValue* Resolve(JsonValue& doc, const std::vector<std::string>& tokens) {
  JsonValue* at = &doc;
  for (const std::string& t : tokens) {
    at = Child(*at, t);
    if (at == nullptr) return nullptr;
  }
  return at;
}

class Patcher {
 public:
  explicit Patcher(JsonValue doc) : doc_(std::move(doc)) {}

  Status Apply(const JsonValue& op, std::size_t index) {
    auto fail = [&](const std::string& m) {
      return InvalidError("JSON Patch operation " + std::to_string(index) + ": " + m);
    };
    if (!op.is_object()) return fail("must be an object");
    const JsonValue* name = op.Find("op");
    const JsonValue* path = op.Find("path");
    if (name == nullptr || !name->is_string()) return fail("needs an 'op'");
    if (path == nullptr || !path->is_string()) return fail("needs a 'path'");
    std::vector<std::string> to;
    if (!ParsePointer(path->scalar(), to)) return fail("'" + path->scalar() + "' is not a JSON Pointer");
    const std::string& o = name->scalar();
    const JsonValue* value = op.Find("value");
    if (o == "add" || o == "replace" || o == "test") {
      if (value == nullptr) return fail("'" + o + "' needs a 'value'");
    }
    if (o == "add") return Add(to, *value) ? Status::Ok() : fail("path " + path->scalar() + " does not exist");
    if (o == "remove") {
      return Remove(to, nullptr) ? Status::Ok() : fail("path " + path->scalar() + " does not exist");
    }
    if (o == "replace") {
      JsonValue* target = Resolve(doc_, to);
      if (target == nullptr) return fail("path " + path->scalar() + " does not exist");
      *target = *value;
      return Status::Ok();
    }
    if (o == "test") {
      JsonValue* target = Resolve(doc_, to);
      if (target == nullptr || !JsonEquals(*target, *value)) {
        return fail("test failed at " + path->scalar());
      }
      return Status::Ok();
    }
    if (o == "move" || o == "copy") {
      const JsonValue* from_text = op.Find("from");
      std::vector<std::string> from;
      if (from_text == nullptr || !from_text->is_string() || !ParsePointer(from_text->scalar(), from)) {
        return fail("'" + o + "' needs a 'from' JSON Pointer");
      }
      if (o == "move" && to.size() > from.size() &&
          std::equal(from.begin(), from.end(), to.begin())) {
        return fail("cannot move a value into itself");
      }
      JsonValue moved;
      if (o == "move") {
        if (!Remove(from, &moved)) return fail("from " + from_text->scalar() + " does not exist");
      } else {
        JsonValue* source = Resolve(doc_, from);
        if (source == nullptr) return fail("from " + from_text->scalar() + " does not exist");
        moved = *source;
      }
      return Add(to, moved) ? Status::Ok() : fail("path " + path->scalar() + " does not exist");
    }
    return fail("unknown op '" + o + "'");
  }

  JsonValue Take() { return std::move(doc_); }

 private:
  bool Add(const std::vector<std::string>& to, const JsonValue& value) {
    if (to.empty()) {
      doc_ = value;
      return true;
    }
    std::vector<std::string> parent_path(to.begin(), to.end() - 1);
    JsonValue* parent = Resolve(doc_, parent_path);
    if (parent == nullptr) return false;
    const std::string& last = to.back();
    if (parent->is_object()) {
      parent->Set(last, value);
      return true;
    }
    if (parent->is_array()) {
      auto& items = parent->items();
      if (last == "-") {
        items.push_back(value);
        return true;
      }
      std::size_t i = 0;
      if (!ArrayIndex(last, i) || i > items.size()) return false;
      items.insert(items.begin() + static_cast<std::ptrdiff_t>(i), value);
      return true;
    }
    return false;
  }

  bool Remove(const std::vector<std::string>& at, JsonValue* removed) {
    if (at.empty()) return false;
    std::vector<std::string> parent_path(at.begin(), at.end() - 1);
    JsonValue* parent = Resolve(doc_, parent_path);
    if (parent == nullptr) return false;
    const std::string& last = at.back();
    if (parent->is_object()) {
      auto& members = parent->members();
      for (auto it = members.begin(); it != members.end(); ++it) {
        if (it->first == last) {
          if (removed != nullptr) *removed = std::move(it->second);
          members.erase(it);
          return true;
        }
      }
      return false;
    }
    if (parent->is_array()) {
      std::size_t i = 0;
      auto& items = parent->items();
      if (!ArrayIndex(last, i) || i >= items.size()) return false;
      if (removed != nullptr) *removed = std::move(items[i]);
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
    return false;
  }

  JsonValue doc_;
};

}  // namespace

Result<JsonValue> ApplyJsonPatch(const JsonValue& document, const JsonValue& patch) {
  if (!patch.is_array()) return InvalidError("A JSON Patch is an array of operations");
  Patcher patcher(document);
  for (std::size_t i = 0; i < patch.items().size(); ++i) {
    FOVEA_RETURN_IF_ERROR(patcher.Apply(patch.items()[i], i));
  }
  return patcher.Take();
}

}  // namespace common
