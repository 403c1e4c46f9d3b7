#ifndef FOVEA_ADAPTERS_MLLP_PROCESSOR_H_
#define FOVEA_ADAPTERS_MLLP_PROCESSOR_H_

// What happens to one inbound HL7 v2 message (docs/HL7V2.md):
//
//   1. parsed (not a message at all: AR, nothing stored);
//   2. committed to the durable inbox (PgInbox) — a repeated control id finds the first;
//   3. enhanced mode (MSH-15): the commit accept CA is sent now, after that commit;
//   4. applied: mapped to one transaction Bundle (adapters/hl7v2/mapping) and run through
//      FhirService — the same code as POST /fhir/R4, so validation, the workflow,
//      subscriptions and audit see it — with MessageHeader/hl7v2-in-<inbox id> committed in
//      the same transaction as the proof that it was applied;
//   5. the outcome (AA, or AE/AR with an ERR naming segment and field) is committed to the
//      inbox entry, then sent as the application ACK (original mode: the only ACK).
//
// A crash after 2 leaves the entry 'received': ApplyPending() (at start and periodically)
// applies it, unless its MessageHeader shows it was applied already (crash between the FHIR
// commit and the inbox update). So an accepted message is applied exactly once, and a resend
// of it gets the recorded application ACK. Thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "adapters/mllp/inbox.h"
#include "common/clock.h"
#include "common/json.h"
#include "fhir/rest/fhir_service.h"

namespace adapters::mllp {

struct ProcessorOptions {
  std::string unit_location;  // "Location/<id>": where check-in Encounters take place
  // Test-only: stop (block the connection's thread for good) after the commit accept was sent,
  // or after the FHIR transaction committed but before the inbox records it, so a test can
  // SIGKILL the process there. Never set in production.
  enum class PauseForTesting { kNone, kAfterAccept, kAfterApply };
  PauseForTesting pause_for_testing = PauseForTesting::kNone;
};

class InboundProcessor {
 public:
  // `service` applies the messages (its principal is the HL7 interface's); both must outlive
  // this.
  InboundProcessor(const fhir::rest::FhirService& service, PgInbox& inbox,
                   const common::Clock& clock, ProcessorOptions options);

  // Handles one message; `send` is called with each acknowledgement to send, in order, and
  // returns false when the peer is gone.
  void Handle(std::string_view raw, const std::function<bool(const std::string&)>& send) const;

  // Applies every accepted entry that is not applied yet; returns how many it applied.
  common::Result<int> ApplyPending() const;

 private:
  struct Applied {
    std::string ack;
    bool stored = false;  // false: not recorded (the database failed); the sender should retry
  };
  Applied Apply(std::int64_t id, bool skip_locked, bool* skipped) const;
  common::Status ResolveEntries(common::JsonValue& bundle, const std::string& request_id) const;
  std::string Timestamp() const;

  const fhir::rest::FhirService& service_;
  PgInbox& inbox_;
  const common::Clock& clock_;
  const ProcessorOptions options_;
};

}  // namespace adapters::mllp

#endif  // FOVEA_ADAPTERS_MLLP_PROCESSOR_H_
