#include "conformance/engine/detail/tls.h"

#include <map>
#include <mutex>

namespace conformance::engine::detail {

Poco::Net::Context::Ptr ClientTlsContext(const std::string& ca_file) {
  static std::mutex mu;
  static std::map<std::string, Poco::Net::Context::Ptr> contexts;  // guarded by mu
  std::lock_guard lock(mu);
  auto& context = contexts[ca_file];
  if (context.isNull()) {
    context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", ca_file,
                                     Poco::Net::Context::VERIFY_STRICT, 9,
                                     /*loadDefaultCAs=*/true);
  }
  return context;
}

}  // namespace conformance::engine::detail
