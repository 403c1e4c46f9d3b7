#include "adapters/mllp/outbound.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <algorithm>

#include "adapters/hl7v2/message.h"
#include "adapters/mllp/detail/fhir_calls.h"
#include "adapters/mllp/framing.h"
#include "common/log.h"

namespace adapters::mllp {
namespace {

using common::JsonValue;
using fhir::store::pg::PgQuery;

constexpr const char* kSessionTasks =
    "Task?code=https://fovea.health/fhir/CodeSystem/screening-step|screening-session"
    "&status=completed&_sort=_lastUpdated&_count=200&_lastUpdated=ge";

constexpr PgQuery kBegin{"hl7v2.out_begin", "BEGIN"};
constexpr PgQuery kCommit{"hl7v2.out_commit", "COMMIT"};
constexpr PgQuery kRollback{"hl7v2.out_rollback", "ROLLBACK"};
constexpr PgQuery kLockCursor{
    "hl7v2.out_cursor_lock",
    "SELECT to_char((since - interval '1 minute') AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM hl7v2_outbound_cursor FOR UPDATE"};
constexpr PgQuery kMoveCursor{"hl7v2.out_cursor_move",
                              "UPDATE hl7v2_outbound_cursor SET since = greatest(since, $1::timestamptz)"};
constexpr PgQuery kInsert{"hl7v2.out_insert",
                          "INSERT INTO hl7v2_outbound (encounter_id, control_id, message) "
                          "VALUES ($1, '', '') ON CONFLICT (encounter_id) DO NOTHING RETURNING id"};
constexpr PgQuery kFill{"hl7v2.out_fill",
                        "UPDATE hl7v2_outbound SET control_id = $2, message = $3 WHERE id = $1"};
constexpr PgQuery kUnrenderable{"hl7v2.out_unrenderable",
                                "UPDATE hl7v2_outbound SET control_id = $2, status = 'failed', "
                                "last_error = $3 WHERE id = $1"};
constexpr PgQuery kClaim{"hl7v2.out_claim",
                         "SELECT id, message, attempts FROM hl7v2_outbound "
                         "WHERE status = 'pending' AND next_attempt <= now() "
                         "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"};
constexpr PgQuery kSent{"hl7v2.out_sent",
                        "UPDATE hl7v2_outbound SET status = $2, attempts = attempts + 1, ack = $3, "
                        "sent_at = now(), last_error = NULL WHERE id = $1"};
constexpr PgQuery kRetry{"hl7v2.out_retry",
                         "UPDATE hl7v2_outbound SET status = $2, attempts = attempts + 1, "
                         "last_error = $3, ack = $4, "
                         "next_attempt = now() + ($5::bigint * interval '1 millisecond') WHERE id = $1"};
constexpr PgQuery kFind{"hl7v2.out_find",
                        "SELECT control_id, message, status, attempts, coalesce(ack, ''), "
                        "coalesce(last_error, '') FROM hl7v2_outbound WHERE encounter_id = $1"};

std::string IdOf(const std::string& reference, const std::string& type) {
  std::string prefix = type + "/";
  return reference.rfind(prefix, 0) == 0 ? reference.substr(prefix.size()) : "";
}

std::vector<JsonValue> Resources(const JsonValue& bundle) {
  std::vector<JsonValue> out;
  if (const JsonValue* entries = bundle.Find("entry"); entries != nullptr && entries->is_array()) {
    for (const JsonValue& e : entries->items()) {
      if (const JsonValue* r = e.Find("resource"); r != nullptr) out.push_back(*r);
    }
  }
  return out;
}

bool Withdrawn(const JsonValue& r) {
  const JsonValue* s = r.Find("status");
  return s != nullptr && (s->scalar() == "entered-in-error" || s->scalar() == "cancelled");
}

}  // namespace

common::Status ParseEndpoint(const std::string& text, OutboundOptions& options) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return common::InvalidError("expected HOST:PORT, got '" + text + "'");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(text.substr(colon + 1));
  } catch (const std::exception&) {
    port = 0;
  }
  if (port <= 0 || port > 65535) return common::InvalidError("bad port in '" + text + "'");
  options.host = host;
  options.port = port;
  return common::Status::Ok();
}

