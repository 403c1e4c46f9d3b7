#ifndef FOVEA_COMMON_STATUS_H_
#define FOVEA_COMMON_STATUS_H_

// Status and Result<T>: the "could the code run" error channel (problems *in the data* go to an
// IssueSink instead). Result is shaped like std::expected so we can move to it with C++23.

#include <cassert>
#include <iosfwd>
#include <string_view>
#include <string>
#include <utility>
#include <variant>

namespace common {

// Domain-level codes. fhir/rest maps each to one HTTP status and one OperationOutcome issue code.
enum class StatusCode {
  kOk,
  kInvalid,             // 400: the request or resource is malformed
  kNotFound,            // 404
  kGone,                // 410: the resource was deleted
  kVersionConflict,     // 409: a concurrent write won; the caller may retry
  kConflict,            // 409: the change contradicts the resource's state (an illegal
                        //      workflow transition); retrying the same change will not help
  kPreconditionFailed,  // 412: If-Match did not hold
  kPreconditionRequired,// 428: If-Match is mandatory on this server
  kTooLarge,            // 413
  kUnsupportedMedia,    // 415
  kNotAcceptable,       // 406
  kMethodNotAllowed,    // 405
  kNotSupported,        // 501
  kUnauthenticated,     // 401
  kForbidden,           // 403
  kTooManyRequests,     // 429: a rate limit; retry later
  kUnavailable,         // 503: e.g. the database is down
  kInternal,            // 500
};

std::string_view StatusCodeName(StatusCode code);  // "kNotFound"
std::ostream& operator<<(std::ostream& os, StatusCode code);

// Thread-compatible value type.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  // Safe to show to a client: never SQL, stack traces or PHI.
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidError(std::string m) { return {StatusCode::kInvalid, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// Holds a T or a non-OK Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit like std::expected
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace common

#define FOVEA_STATUS_CONCAT_INNER(a, b) a##b
#define FOVEA_STATUS_CONCAT(a, b) FOVEA_STATUS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) is not OK.
#define FOVEA_RETURN_IF_ERROR(expr)               \
  do {                                            \
    ::common::Status fovea_status_ = (expr);      \
    if (!fovea_status_.ok()) return fovea_status_; \
  } while (false)

// FOVEA_ASSIGN_OR_RETURN(auto x, ResultReturningCall());
#define FOVEA_ASSIGN_OR_RETURN(lhs, expr) \
  FOVEA_ASSIGN_OR_RETURN_IMPL(FOVEA_STATUS_CONCAT(fovea_result_, __LINE__), lhs, expr)
#define FOVEA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.has_value()) return tmp.error();         \
  lhs = std::move(tmp).value()

#endif  // FOVEA_COMMON_STATUS_H_
