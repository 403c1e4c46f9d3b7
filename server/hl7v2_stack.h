#ifndef FOVEA_SERVER_HL7V2_STACK_H_
#define FOVEA_SERVER_HL7V2_STACK_H_

// HL7 v2 wired for `fovea serve` (docs/HL7V2.md):
//  - a FhirService that acts as the HL7 interface: a system client with the ehr-system role,
//    audited as "hl7v2-interface", with the same extensions (workflow, subscriptions) as the
//    HTTP API, so messages take the normal write path;
//  - the MLLP listener (--mllp-port) and its durable inbox;
//  - the outbound worker: approved sessions queued as ORU^R01 and sent to --hl7v2-outbound;
//  - Encounter/[id]/$hl7v2 for the HTTP API (Extensions()): the session's ORU^R01 and its
//    delivery state.
// The inbox and queue use a connection pool of their own (one per MLLP connection, plus two): a
// message holds its inbox row while its FHIR transaction runs on the main pool, so the two never
// wait for each other.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/mllp/inbox.h"
#include "adapters/mllp/mllp_server.h"
#include "adapters/mllp/outbound.h"
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
  Hl7v2Stack(const Config& config, Hl7v2Wiring wiring);
  ~Hl7v2Stack();
  Hl7v2Stack(const Hl7v2Stack&) = delete;
  Hl7v2Stack& operator=(const Hl7v2Stack&) = delete;

  // Starts the MLLP listener (config.mllp_port >= 0) and the outbound worker. kUnavailable
  // when the port cannot be bound, kInvalid for a bad --hl7v2-outbound.
  common::Status Start();
  void Stop();
  int mllp_port() const { return mllp_ ? mllp_->port() : 0; }
  // Encounter/[id]/$hl7v2 for the HTTP API's FhirService.
  fhir::rest::ExtensionSupport Extensions();

 private:
  void OutboundLoop();

  const Config config_;
  Hl7v2Wiring wiring_;
  fhir::store::pg::ConnectionPool pool_;
  adapters::mllp::PgInbox inbox_;
  fhir::rest::FhirService service_;
  adapters::mllp::OutboundOptions outbound_options_;
  std::unique_ptr<adapters::mllp::InboundProcessor> processor_;
  std::unique_ptr<adapters::mllp::OutboundQueue> outbound_;
  std::unique_ptr<adapters::mllp::MllpServer> mllp_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread outbound_thread_;
};

}  // namespace server

#endif  // FOVEA_SERVER_HL7V2_STACK_H_
