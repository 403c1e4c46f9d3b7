#include "server/hl7v2_stack.h"

#include <cstdlib>

#include "common/json.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/auth/principal.h"
#include "fhir/rest/access_control.h"
#include "fhir/rest/outcome.h"
#include "fhir/rest/writes.h"

std::string_view EmbeddedHl7v2Operation();  // server/data/hl7v2-operation.json

namespace server {
namespace {

using common::JsonValue;

// Who HL7 v2 messages act as: the hospital EHR's interface (roles.json: ehr-system).
fhir::auth::Principal Hl7v2Principal() {
  fhir::auth::Principal p;
  p.kind = fhir::auth::Principal::Kind::kClient;
  p.subject = "hl7v2-interface";
  p.client_id = "hl7v2-interface";
  p.roles = {"ehr-system"};
  p.scopes = fhir::auth::ScopeSet::Parse("system/*.cruds");
  return p;
}

fhir::rest::SecuritySupport Hl7v2Security(fhir::rest::SecuritySupport s) {
  s.authenticate = [principal = std::make_shared<const fhir::auth::Principal>(Hl7v2Principal())](
                        std::string_view) -> common::Result<std::shared_ptr<const fhir::auth::Principal>> {
    return principal;
  };
  return s;
}

fhir::rest::ServiceOptions Hl7v2ServiceOptions(fhir::rest::ServiceOptions o) {
  o.rate_limit = {};  // the MLLP connection count bounds the load
  o.require_if_match = false;
  return o;
}

adapters::mllp::ProcessorOptions::PauseForTesting PauseForTesting() {
  using P = adapters::mllp::ProcessorOptions::PauseForTesting;
  const char* v = std::getenv("FOVEA_HL7V2_PAUSE_FOR_TESTING");
  if (v == nullptr) return P::kNone;
  std::string s = v;
  if (s == "after-accept") return P::kAfterAccept;
  if (s == "after-apply") return P::kAfterApply;
  return P::kNone;
}

JsonValue Param(const std::string& name, const std::string& type, JsonValue value) {
  JsonValue p = JsonValue::Object();
  p.Set("name", JsonValue::String(name));
  p.Set(type, std::move(value));
  return p;
}

std::string Hl7Now(const common::Clock& clock) {
  std::string iso = common::FormatInstant(clock.Now());
  std::string digits;
  for (std::size_t i = 0; i < iso.size() && i < 19; ++i) {
    if (iso[i] >= '0' && iso[i] <= '9') digits.push_back(iso[i]);
  }
  return digits + "+0000";
}

}  // namespace

Hl7v2Stack::Hl7v2Stack(const Config& config, Hl7v2Wiring wiring)
    : config_(config),
      wiring_(std::move(wiring)),
      // One connection per MLLP connection applying a message, plus recovery and outbound.
      pool_(wiring_.dsn, static_cast<std::size_t>(adapters::mllp::MllpOptions{}.max_connections) + 2),
      inbox_(pool_),
      service_(*wiring_.defs, *wiring_.store, *wiring_.clock,
               Hl7v2ServiceOptions(wiring_.service_options), wiring_.search,
               Hl7v2Security(wiring_.security), wiring_.extensions) {
  adapters::mllp::ProcessorOptions options;
  if (!config.hl7v2_location.empty()) options.unit_location = "Location/" + config.hl7v2_location;
  options.pause_for_testing = PauseForTesting();
  processor_ = std::make_unique<adapters::mllp::InboundProcessor>(service_, inbox_, *wiring_.clock, options);
  if (!config.hl7v2_location.empty()) outbound_options_.sending_facility = config.hl7v2_location;
}

common::Status Hl7v2Stack::Start() {
  FOVEA_RETURN_IF_ERROR(fhir::rest::EnsureShipped(*wiring_.store, {{"OperationDefinition", EmbeddedHl7v2Operation()}},
                                                  wiring_.clock->Now(), wiring_.search.registry->Get().get()));
  if (!config_.hl7v2_outbound.empty()) {
    FOVEA_RETURN_IF_ERROR(adapters::mllp::ParseEndpoint(config_.hl7v2_outbound, outbound_options_));
  }
  outbound_ = std::make_unique<adapters::mllp::OutboundQueue>(pool_, service_, *wiring_.clock, outbound_options_);
  if (config_.mllp_port >= 0) {
    adapters::mllp::MllpOptions o;
    o.bind = config_.bind;
    o.port = config_.mllp_port;
    o.tls.cert_chain_file = config_.tls_cert;
    o.tls.private_key_file = config_.tls_key;
    o.idle_timeout = std::chrono::seconds(config_.mllp_idle_timeout_seconds);
    if (PauseForTesting() == adapters::mllp::ProcessorOptions::PauseForTesting::kAfterAccept) {
      // The paused message must stay unapplied until the test kills the process.
      o.recovery_period = std::chrono::hours(24 * 365);
    }
    mllp_ = std::make_unique<adapters::mllp::MllpServer>(*processor_, o);
    FOVEA_RETURN_IF_ERROR(mllp_->Start());
    common::LogInfo(std::string("HL7 v2 over MLLP") + (mllp_->tls() ? " (TLS)" : "") + " on " +
                    config_.bind + ":" + std::to_string(mllp_->port()));
  }
  if (!config_.hl7v2_outbound.empty()) {
    outbound_thread_ = std::thread([this] {
      common::NameThisThread("fovea-hl7-out");
      OutboundLoop();
    });
    common::LogInfo("HL7 v2 results (ORU^R01) go to " + config_.hl7v2_outbound);
  }
  return common::Status::Ok();
}

void Hl7v2Stack::OutboundLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto queued = outbound_->QueueApproved();
    if (!queued.has_value()) common::LogWarning("hl7v2: queueing results failed: " + queued.error().message());
    while (true) {
      auto delivered = outbound_->DeliverOne();
      if (!delivered.has_value() || !*delivered) break;
      std::lock_guard check(mu_);
      if (stopping_) break;
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
  }
}

