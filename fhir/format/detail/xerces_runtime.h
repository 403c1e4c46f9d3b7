#ifndef FOVEA_FHIR_FORMAT_DETAIL_XERCES_RUNTIME_H_
#define FOVEA_FHIR_FORMAT_DETAIL_XERCES_RUNTIME_H_

// Process-wide Xerces-C++ initialisation, shared by every Xerces user in fhir/format (the XML
// reader and the schema validator): a single guard, so that two first uses racing on different
// threads cannot both run XMLPlatformUtils::Initialize, which is not thread-safe.

#include "common/status.h"

namespace fhir::format::detail {

// Initialises Xerces on first call (a function-local static: one thread constructs it while the
// others wait) and returns the outcome, kInternal if Xerces could not start. Terminate runs at
// static destruction; objects holding Xerces state in statics must call this before building
// them, so that they are destroyed first. Thread-safe.
const common::Status& EnsureXercesRuntime();

}  // namespace fhir::format::detail

#endif  // FOVEA_FHIR_FORMAT_DETAIL_XERCES_RUNTIME_H_