common::Result<std::string> RenderSessionOru(const fhir::rest::FhirService& service,
                                             const std::string& encounter_id,
                                             const std::string& control_id,
                                             const std::string& timestamp,
                                             const OutboundOptions& options) {
  const std::string rid = "hl7v2-oru";
  hl7v2::mapping::OruInput in;
  FOVEA_ASSIGN_OR_RETURN(in.encounter, detail::FhirGet(service, "Encounter/" + encounter_id, rid));
  const JsonValue* subject = in.encounter.Find("subject");
  std::string patient_id = subject != nullptr && subject->Find("reference") != nullptr
                               ? IdOf(subject->Find("reference")->scalar(), "Patient")
                               : "";
  if (patient_id.empty()) return common::InvalidError("the session's Encounter names no Patient");
  FOVEA_ASSIGN_OR_RETURN(in.patient, detail::FhirGet(service, "Patient/" + patient_id, rid));
  const std::string of = "encounter=Encounter/" + encounter_id + "&_sort=_lastUpdated&_count=500";
  FOVEA_ASSIGN_OR_RETURN(JsonValue observations, detail::FhirGet(service, "Observation?" + of, rid));
  FOVEA_ASSIGN_OR_RETURN(JsonValue reports, detail::FhirGet(service, "DiagnosticReport?" + of, rid));
  for (auto& o : Resources(observations)) {
    if (!Withdrawn(o)) in.observations.push_back(std::move(o));
  }
  for (auto& r : Resources(reports)) {
    if (!Withdrawn(r)) in.reports.push_back(std::move(r));
  }
  // A stable order for the EHR: by code, then by site (right eye 362502000 before left).
  auto key = [](const JsonValue& o) {
    auto first_code = [](const JsonValue* cc) {
      const JsonValue* codings = cc != nullptr ? cc->Find("coding") : nullptr;
      if (codings == nullptr || !codings->is_array() || codings->items().empty()) return std::string();
      const JsonValue* code = codings->items().front().Find("code");
      return code != nullptr ? code->scalar() : std::string();
    };
    return std::make_pair(first_code(o.Find("code")), first_code(o.Find("bodySite")));
  };
  std::stable_sort(in.observations.begin(), in.observations.end(),
                   [&](const JsonValue& a, const JsonValue& b) { return key(a) < key(b); });
  in.control_id = control_id;
  in.timestamp = timestamp;
  in.sending_facility = options.sending_facility;
  in.receiving_application = options.receiving_application;
  in.receiving_facility = options.receiving_facility;
  return hl7v2::mapping::BuildOru(in).Encode();
}

common::Result<std::string> SendMllp(const std::string& host, int port, const std::string& message,
                                     std::chrono::milliseconds connect_timeout,
                                     std::chrono::milliseconds ack_timeout) {
  try {
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress(host, static_cast<Poco::UInt16>(port)),
                   Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(connect_timeout).count()));
    socket.setNoDelay(true);
    std::string framed = Frame(message);
    std::size_t sent = 0;
    while (sent < framed.size()) {
      int n = socket.sendBytes(framed.data() + sent, static_cast<int>(framed.size() - sent));
      if (n <= 0) return common::UnavailableError("the connection closed while sending");
      sent += static_cast<std::size_t>(n);
    }
    FrameDecoder decoder(1u << 20);
    auto deadline = std::chrono::steady_clock::now() + ack_timeout;
    std::string ack;
    char buf[8192];
    while (true) {
      auto state = decoder.Next(ack);
      if (state == FrameDecoder::State::kMessage) break;
      if (state == FrameDecoder::State::kError) return common::UnavailableError("bad MLLP answer: " + decoder.error());
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return common::UnavailableError("no acknowledgement in time");
      socket.setReceiveTimeout(Poco::Timespan(left.count()));
      int n = socket.receiveBytes(buf, sizeof buf);
      if (n <= 0) return common::UnavailableError("the connection closed before an acknowledgement");
      decoder.Append(std::string_view(buf, static_cast<std::size_t>(n)));
    }
    socket.close();
    return ack;
  } catch (const Poco::TimeoutException&) {
    return common::UnavailableError("no acknowledgement in time");
  } catch (const Poco::Exception& e) {
    return common::UnavailableError("cannot reach the EHR endpoint: " + e.displayText());
  }
}

OutboundQueue::OutboundQueue(fhir::store::pg::ConnectionPool& pool,
                             const fhir::rest::FhirService& service, const common::Clock& clock,
                             OutboundOptions options)
    : pool_(pool), service_(service), clock_(clock), options_(std::move(options)) {}

std::string OutboundQueue::Timestamp() const {
  std::string iso = common::FormatInstant(clock_.Now());
  std::string digits;
  for (std::size_t i = 0; i < iso.size() && i < 19; ++i) {
    if (iso[i] >= '0' && iso[i] <= '9') digits.push_back(iso[i]);
  }
  return digits + "+0000";
}

