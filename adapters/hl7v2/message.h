#ifndef FOVEA_ADAPTERS_HL7V2_MESSAGE_H_
#define FOVEA_ADAPTERS_HL7V2_MESSAGE_H_

// HL7 v2 messages in ER7 (the pipe-and-hat encoding), versions 2.3 to 2.8
// (HL7 v2.5.1 chapter 2.5-2.7). A parsed message keeps every segment's text exactly as it
// arrived, with the terminator that ended it (CR, LF or CRLF), so Encode(Parse(x)) == x byte
// for byte; values are unescaped only when read (Get) and escaped when written (Set).
//
//   auto msg = Message::Parse("MSH|^~\\&|ADT|HOSP|...\rPID|1||12345^^^HOSP^MR||Doe^Jane\r");
//   msg->Get("PID-3.1")        // "12345"
//   msg->Get("PID-5(1).2")     // "Jane": field 5, first repetition, component 2
//   msg->Get("OBX[2]-5")       // the second OBX segment's field 5
//
// Thread-compatible value type.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace adapters::hl7v2 {

// The separators named in MSH-1 and MSH-2.
struct Delimiters {
  char field = '|';
  char component = '^';
  char repetition = '~';
  char escape = '\\';
  char subcomponent = '&';
  char truncation = 0;  // v2.7+: the optional fifth encoding character ('#'); 0 when absent
};

// A location in a message: SEG[occurrence]-field(repetition).component.subcomponent, all
// 1-based; 0 means "not given" (the whole field, component...). Occurrence defaults to 1.
struct Path {
  std::string segment;  // "PID"
  int occurrence = 1;
  int field = 0;
  int repetition = 0;  // 0: the first
  int component = 0;
  int subcomponent = 0;

  // "PID-3", "PID-3(2).1", "OBX[2]-5.1.2"; kInvalid with the reason otherwise.
  static common::Result<Path> Parse(std::string_view text);
  std::string ToString() const;
};

class Segment {
 public:
  Segment() = default;
  // A new, empty segment ("OBX"); MSH gets its separators from `delims`.
  Segment(std::string id, const Delimiters& delims);

  const std::string& id() const { return id_; }
  // Fields as they appear (escaped). Index 0 is the segment id; for MSH, 1 is the field
  // separator and 2 the encoding characters, as the standard numbers them.
  const std::vector<std::string>& fields() const { return fields_; }
  std::size_t field_count() const { return fields_.size() - 1; }
  const std::string& terminator() const { return terminator_; }
  void set_terminator(std::string t) { terminator_ = std::move(t); }

  // The escaped text at a position (field 1-based; repetition/component/subcomponent 1-based,
  // 0: the whole of the enclosing part). Empty when absent.
  std::string Raw(int field, int repetition = 0, int component = 0, int subcomponent = 0,
                  const Delimiters& d = {}) const;
  // Number of repetitions of a field (0 when empty).
  int Repetitions(int field, const Delimiters& d = {}) const;
  // Sets the value (escaped here) at a position, adding fields, repetitions, components as
  // needed. Repetition 0 means the first.
  void Set(int field, int repetition, int component, int subcomponent, std::string_view value,
           const Delimiters& d);
  // Sets raw, already-encoded text (e.g. a whole composite built elsewhere).
  void SetRaw(int field, std::string raw);

  // The segment's text without its terminator.
  std::string Encode(const Delimiters& d) const;

 private:
  friend class Message;
  std::string id_;
  std::vector<std::string> fields_;  // [0] = id
  std::string terminator_ = "\r";
};

class Message {
 public:
  // Parses ER7 (a leading UTF-8 byte-order mark is allowed). Segments end with CR, LF or CRLF (kept per segment); the first must be MSH
  // with valid separators; kInvalid otherwise (naming the segment). Z-segments and unknown
  // segments are kept as they are.
  static common::Result<Message> Parse(std::string_view text);
  // A new message with an MSH of these separators ("MSH|^~\&").
  static Message New(const Delimiters& d = {});

  // Exactly the parsed text (plus any segments added, each ended by its terminator).
  std::string Encode() const;

  const Delimiters& delimiters() const { return delims_; }
  const std::vector<Segment>& segments() const { return segments_; }
  std::vector<Segment>& segments() { return segments_; }
  // The n-th (1-based) segment with this id; null when there is none.
  const Segment* Find(std::string_view id, int occurrence = 1) const;
  Segment* Find(std::string_view id, int occurrence = 1);
  Segment& Add(std::string id);

  // The unescaped value at `path` ("PID-5.1"); empty when absent. kInvalid for a bad path.
  common::Result<std::string> Value(std::string_view path) const;
  // Value() with a bad path treated as absent: for paths written in the code.
  std::string Get(std::string_view path) const;
  std::string Get(const Path& path) const;
  // The escaped text at a path (a whole field with its components).
  std::string Raw(const Path& path) const;

  // Header fields used everywhere.
  std::string MessageType() const { return Get("MSH-9.1"); }      // "ADT"
  std::string TriggerEvent() const { return Get("MSH-9.2"); }     // "A04"
  std::string ControlId() const { return Get("MSH-10"); }
  std::string Version() const { return Get("MSH-12.1"); }         // "2.5.1"

 private:
  Delimiters delims_;
  std::vector<Segment> segments_;
  bool bom_ = false;  // the text began with a UTF-8 byte-order mark
};

// The v2 escape sequences (chapter 2.7): \F\ \S\ \T\ \R\ \E\ (and \P\ for the v2.7 truncation
// character) become the separators, \Xhh..\ the bytes, \.br\ a line break; formatting
// sequences (\H\ \N\ \.sp\ ...) that have no plain-text meaning are dropped.
std::string Unescape(std::string_view raw, const Delimiters& d);
// The reverse: separators and the escape character become their sequences, a line break
// \.br\, other control characters \Xhh\.
std::string Escape(std::string_view text, const Delimiters& d);

// True for the versions this codec is written for (2.3, 2.3.1, 2.4 ... 2.8.2).
bool IsSupportedVersion(std::string_view version);

}  // namespace adapters::hl7v2

#endif  // FOVEA_ADAPTERS_HL7V2_MESSAGE_H_
