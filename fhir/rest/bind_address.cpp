#include "fhir/rest/bind_address.h"

#include <arpa/inet.h>
#include <strings.h>

#include <cstring>
#include <string>

namespace fhir::rest {

bool IsLoopbackAddress(std::string_view host) {
  // The name is taken at its word (RFC 6761 reserves it for loopback); nothing is resolved here.
  if (host.size() == 9 && strncasecmp(host.data(), "localhost", 9) == 0) return true;
  std::string text(host);  // inet_pton needs a terminated string
  unsigned char v4[4];
  if (inet_pton(AF_INET, text.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) != 1) return false;
  static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(v6, kLoopback, sizeof kLoopback) == 0) return true;
  return std::memcmp(v6, kMappedPrefix, sizeof kMappedPrefix) == 0 && v6[12] == 127;
}

}  // namespace fhir::rest
