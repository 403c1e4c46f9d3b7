#ifndef FOVEA_COMMON_JSON_PATCH_H_
#define FOVEA_COMMON_JSON_PATCH_H_

// JSON Patch (RFC 6902) with JSON Pointer (RFC 6901) over common::JsonValue: add, remove,
// replace, move, copy, test. The patch applies completely or not at all (it works on a copy).

#include "common/json.h"
#include "common/status.h"

namespace common {

// `patch` must be an array of operation objects. kInvalid with a message naming the operation
// (by index) for a malformed patch, a path that does not exist, or a failed `test`.
Result<JsonValue> ApplyJsonPatch(const JsonValue& document, const JsonValue& patch);

}  // namespace common

#endif  // FOVEA_COMMON_JSON_PATCH_H_
