#include "adapters/hl7v2/message.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "common/hex.h"

namespace adapters::hl7v2 {
namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(s.substr(start));
      return out;
    }
    out.emplace_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string Join(const std::vector<std::string>& parts, char sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.push_back(sep);
    out += parts[i];
  }
  return out;
}

// The element at 1-based `index` of `s` split by `sep`; index 0 is the whole.
std::string Part(const std::string& s, char sep, int index) {
  if (index <= 0) return s;
  auto parts = Split(s, sep);
  if (static_cast<std::size_t>(index) > parts.size()) return {};
  return parts[index - 1];
}

bool IsSeparator(char c) {
  return c != 0 && !std::isalnum(static_cast<unsigned char>(c)) && c != '\r' && c != '\n' &&
         c != ' ';
}

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 1;
}

}  // namespace

// --- Path -------------------------------------------------------------------------------------

common::Result<Path> Path::Parse(std::string_view text) {
  Path p;
  auto bad = [&](const char* why) {
    return common::InvalidError("bad HL7 v2 path '" + std::string(text) + "': " + why);
  };
  std::size_t i = 0;
  while (i < text.size() && std::isalnum(static_cast<unsigned char>(text[i]))) ++i;
  if (i != 3) return bad("a segment id has three letters or digits");
  p.segment = std::string(text.substr(0, 3));
  std::string_view rest = text.substr(3);
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos || !ParseInt(rest.substr(1, close - 1), p.occurrence))
      return bad("[occurrence] must be a positive number");
    rest.remove_prefix(close + 1);
  }
  if (rest.empty()) return p;
  if (rest.front() != '-') return bad("expected '-' and a field number");
  rest.remove_prefix(1);
  std::size_t n = 0;
  while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
  if (!ParseInt(rest.substr(0, n), p.field)) return bad("the field number must be positive");
  rest.remove_prefix(n);
  if (!rest.empty() && rest.front() == '(') {
    std::size_t close = rest.find(')');
    if (close == std::string_view::npos || !ParseInt(rest.substr(1, close - 1), p.repetition))
      return bad("(repetition) must be a positive number");
    rest.remove_prefix(close + 1);
  }
  for (int* part : {&p.component, &p.subcomponent}) {
    if (rest.empty()) return p;
    if (rest.front() != '.') return bad("expected '.' and a component number");
    rest.remove_prefix(1);
    n = 0;
    while (n < rest.size() && std::isdigit(static_cast<unsigned char>(rest[n]))) ++n;
    if (!ParseInt(rest.substr(0, n), *part)) return bad("component numbers must be positive");
    rest.remove_prefix(n);
  }
  if (!rest.empty()) return bad("unexpected text after the subcomponent");
  return p;
}

std::string Path::ToString() const {
  std::string out = segment;
  if (occurrence > 1) out += "[" + std::to_string(occurrence) + "]";
  if (field == 0) return out;
  out += "-" + std::to_string(field);
  if (repetition > 0) out += "(" + std::to_string(repetition) + ")";
  if (component > 0) out += "." + std::to_string(component);
  if (subcomponent > 0) out += "." + std::to_string(subcomponent);
  return out;
}

// --- Segment ----------------------------------------------------------------------------------

Segment::Segment(std::string id, const Delimiters& d) : id_(id) {
  fields_.push_back(std::move(id));
  if (id_ == "MSH") {
    fields_.push_back(std::string(1, d.field));
    std::string enc{d.component, d.repetition, d.escape, d.subcomponent};
    if (d.truncation != 0) enc.push_back(d.truncation);
    fields_.push_back(enc);
  }
}

std::string Segment::Raw(int field, int repetition, int component, int subcomponent,
                         const Delimiters& d) const {
  if (field <= 0 || static_cast<std::size_t>(field) >= fields_.size()) return {};
  const std::string& f = fields_[field];
  if (id_ == "MSH" && field <= 2) return f;  // the separators themselves
  std::string rep = Part(f, d.repetition, repetition == 0 && component == 0 ? 0
                                                  : std::max(repetition, 1));
  if (component == 0) return rep;
  std::string comp = Part(rep, d.component, component);
  return Part(comp, d.subcomponent, subcomponent);
}

int Segment::Repetitions(int field, const Delimiters& d) const {
  if (field <= 0 || static_cast<std::size_t>(field) >= fields_.size()) return 0;
  if (fields_[field].empty()) return 0;
  if (id_ == "MSH" && field <= 2) return 1;
  return static_cast<int>(Split(fields_[field], d.repetition).size());
}