common::Result<int> OutboundQueue::QueueApproved() {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  if (auto b = conn->Execute(kBegin, {}); !b.has_value()) return b.error();
  auto rollback = [&](common::Status st) {
    (void)conn->Execute(kRollback, {});
    return st;
  };
  auto cursor = conn->Execute(kLockCursor, {});
  if (!cursor.has_value()) return rollback(cursor.error());
  if (cursor->rows() != 1) return rollback(common::InternalError("hl7v2_outbound_cursor has no row"));
  std::string since(cursor->Get(0, 0));
  auto tasks = detail::FhirGet(service_, kSessionTasks + since, "hl7v2-outbound");
  if (!tasks.has_value()) return rollback(tasks.error());
  int queued = 0;
  std::string latest;
  for (const JsonValue& task : Resources(*tasks)) {
    const JsonValue* meta = task.Find("meta");
    if (meta != nullptr && meta->Find("lastUpdated") != nullptr) latest = std::max(latest, meta->Find("lastUpdated")->scalar());
    const JsonValue* enc = task.Find("encounter");
    std::string encounter_id = enc != nullptr && enc->Find("reference") != nullptr
                                   ? IdOf(enc->Find("reference")->scalar(), "Encounter")
                                   : "";
    if (encounter_id.empty()) continue;
    auto inserted = conn->Execute(kInsert, {encounter_id});
    if (!inserted.has_value()) return rollback(inserted.error());
    if (inserted->rows() == 0) continue;  // queued before
    std::string id(inserted->Get(0, 0));
    std::string control = "FO" + id;
    auto oru = RenderSessionOru(service_, encounter_id, control, Timestamp(), options_);
    if (!oru.has_value() && oru.error().code() == common::StatusCode::kUnavailable) {
      return rollback(oru.error());  // the database: the next pass tries again
    }
    if (!oru.has_value()) {
      // A session that cannot be rendered (its Patient deleted, say) must not hold up the
      // others: it is recorded as failed, with the reason, for $hl7v2 to show.
      auto failed = conn->Execute(kUnrenderable, {id, control, oru.error().message()});
      if (!failed.has_value()) return rollback(failed.error());
      common::LogWarning("hl7v2: the results of a session could not be rendered: " + oru.error().message());
      continue;
    }
    auto filled = conn->Execute(kFill, {id, control, *oru});
    if (!filled.has_value()) return rollback(filled.error());
    ++queued;
  }
  if (!latest.empty()) {
    auto moved = conn->Execute(kMoveCursor, {latest});
    if (!moved.has_value()) return rollback(moved.error());
  }
  if (auto c = conn->Execute(kCommit, {}); !c.has_value()) return c.error();
  return queued;
}

common::Result<bool> OutboundQueue::DeliverOne() {
  if (options_.host.empty()) return false;
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  if (auto b = conn->Execute(kBegin, {}); !b.has_value()) return b.error();
  auto claimed = conn->Execute(kClaim, {});
  if (!claimed.has_value() || claimed->rows() == 0) {
    (void)conn->Execute(kRollback, {});
    if (!claimed.has_value()) return claimed.error();
    return false;
  }
  std::string id(claimed->Get(0, 0));
  std::string message(claimed->Get(0, 1));
  int attempts = static_cast<int>(claimed->GetInt64(0, 2)) + 1;
  auto ack = SendMllp(options_.host, options_.port, message, options_.connect_timeout, options_.ack_timeout);
  std::string code;
  std::string ack_text;
  if (ack.has_value()) {
    ack_text = *ack;
    auto parsed = hl7v2::Message::Parse(*ack);
    if (parsed.has_value()) code = parsed->Get("MSA-1");
  }
  common::Result<fhir::store::pg::PgResult> recorded = common::InternalError("unset");
  if (code == "AA" || code == "CA") {
    recorded = conn->Execute(kSent, {id, "sent", ack_text});
  } else if (code == "AR" || code == "CR") {
    recorded = conn->Execute(kRetry, {id, "failed", "rejected by the EHR (" + code + ")", ack_text, "0"});
  } else {
    std::string error = ack.has_value() ? (code.empty() ? "not an HL7 acknowledgement" : "the EHR answered " + code)
                                        : ack.error().message();
    bool give_up = attempts >= options_.max_attempts;
    long long backoff = std::min<long long>(1000LL << std::min(attempts - 1, 20), 300000LL);
    recorded = conn->Execute(kRetry, {id, give_up ? "failed" : "pending", error,
                                      ack_text.empty() ? fhir::store::pg::PgParam() : ack_text, std::to_string(backoff)});
    common::LogWarning("hl7v2: ORU " + id + " not delivered (attempt " + std::to_string(attempts) + "): " + error);
  }
  if (!recorded.has_value()) {
    (void)conn->Execute(kRollback, {});
    return recorded.error();
  }
  if (auto c = conn->Execute(kCommit, {}); !c.has_value()) return c.error();
  return true;
}

common::Result<std::optional<OutboundRecord>> OutboundQueue::Find(const std::string& encounter_id) {
  FOVEA_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  FOVEA_ASSIGN_OR_RETURN(auto rows, conn->Execute(kFind, {encounter_id}));
  if (rows.rows() == 0) return std::optional<OutboundRecord>();
  OutboundRecord r;
  r.control_id = std::string(rows.Get(0, 0));
  r.message = std::string(rows.Get(0, 1));
  r.status = std::string(rows.Get(0, 2));
  r.attempts = static_cast<int>(rows.GetInt64(0, 3));
  r.ack = std::string(rows.Get(0, 4));
  r.last_error = std::string(rows.Get(0, 5));
  return std::optional<OutboundRecord>(std::move(r));
}

}  // namespace adapters::mllp
