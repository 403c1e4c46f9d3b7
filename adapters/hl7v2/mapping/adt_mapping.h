#ifndef FOVEA_ADAPTERS_HL7V2_MAPPING_ADT_MAPPING_H_
#define FOVEA_ADAPTERS_HL7V2_MAPPING_ADT_MAPPING_H_

// ADT messages -> one FHIR transaction Bundle (docs/HL7V2.md has the field-by-field tables):
//
//   A01, A04  register / admit: the Patient upserted by identifier (PUT Patient?identifier=)
//             and a check-in Encounter (arrived, class FLD, type screening-session, at the
//             unit) created once per visit number (If-None-Exist), which starts the screening
//             session in the same transaction (docs/WORKFLOW.md)
//   A08       update patient information: the Patient upserted by identifier; so are the events
//             that only carry demographics for the unit (A02, A05-A07, A10, A14, A16, A28,
//             A31, A41, A60)
//   A47       change identifier list: the Patient found by MRG-1 takes PID's demographics
//   A12 A15 A25-A27 A32 A33 A38  cancellations of events the unit keeps nothing of: only the
//             MessageHeader below
//   A03       discharge: the visit's Encounter finished
//   A11       cancel admit / visit: the visit's Encounter cancelled
//   A40       merge: the prior Patient (MRG-1) inactive and linked replaced-by the surviving one
//             (PID-3), which is linked replaces
//   others    refused (AR, 201)
//
// Every Bundle also writes MessageHeader/<marker_id> (event, source, focus): the durable proof
// that this message was applied, committed with its effects (the MLLP inbox checks it after a
// crash so a message is never applied twice).
//
// Pure: no I/O. Thread-safe.

#include <optional>
#include <string>

#include "adapters/hl7v2/message.h"
#include "common/json.h"

namespace adapters::hl7v2::mapping {

struct AdtOptions {
  std::string unit_location;  // "Location/<id>" of the screening unit; empty: none
  std::string marker_id;      // the MessageHeader id committed with the message's effects
};

// Why a message cannot be applied: where, the HL7 table 0357 code, and whether it is a
// reject (AR: the message is not one Fovea takes) or an error (AE: it is, but its data is bad).
struct MappingError {
  Path location;
  std::string code;
  std::string text;
  bool reject = false;
};

struct AdtMapping {
  std::optional<common::JsonValue> bundle;  // a transaction Bundle, when the message applies
  std::optional<MappingError> error;
};

AdtMapping MapAdt(const Message& message, const AdtOptions& options);

// HL7 DTM/TS ("20240102", "202401021530+0100") to FHIR: a date (YYYY, YYYY-MM, YYYY-MM-DD),
// or a dateTime when the time comes with an offset (FHIR needs one). Empty stays empty;
// nullopt when it is not a valid timestamp.
std::optional<std::string> ToFhirDate(std::string_view ts);
std::optional<std::string> ToFhirDateTime(std::string_view ts);

// The FHIR Identifier.system for an assigning authority (HD): urn:oid: for an ISO OID,
// otherwise urn:fovea:hl7v2:id:<namespace>.
std::string IdentifierSystem(std::string_view namespace_id, std::string_view universal_id,
                             std::string_view universal_id_type);

}  // namespace adapters::hl7v2::mapping

#endif  // FOVEA_ADAPTERS_HL7V2_MAPPING_ADT_MAPPING_H_
