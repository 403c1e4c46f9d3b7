#ifndef FOVEA_COMMON_JSON_H_
#define FOVEA_COMMON_JSON_H_

// A small JSON reader and writer that keeps number lexemes exactly as written ("1.50" stays
// "1.50"), rejects duplicate keys, bounds nesting depth and checks UTF-8. POCO JSON hands numbers
// over as double, which would lose FHIR decimal precision, hence this tokenizer (see
// docs/ARCHITECTURE.md). Thread-compatible.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace common {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool b) { return Scalar(Kind::kBool, b ? "true" : "false"); }
  static JsonValue Number(std::string lexeme) { return Scalar(Kind::kNumber, std::move(lexeme)); }
  static JsonValue String(std::string s) { return Scalar(Kind::kString, std::move(s)); }
  static JsonValue Array() { return Scalar(Kind::kArray, {}); }
  static JsonValue Object() { return Scalar(Kind::kObject, {}); }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_string() const { return kind_ == Kind::kString; }
  // String contents (unescaped), number lexeme, or "true"/"false".
  const std::string& scalar() const { return scalar_; }
  bool bool_value() const { return scalar_ == "true"; }

  const std::vector<JsonValue>& items() const { return items_; }
  std::vector<JsonValue>& items() { return items_; }
  const std::vector<Member>& members() const { return members_; }
  std::vector<Member>& members() { return members_; }
  // Linear lookup: objects here are small.
  const JsonValue* Find(std::string_view key) const;

  JsonValue& Add(JsonValue v) { items_.push_back(std::move(v)); return items_.back(); }
  JsonValue& Set(std::string key, JsonValue v);

 private:
  static JsonValue Scalar(Kind k, std::string s) {
    JsonValue v;
    v.kind_ = k;
    v.scalar_ = std::move(s);
    return v;
  }
  Kind kind_ = Kind::kNull;
  std::string scalar_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

struct JsonLimits {
  std::size_t max_depth = 100;
};

// Parses one JSON document. Errors (kInvalid) say what is wrong and at which line/column.
Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Appends `s` as a quoted, escaped JSON string.
void AppendJsonString(std::string& out, std::string_view s);
// Serialises compactly; numbers are written with their original lexeme.
void AppendJson(std::string& out, const JsonValue& v);
std::string ToJson(const JsonValue& v);
// The same document indented by two spaces per level (for _pretty=true). `compact` must be
// valid JSON, as ToJson and Fovea's writers make it; strings are copied as they are.
std::string PrettyJson(std::string_view compact);

// Structural equality: object member order is ignored, numbers compare by lexeme.
bool JsonEquals(const JsonValue& a, const JsonValue& b);

}  // namespace common

#endif  // FOVEA_COMMON_JSON_H_
