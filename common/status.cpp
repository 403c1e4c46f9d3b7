#include "common/status.h"

#include <ostream>

namespace common {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "kOk";
    case StatusCode::kInvalid: return "kInvalid";
    case StatusCode::kNotFound: return "kNotFound";
    case StatusCode::kGone: return "kGone";
    case StatusCode::kVersionConflict: return "kVersionConflict";
    case StatusCode::kConflict: return "kConflict";
    case StatusCode::kPreconditionFailed: return "kPreconditionFailed";
    case StatusCode::kPreconditionRequired: return "kPreconditionRequired";
    case StatusCode::kTooLarge: return "kTooLarge";
    case StatusCode::kUnsupportedMedia: return "kUnsupportedMedia";
    case StatusCode::kNotAcceptable: return "kNotAcceptable";
    case StatusCode::kMethodNotAllowed: return "kMethodNotAllowed";
    case StatusCode::kNotSupported: return "kNotSupported";
    case StatusCode::kUnauthenticated: return "kUnauthenticated";
    case StatusCode::kForbidden: return "kForbidden";
    case StatusCode::kTooManyRequests: return "kTooManyRequests";
    case StatusCode::kUnavailable: return "kUnavailable";
    case StatusCode::kInternal: return "kInternal";
  }
  return "kUnknown";
}

std::ostream& operator<<(std::ostream& os, StatusCode code) { return os << StatusCodeName(code); }

}  // namespace common
