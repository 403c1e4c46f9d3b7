#include "common/json.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace common {

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return &v;
  }
  return nullptr;
}

JsonValue& JsonValue::Set(std::string key, JsonValue v) {
  for (auto& [k, existing] : members_) {
    if (k == key) {
      existing = std::move(v);
      return existing;
    }
  }
  members_.emplace_back(std::move(key), std::move(v));
  return members_.back().second;
}

namespace {

class Parser {
 public:
  Parser(std::string_view text, const JsonLimits& limits) : s_(text), limits_(limits) {}

  Result<JsonValue> Parse() {
    JsonValue v;
    // A UTF-8 byte order mark is not JSON, but some Windows clients send one: skip it.
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    SkipSpace();
    if (!ParseValue(v, 0)) return Error();
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("unexpected content after the end of the JSON document");
      return Error();
    }
    return v;
  }

 private:
  Status Error() const {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < error_pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return InvalidError("Malformed JSON at line " + std::to_string(line) + ", column " +
                        std::to_string(col) + ": " + error_);
  }

  bool Fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
      error_pos_ = pos_;
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool ParseValue(JsonValue& out, std::size_t depth) {
    if (pos_ >= s_.size()) return Fail("unexpected end of input");
    char c = s_[pos_];
    switch (c) {
      case '{': return ParseObject(out, depth + 1);
      case '[': return ParseArray(out, depth + 1);
      case '"': {
        std::string str;
        if (!ParseString(str)) return false;
        out = JsonValue::String(std::move(str));
        return true;
      }
      case 't': return Literal("true", out, JsonValue::Bool(true));
      case 'f': return Literal("false", out, JsonValue::Bool(false));
      case 'n': return Literal("null", out, JsonValue::Null());
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
        return Fail(std::string("unexpected character '") + c + "'");
    }
  }

  bool Literal(std::string_view word, JsonValue& out, JsonValue v) {
    if (s_.substr(pos_, word.size()) != word) return Fail("invalid literal");
    pos_ += word.size();
    out = std::move(v);
    return true;
  }

  bool ParseNumber(JsonValue& out) {
    std::size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size()) return Fail("invalid number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (s_[pos_] >= '1' && s_[pos_] <= '9') {
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    } else {
      return Fail("invalid number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      std::size_t digits = pos_;
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      if (pos_ == digits) return Fail("invalid number: digits expected after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      std::size_t digits = pos_;
      while (pos_ < s_.size() && isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      if (pos_ == digits) return Fail("invalid number: digits expected in exponent");
    }
    out = JsonValue::Number(std::string(s_.substr(start, pos_ - start)));
    return true;
  }

  static void AppendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool Hex4(std::uint32_t& out) {
    if (pos_ + 4 > s_.size()) return Fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= c - '0';
      else if (c >= 'a' && c <= 'f') out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') out |= c - 'A' + 10;
      else return Fail("invalid \\u escape");
    }
    return true;
  }

  // Copies one UTF-8 sequence, rejecting malformed bytes.
  bool CopyUtf8(std::string& out) {
    auto b = static_cast<unsigned char>(s_[pos_]);
    std::size_t n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
    if (n == 0 || pos_ + n > s_.size()) return Fail("invalid UTF-8 in string");
    for (std::size_t i = 1; i < n; ++i) {
      if ((static_cast<unsigned char>(s_[pos_ + i]) & 0xC0) != 0x80)
        return Fail("invalid UTF-8 in string");
    }
    out.append(s_.data() + pos_, n);
    pos_ += n;
    return true;
  }

  bool ParseString(std::string& out) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      // Fast path: copy a run of plain ASCII.
      std::size_t run = pos_;
      while (run < s_.size()) {
        auto c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++run;
      }
      out.append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= s_.size()) return Fail("unterminated string");
      auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("control character in string (escape it)");
      if (c >= 0x80) {
        if (!CopyUtf8(out)) return false;
        continue;
      }
      ++pos_;  // backslash
      if (pos_ >= s_.size()) return Fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (s_.substr(pos_, 2) != "\\u") return Fail("unpaired surrogate in \\u escape");
            pos_ += 2;
            if (!Hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return Fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return Fail("unpaired surrogate in \\u escape");
          }
          AppendUtf8(out, cp);
          break;
        }
        default: return Fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  bool ParseArray(JsonValue& out, std::size_t depth) {
    if (depth > limits_.max_depth)
      return Fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    ++pos_;
    out = JsonValue::Array();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      JsonValue item;
      if (!ParseValue(item, depth)) return false;
      out.items().push_back(std::move(item));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']' in array");
    }
  }

  bool ParseObject(JsonValue& out, std::size_t depth) {
    if (depth > limits_.max_depth)
      return Fail("nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    ++pos_;
    out = JsonValue::Object();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a property name");
      std::string key;
      if (!ParseString(key)) return false;
      for (const auto& m : out.members()) {
        if (m.first == key) return Fail("duplicate property \"" + key + "\"");
      }
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':' after property name");
      ++pos_;
      SkipSpace();
      JsonValue value;
      if (!ParseValue(value, depth)) return false;
      out.members().emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}' in object");
    }
  }

  std::string_view s_;
  const JsonLimits& limits_;
  std::size_t pos_ = 0;
  std::string error_;
  std::size_t error_pos_ = 0;
};

}  // namespace

Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits) {
  return Parser(text, limits).Parse();
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void AppendJson(std::string& out, const JsonValue& v) {
  switch (v.kind()) {
    case JsonValue::Kind::kNull: out += "null"; break;
    case JsonValue::Kind::kBool:
    case JsonValue::Kind::kNumber: out += v.scalar(); break;
    case JsonValue::Kind::kString: AppendJsonString(out, v.scalar()); break;
    case JsonValue::Kind::kArray: {
      out += '[';
      bool first = true;
      for (const auto& item : v.items()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, item);
      }
      out += ']';
      break;
    }
    case JsonValue::Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.members()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, k);
        out += ':';
        AppendJson(out, item);
      }
      out += '}';
      break;
    }
  }
}

std::string ToJson(const JsonValue& v) {
  std::string out;
  AppendJson(out, v);
  return out;
}

bool JsonEquals(const JsonValue& a, const JsonValue& b) {
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case JsonValue::Kind::kArray:
      return a.items().size() == b.items().size() &&
             std::equal(a.items().begin(), a.items().end(), b.items().begin(), JsonEquals);
    case JsonValue::Kind::kObject:
      if (a.members().size() != b.members().size()) return false;
      for (const auto& [k, v] : a.members()) {
        const JsonValue* other = b.Find(k);
        if (other == nullptr || !JsonEquals(v, *other)) return false;
      }
      return true;
    default:
      return a.scalar() == b.scalar();
  }
}

std::string PrettyJson(std::string_view compact) {
  std::string out;
  out.reserve(compact.size() * 5 / 4);
  int depth = 0;
  auto newline = [&] {
    out += '\n';
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
  };
  for (std::size_t i = 0; i < compact.size(); ++i) {
    char c = compact[i];
    switch (c) {
      case '"': {  // copy the whole string, escapes included
        std::size_t end = i + 1;
        while (end < compact.size() && compact[end] != '"') end += compact[end] == '\\' ? 2 : 1;
        out.append(compact.substr(i, end - i + 1));
        i = end;
        break;
      }
      case '{':
      case '[':
        out += c;
        if (i + 1 < compact.size() && (compact[i + 1] == '}' || compact[i + 1] == ']')) {
          out += compact[++i];  // empty: stays on one line
          break;
        }
        ++depth;
        newline();
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out += c;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') out += c;
    }
  }
  return out;
}

}  // namespace common