void Segment::SetRaw(int field, std::string raw) {
  if (field <= 0) return;
  if (fields_.size() <= static_cast<std::size_t>(field)) fields_.resize(field + 1);
  fields_[field] = std::move(raw);
}

void Segment::Set(int field, int repetition, int component, int subcomponent,
                  std::string_view value, const Delimiters& d) {
  if (field <= 0) return;
  if (fields_.size() <= static_cast<std::size_t>(field)) fields_.resize(field + 1);
  std::string escaped = Escape(value, d);
  auto reps = Split(fields_[field], d.repetition);
  std::size_t r = repetition <= 0 ? 0 : repetition - 1;
  if (reps.size() <= r) reps.resize(r + 1);
  if (component <= 0) {
    reps[r] = escaped;
  } else {
    auto comps = Split(reps[r], d.component);
    if (comps.size() < static_cast<std::size_t>(component)) comps.resize(component);
    std::string& comp = comps[component - 1];
    if (subcomponent <= 0) {
      comp = escaped;
    } else {
      auto subs = Split(comp, d.subcomponent);
      if (subs.size() < static_cast<std::size_t>(subcomponent)) subs.resize(subcomponent);
      subs[subcomponent - 1] = escaped;
      comp = Join(subs, d.subcomponent);
    }
    reps[r] = Join(comps, d.component);
  }
  fields_[field] = Join(reps, d.repetition);
}

std::string Segment::Encode(const Delimiters& d) const {
  std::string out = fields_.empty() ? std::string() : fields_[0];
  std::size_t first = 1;
  if (id_ == "MSH" && fields_.size() >= 3) {
    out += fields_[1];
    out += fields_[2];
    first = 3;
  }
  for (std::size_t i = first; i < fields_.size(); ++i) {
    out.push_back(d.field);
    out += fields_[i];
  }
  return out;
}

// --- Message ----------------------------------------------------------------------------------

common::Result<Message> Message::Parse(std::string_view text) {
  Message m;
  // Files saved by Windows tools start with a UTF-8 byte-order mark; kept for Encode.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    m.bom_ = true;
    text.remove_prefix(3);
  }
  if (text.size() < 8 || text.substr(0, 3) != "MSH")
    return common::InvalidError("an HL7 v2 message starts with an MSH segment");
  Delimiters& d = m.delims_;
  d.field = text[3];
  if (!IsSeparator(d.field)) return common::InvalidError("MSH-1: invalid field separator");
  std::size_t enc_end = text.find(d.field, 4);
  std::size_t line_end = text.find_first_of("\r\n");
  if (enc_end == std::string_view::npos || (line_end != std::string_view::npos && enc_end > line_end))
    enc_end = std::min(line_end, text.size());
  std::string_view enc = text.substr(4, enc_end - 4);
  if (enc.size() < 4 || enc.size() > 5)
    return common::InvalidError("MSH-2: the encoding characters must be 4 (or 5) characters");
  d.component = enc[0];
  d.repetition = enc[1];
  d.escape = enc[2];
  d.subcomponent = enc[3];
  d.truncation = enc.size() == 5 ? enc[4] : 0;
  std::string seps{d.field, d.component, d.repetition, d.escape, d.subcomponent};
  if (d.truncation != 0) seps.push_back(d.truncation);
  for (std::size_t i = 0; i < seps.size(); ++i) {
    if (!IsSeparator(seps[i]) || seps.find(seps[i], i + 1) != std::string::npos)
      return common::InvalidError("MSH-2: the separators must be distinct punctuation");
  }

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find_first_of("\r\n", pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos
                                                                           : end - pos);
    Segment seg;
    if (end == std::string_view::npos) {
      seg.terminator_.clear();
      pos = text.size();
    } else if (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') {
      seg.terminator_ = "\r\n";
      pos = end + 2;
    } else {
      seg.terminator_ = std::string(1, text[end]);
      pos = end + 1;
    }
    if (m.segments_.empty()) {
      seg.id_ = "MSH";
      seg.fields_ = {"MSH", std::string(1, d.field), std::string(enc)};
      std::size_t after = 4 + enc.size();
      if (after < line.size()) {
        auto rest = Split(line.substr(after + 1), d.field);
        for (auto& f : rest) seg.fields_.push_back(std::move(f));
      }
    } else {
      seg.fields_ = Split(line, d.field);
      seg.id_ = seg.fields_[0];
      if (!line.empty() && (seg.id_.size() != 3 ||
                            !std::all_of(seg.id_.begin(), seg.id_.end(), [](char c) {
                              return std::isalnum(static_cast<unsigned char>(c));
                            }))) {
        // Keep it (Encode must reproduce the input), but it is not a segment we can address.
        seg.id_.clear();
      }
    }
    m.segments_.push_back(std::move(seg));
  }
  return m;
}

