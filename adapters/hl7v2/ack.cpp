#include "adapters/hl7v2/ack.h"

namespace adapters::hl7v2 {
namespace {

constexpr const char* kApplication = "FOVEA";

// v2.3 and v2.4 name the problem in ERR-1 (ELD); v2.5 onwards in ERR-2 (ERL) and ERR-3 (CWE).
bool LegacyErr(std::string_view version) { return version == "2.3" || version == "2.3.1" || version == "2.4"; }

void AddErr(Message& ack, const AckError& e, std::string_view version) {
  const Delimiters& d = ack.delimiters();
  Segment& err = ack.Add("ERR");
  if (LegacyErr(version)) {
    err.Set(1, 1, 1, 0, e.location.segment, d);
    err.Set(1, 1, 2, 0, std::to_string(e.location.occurrence), d);
    if (e.location.field > 0) err.Set(1, 1, 3, 0, std::to_string(e.location.field), d);
    err.Set(1, 1, 4, 1, e.code, d);
    err.Set(1, 1, 4, 2, e.text, d);
    err.Set(1, 1, 4, 3, "HL70357", d);
    return;
  }
  if (!e.location.segment.empty()) {
    err.Set(2, 1, 1, 0, e.location.segment, d);
    err.Set(2, 1, 2, 0, std::to_string(e.location.occurrence), d);
    if (e.location.field > 0) err.Set(2, 1, 3, 0, std::to_string(e.location.field), d);
    if (e.location.repetition > 0) err.Set(2, 1, 4, 0, std::to_string(e.location.repetition), d);
    if (e.location.component > 0) err.Set(2, 1, 5, 0, std::to_string(e.location.component), d);
    if (e.location.subcomponent > 0) err.Set(2, 1, 6, 0, std::to_string(e.location.subcomponent), d);
  }
  err.Set(3, 1, 1, 0, e.code, d);
  err.Set(3, 1, 3, 0, "HL70357", d);
  err.Set(4, 1, 0, 0, "E", d);
  err.Set(8, 1, 0, 0, e.text, d);
}

}  // namespace

bool AckModes::Wanted(std::string_view type, bool success) {
  if (type.empty() || type == "AL") return true;
  if (type == "NE") return false;
  if (type == "ER") return !success;
  if (type == "SU") return success;
  return true;
}

AckModes AckModes::Of(const Message& m) { return {m.Get("MSH-15"), m.Get("MSH-16")}; }

Message BuildAck(const Message& inbound, std::string_view code, std::string_view text,
                 const std::optional<AckError>& error, std::string_view control_id,
                 std::string_view timestamp) {
  Message ack = Message::New(inbound.delimiters());
  const Segment* in = inbound.Find("MSH");
  Segment& msh = ack.segments().front();
  // Sender and receiver swap (MSH-3/4 <-> MSH-5/6); the raw text keeps their components.
  if (in != nullptr) {
    msh.SetRaw(3, in->Raw(5, 0, 0, 0, inbound.delimiters()));
    msh.SetRaw(4, in->Raw(6, 0, 0, 0, inbound.delimiters()));
    msh.SetRaw(5, in->Raw(3, 0, 0, 0, inbound.delimiters()));
    msh.SetRaw(6, in->Raw(4, 0, 0, 0, inbound.delimiters()));
  }
  if (msh.Raw(3).empty()) msh.SetRaw(3, kApplication);
  const Delimiters& d = ack.delimiters();
  msh.Set(7, 1, 0, 0, timestamp, d);
  msh.Set(9, 1, 1, 0, "ACK", d);
  std::string trigger = inbound.TriggerEvent();
  if (!trigger.empty()) {
    msh.Set(9, 1, 2, 0, trigger, d);
    msh.Set(9, 1, 3, 0, "ACK", d);
  }
  msh.Set(10, 1, 0, 0, control_id, d);
  std::string processing = inbound.Get("MSH-11.1");
  msh.Set(11, 1, 0, 0, processing.empty() ? "P" : processing, d);
  std::string version = inbound.Version();
  msh.Set(12, 1, 0, 0, version.empty() ? "2.5.1" : version, d);
  Segment& msa = ack.Add("MSA");
  msa.Set(1, 1, 0, 0, code, d);
  msa.Set(2, 1, 0, 0, inbound.ControlId(), d);
  if (!text.empty() && LegacyErr(version)) msa.Set(3, 1, 0, 0, text, d);
  if (error.has_value()) AddErr(ack, *error, version);
  return ack;
}

Message BuildRejectForUnparseable(std::string_view reason, std::string_view control_id,
                                  std::string_view timestamp) {
  Message none = Message::New();
  AckError e;
  e.code = "100";
  e.location.segment = "MSH";
  e.location.field = 0;
  e.text = std::string(reason);
  Message ack = BuildAck(none, "AR", reason, e, control_id, timestamp);
  return ack;
}

}  // namespace adapters::hl7v2
