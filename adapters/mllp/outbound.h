#ifndef FOVEA_ADAPTERS_MLLP_OUTBOUND_H_
#define FOVEA_ADAPTERS_MLLP_OUTBOUND_H_

// Results out (docs/HL7V2.md): approved screening sessions become ORU^R01 messages in a
// durable queue (migration 0009/0010: hl7v2_outbound, hl7v2_outbound_cursor) and go to the
// EHR's MLLP endpoint with retries and backoff; the EHR's ACK is recorded.
//
// Queueing: the approval completes the session Task (docs/WORKFLOW.md). QueueApproved() asks
// FhirService for session Tasks completed since the cursor (with a minute of overlap, for
// writes whose lastUpdated was stamped before a later one committed), renders each session's
// ORU and inserts it (unique per Encounter) while holding the cursor row, then moves the
// cursor. Polling the Tasks keeps the workflow module untouched and needs no trigger; the
// price is up to one poll period of delay.
//
// Delivery: DeliverOne() claims the oldest due message FOR UPDATE SKIP LOCKED (any node, one
// at a time per message), sends it, and records AA/CA as sent, AR/CR as failed, and anything
// else (no connection, no answer, AE/CE) as a retry after 1 s doubling to 5 min, failed after
// max_attempts. Thread-safe.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "adapters/hl7v2/mapping/oru_mapping.h"
#include "common/clock.h"
#include "common/status.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/store/pg/connection_pool.h"

namespace adapters::mllp {

struct OutboundOptions {
  std::string host;  // the EHR's MLLP listener; empty: nothing is sent (messages still queue)
  int port = 0;
  std::string sending_facility = "FOVEA-UNIT";
  std::string receiving_application = "EHR";
  std::string receiving_facility;
  int max_attempts = 20;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds ack_timeout{15000};
};

// "host:port" -> options; kInvalid otherwise.
common::Status ParseEndpoint(const std::string& text, OutboundOptions& options);

// The ORU^R01 of the session whose Encounter is `encounter_id`, read through `service`.
common::Result<std::string> RenderSessionOru(const fhir::rest::FhirService& service,
                                             const std::string& encounter_id,
                                             const std::string& control_id,
                                             const std::string& timestamp,
                                             const OutboundOptions& options);

// Sends one framed message and waits for one framed answer.
common::Result<std::string> SendMllp(const std::string& host, int port, const std::string& message,
                                     std::chrono::milliseconds connect_timeout,
                                     std::chrono::milliseconds ack_timeout);

struct OutboundRecord {
  std::string control_id;
  std::string message;
  std::string status;  // pending | sent | failed
  int attempts = 0;
  std::string ack;
  std::string last_error;
};

class OutboundQueue {
 public:
  OutboundQueue(fhir::store::pg::ConnectionPool& pool, const fhir::rest::FhirService& service,
                const common::Clock& clock, OutboundOptions options);

  // Queues the sessions approved since the last pass; returns how many were queued.
  common::Result<int> QueueApproved();
  // Delivers the oldest due message; false when none was due.
  common::Result<bool> DeliverOne();
  // The queued message of a session, if any.
  common::Result<std::optional<OutboundRecord>> Find(const std::string& encounter_id);

 private:
  std::string Timestamp() const;

  fhir::store::pg::ConnectionPool& pool_;
  const fhir::rest::FhirService& service_;
  const common::Clock& clock_;
  const OutboundOptions options_;
};

}  // namespace adapters::mllp

#endif  // FOVEA_ADAPTERS_MLLP_OUTBOUND_H_
