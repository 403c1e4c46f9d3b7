#ifndef FOVEA_COMMON_HEX_H_
#define FOVEA_COMMON_HEX_H_

// Lower-case hexadecimal text of bytes (key fingerprints, FHIRPath encode('hex'), random node
// ids). Stateless: thread-safe.

#include <string>
#include <string_view>

namespace common {

std::string HexEncode(std::string_view bytes);

}  // namespace common

#endif  // FOVEA_COMMON_HEX_H_
