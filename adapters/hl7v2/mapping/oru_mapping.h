#ifndef FOVEA_ADAPTERS_HL7V2_MAPPING_ORU_MAPPING_H_
#define FOVEA_ADAPTERS_HL7V2_MAPPING_ORU_MAPPING_H_

// An approved screening session -> ORU^R01 (v2.5.1) for the hospital EHR (docs/HL7V2.md):
//
//   MSH  FOVEA / the unit -> the EHR; MSH-10 the queue's control id
//   PID  the Patient's identifiers (the hospital's first, Fovea's id as PI), name, birth date, sex
//   PV1  the visit number the ADT gave (Encounter.identifier)
//   OBR  one per session: filler order number = the Encounter id, period start/end, status F
//   OBX  one per Observation value (visual acuity and refraction per eye: OBX-4 sub-id and
//        OBX-20 the eye; components each their own OBX), then each DiagnosticReport's
//        conclusion (TX) and conclusion codes (CWE): the findings and the conclusion
//
// Pure: no I/O. Thread-safe.

#include <string>
#include <vector>

#include "adapters/hl7v2/message.h"
#include "common/json.h"

namespace adapters::hl7v2::mapping {

struct OruInput {
  common::JsonValue encounter;
  common::JsonValue patient;
  std::vector<common::JsonValue> observations;  // of the session's Encounter
  std::vector<common::JsonValue> reports;       // DiagnosticReports of the Encounter
  std::string control_id;
  std::string timestamp;  // MSH-7, YYYYMMDDHHMMSS+ZZZZ
  std::string sending_facility = "FOVEA-UNIT";
  std::string receiving_application = "EHR";
  std::string receiving_facility;
};

Message BuildOru(const OruInput& input);

// FHIR date/dateTime/instant -> HL7 DTM ("2024-01-02T10:30:00+01:00" -> "20240102103000+0100").
std::string ToHl7Timestamp(std::string_view fhir);

}  // namespace adapters::hl7v2::mapping

#endif  // FOVEA_ADAPTERS_HL7V2_MAPPING_ORU_MAPPING_H_
