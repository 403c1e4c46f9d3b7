#ifndef FOVEA_COMMON_BASE64_H_
#define FOVEA_COMMON_BASE64_H_

// RFC 4648 base64 with padding: FHIR's base64Binary (Binary.data, Attachment.data) and
// AuditEvent.entity.query. Stateless: thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace common {

std::string Base64Encode(std::string_view bytes);
// nullopt for text that is not base64 (whitespace is skipped; padding is optional).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace common

#endif  // FOVEA_COMMON_BASE64_H_