Message Message::New(const Delimiters& d) {
  Message m;
  m.delims_ = d;
  m.segments_.emplace_back("MSH", d);
  return m;
}

std::string Message::Encode() const {
  std::string out = bom_ ? "\xEF\xBB\xBF" : "";
  for (const Segment& s : segments_) {
    out += s.Encode(delims_);
    out += s.terminator_;
  }
  return out;
}

const Segment* Message::Find(std::string_view id, int occurrence) const {
  for (const Segment& s : segments_) {
    if (s.id_ == id && --occurrence == 0) return &s;
  }
  return nullptr;
}

Segment* Message::Find(std::string_view id, int occurrence) {
  return const_cast<Segment*>(static_cast<const Message*>(this)->Find(id, occurrence));
}

Segment& Message::Add(std::string id) {
  // The last segment may have come without a terminator; the new one follows it.
  if (!segments_.empty() && segments_.back().terminator_.empty()) segments_.back().terminator_ = "\r";
  segments_.emplace_back(std::move(id), delims_);
  return segments_.back();
}

std::string Message::Raw(const Path& p) const {
  const Segment* s = Find(p.segment, p.occurrence);
  if (s == nullptr) return {};
  return s->Raw(p.field, p.repetition, p.component, p.subcomponent, delims_);
}

std::string Message::Get(const Path& p) const {
  if (p.segment == "MSH" && p.field <= 2) return Raw(p);
  return Unescape(Raw(p), delims_);
}

common::Result<std::string> Message::Value(std::string_view path) const {
  auto p = Path::Parse(path);
  if (!p.has_value()) return p.error();
  return Get(*p);
}

std::string Message::Get(std::string_view path) const {
  auto v = Value(path);
  return v.has_value() ? std::move(v).value() : std::string();
}

// --- escapes ----------------------------------------------------------------------------------

std::string Unescape(std::string_view raw, const Delimiters& d) {
  if (raw.find(d.escape) == std::string_view::npos) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != d.escape) {
      out.push_back(c);
      continue;
    }
    std::size_t close = raw.find(d.escape, i + 1);
    if (close == std::string_view::npos) {  // a lone escape character: keep it
      out.push_back(c);
      continue;
    }
    std::string_view seq = raw.substr(i + 1, close - i - 1);
    if (seq == "F") {
      out.push_back(d.field);
    } else if (seq == "S") {
      out.push_back(d.component);
    } else if (seq == "T") {
      out.push_back(d.subcomponent);
    } else if (seq == "R") {
      out.push_back(d.repetition);
    } else if (seq == "E") {
      out.push_back(d.escape);
    } else if (seq == "P" && d.truncation != 0) {
      out.push_back(d.truncation);
    } else if (seq == ".br") {
      out.push_back('\n');
    } else if (!seq.empty() && seq[0] == 'X') {
      // \Xhhhh\: bytes in hex; an odd or non-hex sequence is dropped.
      if (auto bytes = common::HexDecode(seq.substr(1))) out += *bytes;
    }
    // Other sequences (\H\ \N\ \.sp\ \Zxx\ \Cxxyy\ \Mxxyyzz\ ...) are formatting or
    // character-set switches with no plain-text meaning: dropped.
    i = close;
  }
  return out;
}

std::string Escape(std::string_view text, const Delimiters& d) {
  std::string out;
  out.reserve(text.size());
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    auto seq = [&](std::string_view s) {
      out.push_back(d.escape);
      out += s;
      out.push_back(d.escape);
    };
    if (c == d.field) {
      seq("F");
    } else if (c == d.component) {
      seq("S");
    } else if (c == d.subcomponent) {
      seq("T");
    } else if (c == d.repetition) {
      seq("R");
    } else if (c == d.escape) {
      seq("E");
    } else if (d.truncation != 0 && c == d.truncation) {
      seq("P");
    } else if (c == '\n') {
      seq(".br");
    } else if (static_cast<unsigned char>(c) < 0x20) {
      const auto u = static_cast<unsigned char>(c);
      seq(std::string{'X', kHex[u >> 4], kHex[u & 15]});
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsSupportedVersion(std::string_view version) {
  static constexpr std::array<std::string_view, 11> kVersions = {
      "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"};
  for (auto v : kVersions) {
    if (v == version) return true;
  }
  return false;
}

}  // namespace adapters::hl7v2