Hl7v2Stack::~Hl7v2Stack() { Stop(); }

void Hl7v2Stack::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (outbound_thread_.joinable()) outbound_thread_.join();
  if (mllp_) mllp_->Stop();
}

fhir::rest::ExtensionSupport Hl7v2Stack::Extensions() {
  fhir::rest::ExtensionSupport e;
  e.operation = [this](const std::string& type, const std::string& id, const std::string& operation,
                       const fhir::rest::RestRequest& request,
                       const fhir::rest::AccessControl& access) -> std::optional<fhir::rest::RestResponse> {
    if (type != "Encounter" || operation != "hl7v2") return std::nullopt;
    if (id.empty() || request.method != "GET") {
      return fhir::rest::OutcomeResponse(common::Status(common::StatusCode::kMethodNotAllowed,
                                                        "$hl7v2 is GET Encounter/[id]/$hl7v2"));
    }
    for (const char* t : {"Encounter", "Patient", "Observation", "DiagnosticReport"}) {
      if (access.ReachFor(t, fhir::auth::Permission::kRead) != fhir::auth::Reach::kAll) {
        return fhir::rest::OutcomeResponse(common::Status(
            common::StatusCode::kForbidden, std::string("$hl7v2 needs read access to every ") + t));
      }
    }
    if (outbound_ == nullptr) {
      return fhir::rest::OutcomeResponse(common::UnavailableError("HL7 v2 is starting"));
    }
    auto queued = outbound_->Find(id);
    if (!queued.has_value()) return fhir::rest::OutcomeResponse(queued.error());
    JsonValue params = JsonValue::Object();
    params.Set("resourceType", JsonValue::String("Parameters"));
    JsonValue& list = params.Set("parameter", JsonValue::Array());
    if (queued->has_value()) {
      const auto& r = **queued;
      list.Add(Param("message", "valueString", JsonValue::String(r.message)));
      list.Add(Param("delivery", "valueCode", JsonValue::String(r.status)));
      list.Add(Param("attempts", "valueInteger", JsonValue::Number(std::to_string(r.attempts))));
      if (!r.ack.empty()) list.Add(Param("ack", "valueString", JsonValue::String(r.ack)));
      if (!r.last_error.empty()) list.Add(Param("last-error", "valueString", JsonValue::String(r.last_error)));
    } else {
      // Not queued (not approved yet, or before HL7 v2 was set up): what it would look like.
      auto oru = adapters::mllp::RenderSessionOru(service_, id, "PREVIEW", Hl7Now(*wiring_.clock), outbound_options_);
      if (!oru.has_value()) return fhir::rest::OutcomeResponse(oru.error());
      list.Add(Param("message", "valueString", JsonValue::String(*oru)));
      list.Add(Param("delivery", "valueCode", JsonValue::String("not-queued")));
    }
    return fhir::rest::FhirJsonResponse(200, common::ToJson(params));
  };
  // Listed in the CapabilityStatement; its OperationDefinition is shipped by Start().
  e.operations.push_back({"Encounter", "hl7v2", "https://fovea.health/fhir/OperationDefinition/hl7v2"});
  return e;
}

}  // namespace server
