#include "adapters/mllp/processor.h"

#include <chrono>
#include <thread>

#include "adapters/hl7v2/ack.h"
#include "adapters/hl7v2/mapping/adt_mapping.h"
#include "adapters/mllp/detail/fhir_calls.h"
#include "common/json.h"
#include "common/log.h"

namespace adapters::mllp {
namespace {

using adapters::hl7v2::AckError;
using adapters::hl7v2::AckModes;
using adapters::hl7v2::BuildAck;
using adapters::hl7v2::Message;

fhir::rest::RestRequest Request(std::string method, std::string path, std::string body,
                                std::string request_id) {
  return detail::FhirRequest(std::move(method), std::move(path), std::move(body), std::move(request_id));
}

[[noreturn]] void PauseForever() {
  common::LogWarning("hl7v2: paused for a test (ForTesting hook)");
  while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}

// The first OperationOutcome diagnostics (they never carry PHI or SQL) and the Bundle entry
// it names, if any.
std::pair<std::string, int> OutcomeOf(const std::string& body) {
  auto json = common::ParseJson(body);
  if (!json.has_value()) return {"the FHIR transaction failed", -1};
  const common::JsonValue* issues = json->Find("issue");
  if (issues == nullptr || !issues->is_array() || issues->items().empty()) {
    return {"the FHIR transaction failed", -1};
  }
  const auto& issue = issues->items().front();
  std::string text;
  if (const auto* d = issue.Find("diagnostics"); d != nullptr) text = d->scalar();
  std::string where = text;
  if (const auto* ex = issue.Find("expression"); ex != nullptr && ex->is_array() && !ex->items().empty()) {
    where = ex->items().front().scalar() + " " + where;
  }
  // "Bundle.entry[2]" in the expression, or "Entry 2: ..." in the text.
  int index = -1;
  if (std::size_t at = where.find("entry["); at != std::string::npos) {
    index = std::atoi(where.c_str() + at + 6);
  } else if (std::size_t at2 = where.find("Entry "); at2 != std::string::npos) {
    index = std::atoi(where.c_str() + at2 + 6);
  }
  return {text.empty() ? "the FHIR transaction failed" : text, index};
}

// The segment and field the i-th entry came from (adt_mapping.h's layout).
hl7v2::Path SourceOf(const common::JsonValue& bundle, int index) {
  hl7v2::Path p;
  p.segment = "MSH";
  const auto& entries = bundle.Find("entry")->items();
  if (index < 0 || static_cast<std::size_t>(index) >= entries.size()) return p;
  const auto* request = entries[index].Find("request");
  std::string url = request->Find("url")->scalar();
  std::string method = request->Find("method")->scalar();
  if (url.rfind("Patient", 0) == 0) {
    p.segment = "PID";
    if (method == "PATCH") {
      p.field = 3;
      if (index == 1) {  // A40: the prior patient's entry
        p.segment = "MRG";
        p.field = 1;
      }
    }
  } else if (url.rfind("Encounter", 0) == 0) {
    p.segment = "PV1";
    if (method == "PATCH") p.field = 19;
  }
  return p;
}

// Conditional references ("Patient?identifier=s|v") inside PATCH parameters (A40's links) are
// not resolved by the transaction, which resolves them in resources only: they are looked up
// here first. kNotFound names the reference when it matches no single resource.
common::Status ResolvePatchReferences(const fhir::rest::FhirService& service, common::JsonValue& v,
                                      const std::string& request_id) {
  if (v.is_object()) {
    for (auto& [key, value] : v.members()) {
      if (key == "reference" && value.is_string() && value.scalar().find('?') != std::string::npos) {
        std::string ref = value.scalar();
        std::size_t q = ref.find('?');
        auto r = Request("GET", ref.substr(0, q), "", request_id);
        r.query = common::ParseQueryString(ref.substr(q + 1));
        r.query.emplace_back("_elements", "id");
        auto found = service.Handle(r);
        auto json = common::ParseJson(found.body);
        const common::JsonValue* entries = json.has_value() ? json->Find("entry") : nullptr;
        if (found.status != 200 || entries == nullptr || entries->items().size() != 1) {
          return common::NotFoundError("no single patient has the identifier given");
        }
        const auto* id = entries->items().front().Find("resource")->Find("id");
        value = common::JsonValue::String(ref.substr(0, q) + "/" + id->scalar());
      } else {
        FOVEA_RETURN_IF_ERROR(ResolvePatchReferences(service, value, request_id));
      }
    }
  } else if (v.is_array()) {
    for (auto& item : v.items()) FOVEA_RETURN_IF_ERROR(ResolvePatchReferences(service, item, request_id));
  }
  return common::Status::Ok();
}

// An ADT upsert (`PUT Patient?identifier=...`) carries the demographics the hospital owns; the
// Patient's `link`s (an earlier A40 merge) are Fovea's record and would be lost by a plain
// replace: copied over from the stored Patient, and a merged-away Patient stays inactive.
common::Status KeepPatientLinks(const fhir::rest::FhirService& service, common::JsonValue& entry,
                                const std::string& request_id) {
  const common::JsonValue* request = entry.Find("request");
  const common::JsonValue* url = request != nullptr ? request->Find("url") : nullptr;
  common::JsonValue* resource = nullptr;
  for (auto& [key, value] : entry.members()) {
    if (key == "resource") resource = &value;
  }
  if (url == nullptr || resource == nullptr || request->Find("method")->scalar() != "PUT" ||
      url->scalar().rfind("Patient?", 0) != 0) {
    return common::Status::Ok();
  }
  auto r = Request("GET", "Patient", "", request_id);
  r.query = common::ParseQueryString(url->scalar().substr(std::string_view("Patient?").size()));
  auto found = service.Handle(r);
  if (found.status != 200) return common::Status::Ok();  // the transaction reports it
  auto json = common::ParseJson(found.body);
  const common::JsonValue* entries = json.has_value() ? json->Find("entry") : nullptr;
  if (entries == nullptr || entries->items().size() != 1) return common::Status::Ok();
  const common::JsonValue* stored = entries->items().front().Find("resource");
  const common::JsonValue* links = stored != nullptr ? stored->Find("link") : nullptr;
  if (links == nullptr || !links->is_array() || links->items().empty()) return common::Status::Ok();
  resource->Set("link", *links);
  for (const common::JsonValue& link : links->items()) {
    const common::JsonValue* type = link.Find("type");
    if (type != nullptr && type->scalar() == "replaced-by") resource->Set("active", common::JsonValue::Bool(false));
  }
  return common::Status::Ok();
}

}  // namespace

InboundProcessor::InboundProcessor(const fhir::rest::FhirService& service, PgInbox& inbox,
                                   const common::Clock& clock, ProcessorOptions options)
    : service_(service), inbox_(inbox), clock_(clock), options_(std::move(options)) {}

std::string InboundProcessor::Timestamp() const {
  // 2026-11-28T05:01:02.345Z -> 20261128050102+0000
  std::string iso = common::FormatInstant(clock_.Now());
  std::string digits;
  for (std::size_t i = 0; i < iso.size() && i < 19; ++i) {
    if (iso[i] >= '0' && iso[i] <= '9') digits.push_back(iso[i]);
  }
  return digits + "+0000";
}

void InboundProcessor::Handle(std::string_view raw,
                              const std::function<bool(const std::string&)>& send) const {
  auto parsed = Message::Parse(raw);
  if (!parsed.has_value()) {
    send(hl7v2::BuildRejectForUnparseable(parsed.error().message(), "F0", Timestamp()).Encode());
    return;
  }
  const Message& m = *parsed;
  AckModes modes = AckModes::Of(m);
  if (m.ControlId().empty()) {
    AckError e{hl7v2::Path{"MSH", 1, 10}, "101", "MSH-10 (message control id) is required"};
    send(BuildAck(m, modes.enhanced() ? "CR" : "AR", e.text, e, "F0", Timestamp()).Encode());
    return;
  }
  std::string sender = m.Get("MSH-3") + "|" + m.Get("MSH-4");
  auto entry = inbox_.Receive(sender, m.ControlId(), std::string(raw));
  if (!entry.has_value()) {
    // Not stored: no accept. CE/AE tells the sender to send it again later.
    AckError e{hl7v2::Path{"MSH", 1, 10}, "207", "The message could not be stored; send it again"};
    send(BuildAck(m, modes.enhanced() ? "CE" : "AE", e.text, e, "F0", Timestamp()).Encode());
    return;
  }
  const std::string id = std::to_string(entry->id);
  if (modes.enhanced() && AckModes::Wanted(modes.accept, true)) {
    if (!send(BuildAck(m, "CA", "", std::nullopt, "F" + id + "C", Timestamp()).Encode())) return;
  }
  if (options_.pause_for_testing == ProcessorOptions::PauseForTesting::kAfterAccept) PauseForever();
  Applied applied;
  if (entry->status != "received") {
    applied = {entry->ack, true};  // a repeat: the recorded outcome, not a second application
  } else {
    applied = Apply(entry->id, false, nullptr);
  }
  if (modes.enhanced()) {
    auto ack = Message::Parse(applied.ack);
    bool success = ack.has_value() && ack->Get("MSA-1") == "AA";
    if (!AckModes::Wanted(modes.application.empty() ? "AL" : modes.application, success)) return;
  }
  send(applied.ack);
}

InboundProcessor::Applied InboundProcessor::Apply(std::int64_t id, bool skip_locked,
                                                  bool* skipped) const {
  const std::string control = "F" + std::to_string(id) + "A";
  auto claim = inbox_.Claim(id, skip_locked);
  auto unstored = [&](const Message* m) {
    AckError e{hl7v2::Path{"MSH", 1, 10}, "207", "Temporarily unable to apply the message; send it again"};
    Message none = Message::New();
    return Applied{BuildAck(m != nullptr ? *m : none, "AE", e.text, e, control, Timestamp()).Encode(), false};
  };
  if (!claim.has_value()) return unstored(nullptr);
  if (!claim->has_value()) {
    if (skipped != nullptr) *skipped = true;
    return {};
  }
  InboxClaim& c = **claim;
  if (c.entry().status != "received") return {c.entry().ack, true};
  auto parsed = Message::Parse(c.entry().message);
  if (!parsed.has_value()) return unstored(nullptr);  // cannot happen: it parsed on receipt
  const Message& m = *parsed;
  const std::string marker = "hl7v2-in-" + std::to_string(id);
  const std::string request_id = "hl7v2-" + std::to_string(id);

  std::string status;
  std::string ack;
  auto seen = service_.Handle(Request("GET", "MessageHeader/" + marker, "", request_id));
  if (seen.status == 200) {
    // Applied before a crash took the inbox update with it: record it, do not apply again.
    status = "applied";
    ack = BuildAck(m, "AA", "", std::nullopt, control, Timestamp()).Encode();
  } else if (seen.status != 404 && seen.status != 410) {
    return unstored(&m);
  } else {
    auto mapped = hl7v2::mapping::MapAdt(m, {options_.unit_location, marker});
    if (mapped.error.has_value()) {
      const auto& e = *mapped.error;
      status = e.reject ? "rejected" : "error";
      ack = BuildAck(m, e.reject ? "AR" : "AE", e.text, AckError{e.location, e.code, e.text}, control,
                     Timestamp()).Encode();
    } else if (auto resolved = ResolveEntries(*mapped.bundle, request_id); !resolved.ok()) {
      if (resolved.code() != common::StatusCode::kNotFound) return unstored(&m);
      status = "error";
      hl7v2::Path where{m.Find("MRG") != nullptr ? "MRG" : "PID", 1, m.Find("MRG") != nullptr ? 1 : 3};
      ack = BuildAck(m, "AE", resolved.message(), AckError{where, "204", resolved.message()}, control,
                     Timestamp()).Encode();
    } else {
      auto response = service_.Handle(Request("POST", "", common::ToJson(*mapped.bundle), request_id));
      if (response.status >= 500 || response.status == 429) return unstored(&m);
      if (response.status == 200) {
        if (options_.pause_for_testing == ProcessorOptions::PauseForTesting::kAfterApply) PauseForever();
        status = "applied";
        ack = BuildAck(m, "AA", "", std::nullopt, control, Timestamp()).Encode();
      } else {
        auto [text, index] = OutcomeOf(response.body);
        status = "error";
        ack = BuildAck(m, "AE", text, AckError{SourceOf(*mapped.bundle, index), "207", text}, control,
                       Timestamp()).Encode();
      }
    }
  }
  if (auto st = c.Complete(status, ack); !st.ok()) {
    common::LogError("hl7v2: could not record the outcome of inbox entry " + std::to_string(id));
    return unstored(&m);
  }
  return {ack, true};
}

common::Status InboundProcessor::ResolveEntries(common::JsonValue& bundle,
                                                const std::string& request_id) const {
  for (auto& [key, entries] : bundle.members()) {
    if (key != "entry") continue;
    for (auto& entry : entries.items()) {
      const auto* request = entry.Find("request");
      if (request == nullptr) continue;
      FOVEA_RETURN_IF_ERROR(KeepPatientLinks(service_, entry, request_id));
      if (request->Find("method")->scalar() != "PATCH") continue;
      FOVEA_RETURN_IF_ERROR(ResolvePatchReferences(service_, entry, request_id));
    }
  }
  return common::Status::Ok();
}

common::Result<int> InboundProcessor::ApplyPending() const {
  FOVEA_ASSIGN_OR_RETURN(auto ids, inbox_.Pending(100));
  int applied = 0;
  for (std::int64_t id : ids) {
    bool skipped = false;
    Applied a = Apply(id, true, &skipped);
    if (!skipped && a.stored) ++applied;
  }
  return applied;
}

}  // namespace adapters::mllp
