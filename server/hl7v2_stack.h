#ifndef FOVEA_SERVER_HL7V2_STACK_H_
#define FOVEA_SERVER_HL7V2_STACK_H_

// HL7 v2 wired for `fovea serve` (docs/HL7V2.md): the MLLP listener (--mllp-port), its durable
// inbox on a small connection pool of its own (a message holds its inbox row while its FHIR
// transaction runs on the main pool, so the two never wait for each other), and a FhirService
// that acts as the HL7 interface: a system client with the ehr-system role, audited as
// "hl7v2-interface", with the same extensions (workflow, subscriptions) as the HTTP API.

#include <memory>
#include <string>

#include "adapters/mllp/mllp_server.h"
#include "adapters/mllp/inbox.h"
#include "adapters/mllp/processor.h"
#include "common/clock.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/store/pg/connection_pool.h"
#include "server/config.h"

namespace server {

struct Hl7v2Wiring {
  const fhir::definitions::Definitions* defs = nullptr;
  fhir::store::ResourceStore* store = nullptr;
  const common::Clock* clock = nullptr;
  fhir::rest::ServiceOptions service_options;
  fhir::rest::SearchSupport search;
  fhir::rest::SecuritySupport security;  // its audit log is used; authentication is replaced
  fhir::rest::ExtensionSupport extensions;
  std::string dsn;
};

class Hl7v2Stack {
 public:
  // Starts the MLLP listener when config.mllp_port >= 0. kUnavailable when it cannot listen.
  static common::Result<std::unique_ptr<Hl7v2Stack>> Start(const Config& config, Hl7v2Wiring wiring);
  ~Hl7v2Stack();
  void Stop();
  int mllp_port() const { return mllp_ ? mllp_->port() : 0; }

 private:
  Hl7v2Stack(const Config& config, Hl7v2Wiring wiring);

  Hl7v2Wiring wiring_;
  fhir::store::pg::ConnectionPool inbox_pool_;
  adapters::mllp::PgInbox inbox_;
  fhir::rest::FhirService service_;
  std::unique_ptr<adapters::mllp::InboundProcessor> processor_;
  std::unique_ptr<adapters::mllp::MllpServer> mllp_;
};

}  // namespace server

#endif  // FOVEA_SERVER_HL7V2_STACK_H_
