#ifndef FOVEA_FHIR_REST_BIND_ADDRESS_H_
#define FOVEA_FHIR_REST_BIND_ADDRESS_H_

// The rule behind "plain HTTP only on a loopback bind address": without TLS, Fovea may listen
// only where no other machine can reach it.

#include <string_view>

namespace fhir::rest {

// True for a numeric loopback address — 127.0.0.0/8, ::1, or an IPv4-mapped 127.x
// (::ffff:127.0.0.1) — and for the name "localhost" (any case). False for everything else,
// including the wildcard addresses 0.0.0.0 and ::, other names, and the empty string.
// Examples: "127.0.0.1" -> true, "127.1.2.3" -> true, "::1" -> true, "0.0.0.0" -> false,
// "192.168.1.10" -> false, "localhost.example.org" -> false. Thread-safe.
bool IsLoopbackAddress(std::string_view host);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_BIND_ADDRESS_H_
