#ifndef FOVEA_COMMON_HEX_H_
#define FOVEA_COMMON_HEX_H_

// Lower-case hexadecimal text of bytes (key fingerprints, FHIRPath encode('hex'), random node
// ids). Stateless: thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace common {

std::string HexEncode(std::string_view bytes);
// The value of one hex digit (either case), -1 for any other character.
int HexDigitValue(char c);
// The bytes of hex text (either case); nullopt for an odd length or a non-hex character.
std::optional<std::string> HexDecode(std::string_view text);

}  // namespace common

#endif  // FOVEA_COMMON_HEX_H_
