#include "server/hl7v2_stack.h"

#include <cstdlib>

#include "common/log.h"
#include "fhir/auth/principal.h"

namespace server {
namespace {

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
  s.authenticate = [](std::string_view) -> common::Result<fhir::auth::Principal> {
    return Hl7v2Principal();
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

}  // namespace

Hl7v2Stack::Hl7v2Stack(const Config& config, Hl7v2Wiring wiring)
    : wiring_(std::move(wiring)),
      inbox_pool_(wiring_.dsn, 8),
      inbox_(inbox_pool_),
      service_(*wiring_.defs, *wiring_.store, *wiring_.clock,
               Hl7v2ServiceOptions(wiring_.service_options), wiring_.search,
               Hl7v2Security(wiring_.security), wiring_.extensions) {
  adapters::mllp::ProcessorOptions options;
  if (!config.hl7v2_location.empty()) options.unit_location = "Location/" + config.hl7v2_location;
  options.pause_for_testing = PauseForTesting();
  processor_ = std::make_unique<adapters::mllp::InboundProcessor>(service_, inbox_, *wiring_.clock, options);
}

common::Result<std::unique_ptr<Hl7v2Stack>> Hl7v2Stack::Start(const Config& config, Hl7v2Wiring wiring) {
  std::unique_ptr<Hl7v2Stack> stack(new Hl7v2Stack(config, std::move(wiring)));
  if (config.mllp_port >= 0) {
    adapters::mllp::MllpOptions o;
    o.bind = config.bind;
    o.port = config.mllp_port;
    o.tls.cert_chain_file = config.tls_cert;
    o.tls.private_key_file = config.tls_key;
    if (PauseForTesting() == adapters::mllp::ProcessorOptions::PauseForTesting::kAfterAccept) {
      // The paused message must stay unapplied until the test kills the process.
      o.recovery_period = std::chrono::hours(24 * 365);
    }
    stack->mllp_ = std::make_unique<adapters::mllp::MllpServer>(*stack->processor_, o);
    FOVEA_RETURN_IF_ERROR(stack->mllp_->Start());
    common::LogInfo(std::string("HL7 v2 over MLLP") + (stack->mllp_->tls() ? " (TLS)" : "") +
                    " on " + config.bind + ":" + std::to_string(stack->mllp_->port()));
  }
  return stack;
}

Hl7v2Stack::~Hl7v2Stack() { Stop(); }

void Hl7v2Stack::Stop() {
  if (mllp_) mllp_->Stop();
}

}  // namespace server
