#ifndef FOVEA_CONFORMANCE_ENGINE_DETAIL_TLS_H_
#define FOVEA_CONFORMANCE_ENGINE_DETAIL_TLS_H_

// The TLS client context of the engine's HTTPS and WSS connections: the system's trust store,
// plus a CA file for the private CAs of hospital test systems; certificates and host names are
// always verified. One context per CA file for the process. Thread-safe.

#include <Poco/Net/Context.h>

#include <string>

namespace conformance::engine::detail {

Poco::Net::Context::Ptr ClientTlsContext(const std::string& ca_file);

}  // namespace conformance::engine::detail

#endif  // FOVEA_CONFORMANCE_ENGINE_DETAIL_TLS_H_
