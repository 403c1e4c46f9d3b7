#ifndef FOVEA_FHIR_MODEL_IDS_H_
#define FOVEA_FHIR_MODEL_IDS_H_

// Strong types for FHIR identifiers, parsed once at the edge.

#include <string>
#include <string_view>

#include "common/status.h"

namespace fhir::model {

// A resource's logical id: [A-Za-z0-9\-\.]{1,64} (hl7.org/fhir/R4/datatypes.html#id).
class LogicalId {
 public:
  static common::Result<LogicalId> Parse(std::string_view text);
  static bool IsValid(std::string_view text);
  // A fresh server-assigned id (random UUID v4 text, 36 characters).
  static LogicalId Generate();
  const std::string& value() const { return value_; }
  bool operator==(const LogicalId&) const = default;

 private:
  explicit LogicalId(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

// meta.versionId: a positive per-resource counter in Fovea ("1", "2", ...).
class VersionId {
 public:
  static common::Result<VersionId> Parse(std::string_view text);
  explicit VersionId(int v) : value_(v) {}
  int value() const { return value_; }
  std::string ToString() const { return std::to_string(value_); }

 private:
  int value_;
};

// Parses an ETag/If-Match value: W/"3", "3" or 3. Returns 0 when malformed.
int ParseETagVersion(std::string_view etag);

// A reference without its version: "Observation/1/_history/2" -> "Observation/1" (also in an
// absolute URL); anything without "/_history/" is returned as it is.
std::string_view WithoutHistory(std::string_view reference);

}  // namespace fhir::model

#endif  // FOVEA_FHIR_MODEL_IDS_H_
