#ifndef FOVEA_ADAPTERS_HL7V2_ACK_H_
#define FOVEA_ADAPTERS_HL7V2_ACK_H_

// Acknowledgements (HL7 v2.5.1 chapter 2.9): which mode a message asks for (MSH-15/16), and
// the ACK message itself, with an ERR segment naming the segment and field of a problem.
// Thread-compatible.

#include <optional>
#include <string>
#include <string_view>

#include "adapters/hl7v2/message.h"

namespace adapters::hl7v2 {

// MSH-15 (accept acknowledgement type) and MSH-16 (application acknowledgement type): AL
// always, NE never, ER on error only, SU on success only. Both empty: original mode.
struct AckModes {
  std::string accept;
  std::string application;
  bool enhanced() const { return !accept.empty() || !application.empty(); }
  // Whether an acknowledgement of this outcome is wanted under `type`.
  static bool Wanted(std::string_view type, bool success);
  static AckModes Of(const Message& m);
};

// An ERR: where (segment, occurrence, field, ...) and the HL7 table 0357 code
// (101 required field missing, 102 data type error, 103 table value not found, 200 unsupported
// message type, 201 unsupported event code, 203 unsupported version id, 207 application
// internal error).
struct AckError {
  Path location;
  std::string code = "207";
  std::string text;
};

// The ACK for `inbound` with `code` (AA AE AR CA CE CR): MSH with sender and receiver swapped,
// `control_id` as MSH-10, `timestamp` (YYYYMMDDHHMMSS+ZZZZ) as MSH-7, MSA echoing the inbound
// control id, and an ERR segment for `error` (v2.5+ layout: ERR-2 location, ERR-3 code, ERR-4
// severity, ERR-8 text; before v2.5, ERR-1 as segment^sequence^field^code).
Message BuildAck(const Message& inbound, std::string_view code, std::string_view text,
                 const std::optional<AckError>& error, std::string_view control_id,
                 std::string_view timestamp);

// The reject for bytes that are not a message at all (no MSH, bad separators): an AR whose
// MSH is Fovea's own and whose ERR carries `reason`.
Message BuildRejectForUnparseable(std::string_view reason, std::string_view control_id,
                                  std::string_view timestamp);

}  // namespace adapters::hl7v2

#endif  // FOVEA_ADAPTERS_HL7V2_ACK_H_
