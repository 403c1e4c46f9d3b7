#include "fhir/fhirpath/lexer.h"

#include <cctype>

namespace fhir::fhirpath::detail {

namespace {

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

void AppendUtf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

common::Status ErrorAt(std::size_t pos, const std::string& what) {
  return common::InvalidError("FHIRPath syntax error at offset " + std::to_string(pos) + ": " +
                              what);
}

// Scans the body of a quoted token starting after the opening quote; returns the offset of the
// closing quote or npos.
std::size_t FindClosingQuote(std::string_view text, std::size_t i, char quote) {
  while (i < text.size()) {
    if (text[i] == '\\') {
      i += 2;
      continue;
    }
    if (text[i] == quote) return i;
    ++i;
  }
  return std::string_view::npos;
}

// Length of a date/time literal body after '@' (grammar DATETIME / TIME); the lexer is greedy
// and the evaluator validates the shape.
std::size_t ScanDateTime(std::string_view text, std::size_t i) {
  std::size_t start = i;
  auto digits = [&](std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
      if (i + k >= text.size() || !IsDigit(text[i + k])) return false;
    }
    i += n;
    return true;
  };
  auto time_part = [&]() {
    if (!digits(2)) return;
    if (i < text.size() && text[i] == ':' && i + 1 < text.size() && IsDigit(text[i + 1])) {
      ++i;
      digits(2);
      if (i < text.size() && text[i] == ':' && i + 1 < text.size() && IsDigit(text[i + 1])) {
        ++i;
        digits(2);
        if (i + 1 < text.size() && text[i] == '.' && IsDigit(text[i + 1])) {
          ++i;
          while (i < text.size() && IsDigit(text[i])) ++i;
        }
      }
    }
  };
  auto zone = [&]() {
    if (i < text.size() && text[i] == 'Z') {
      ++i;
    } else if (i + 5 < text.size() + 0 && (text[i] == '+' || text[i] == '-') &&
               IsDigit(text[i + 1]) && IsDigit(text[i + 2]) && text[i + 3] == ':' &&
               IsDigit(text[i + 4]) && i + 5 < text.size() && IsDigit(text[i + 5])) {
      i += 6;
    }
  };
  if (i < text.size() && text[i] == 'T') {
    ++i;
    time_part();
    zone();  // not valid for a Time; the evaluator rejects it
    return i - start;
  }
  if (!digits(4)) return 0;
  if (i + 2 < text.size() && text[i] == '-' && IsDigit(text[i + 1])) {
    ++i;
    digits(2);
    if (i + 2 < text.size() && text[i] == '-' && IsDigit(text[i + 1])) {
      ++i;
      digits(2);
    }
  }
  if (i < text.size() && text[i] == 'T') {
    ++i;
    time_part();
    zone();
  } else {
    zone();
  }
  return i - start;
}

}  // namespace

std::string Unescape(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\' || i + 1 >= body.size()) {
      out += c;
      continue;
    }
    char e = body[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        unsigned cp = 0;
        std::size_t k = 0;
        for (; k < 4 && i + 1 + k < body.size() &&
               std::isxdigit(static_cast<unsigned char>(body[i + 1 + k]));
             ++k) {
          char h = static_cast<char>(std::tolower(static_cast<unsigned char>(body[i + 1 + k])));
          cp = cp * 16 + static_cast<unsigned>(IsDigit(h) ? h - '0' : h - 'a' + 10);
        }
        i += k;
        AppendUtf8(out, cp);
        break;
      }
      default: out += e; break;  // \' \" \` \\ \/ and anything else as itself
    }
  }
  return out;
}

common::Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      std::size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) return ErrorAt(i, "unterminated comment");
      i = end + 2;
      continue;
    }
    Token t;
    t.pos = i;
    if (IsIdentStart(c)) {
      std::size_t j = i;
      while (j < text.size() && IsIdentChar(text[j])) ++j;
      t.kind = TokenKind::kIdentifier;
      t.text = std::string(text.substr(i, j - i));
      i = j;
    } else if (c == '`' || c == '\'') {
      std::size_t end = FindClosingQuote(text, i + 1, c);
      if (end == std::string_view::npos) {
        return ErrorAt(i, c == '`' ? "unterminated identifier" : "unterminated string");
      }
      t.kind = c == '`' ? TokenKind::kIdentifier : TokenKind::kString;
      t.delimited = c == '`';
      t.text = Unescape(text.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (IsDigit(c)) {
      std::size_t j = i;
      while (j < text.size() && IsDigit(text[j])) ++j;
      if (j + 1 < text.size() && text[j] == '.' && IsDigit(text[j + 1])) {
        ++j;
        while (j < text.size() && IsDigit(text[j])) ++j;
      }
      t.kind = TokenKind::kNumber;
      t.text = std::string(text.substr(i, j - i));
      i = j;
    } else if (c == '@') {
      std::size_t n = ScanDateTime(text, i + 1);
      if (n == 0) return ErrorAt(i, "malformed date/time literal");
      std::string_view body = text.substr(i + 1, n);
      if (body[0] == 'T') {
        t.kind = TokenKind::kTime;
        t.text = std::string(body.substr(1));
      } else {
        t.kind = TokenKind::kDateTime;
        t.text = std::string(body);
      }
      i += 1 + n;
    } else if (c == '%') {
      t.kind = TokenKind::kVariable;
      if (i + 1 < text.size() && (text[i + 1] == '`' || text[i + 1] == '\'')) {
        std::size_t end = FindClosingQuote(text, i + 2, text[i + 1]);
        if (end == std::string_view::npos) return ErrorAt(i, "unterminated variable name");
        t.text = Unescape(text.substr(i + 2, end - i - 2));
        i = end + 1;
      } else {
        std::size_t j = i + 1;
        while (j < text.size() && (IsIdentChar(text[j]) || text[j] == '-')) ++j;
        if (j == i + 1) return ErrorAt(i, "expected a variable name after '%'");
        t.text = std::string(text.substr(i + 1, j - i - 1));
        i = j;
      }
    } else if (c == '$') {
      std::size_t j = i + 1;
      while (j < text.size() && IsIdentChar(text[j])) ++j;
      t.kind = TokenKind::kSpecial;
      t.text = std::string(text.substr(i + 1, j - i - 1));
      if (t.text != "this" && t.text != "index" && t.text != "total") {
        return ErrorAt(i, "unknown special variable '$" + t.text + "'");
      }
      i = j;
    } else {
      static constexpr std::string_view kTwo[] = {"!=", "!~", "<=", ">="};
      t.kind = TokenKind::kSymbol;
      for (std::string_view two : kTwo) {
        if (text.substr(i, 2) == two) t.text = std::string(two);
      }
      if (t.text.empty()) {
        if (std::string_view(".[](){},+-*/|&=~<>").find(c) == std::string_view::npos) {
          return ErrorAt(i, std::string("unexpected character '") + c + "'");
        }
        t.text = std::string(1, c);
      }
      i += t.text.size();
    }
    tokens.push_back(std::move(t));
  }
  Token end;
  end.kind = TokenKind::kEnd;
  end.pos = text.size();
  tokens.push_back(end);
  return tokens;
}

}  // namespace fhir::fhirpath::detail
