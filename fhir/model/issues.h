#ifndef FOVEA_FHIR_MODEL_ISSUES_H_
#define FOVEA_FHIR_MODEL_ISSUES_H_

// The data-problem channel (google/fhir's ErrorHandler): validators and parsers report what is
// wrong with a resource, each with a FHIRPath location, into an IssueSink. Status stays for
// "could not run".

#include <string>
#include <string_view>
#include <vector>

namespace fhir::model {

enum class IssueSeverity { kFatal, kError, kWarning, kInformation };

// OperationOutcome.issue.code (hl7.org/fhir/R4/valueset-issue-type.html), the subset we emit.
enum class IssueType {
  kInvalid, kStructure, kRequired, kValue, kInvariant, kCodeInvalid, kNotFound, kDeleted,
  kConflict, kProcessing, kNotSupported, kTooLong, kSecurity, kException, kTransient,
  kInformational, kDuplicate, kTooCostly, kThrottled,
};

std::string_view IssueSeverityCode(IssueSeverity s);
std::string_view IssueTypeCode(IssueType t);

struct Issue {
  IssueSeverity severity = IssueSeverity::kError;
  IssueType type = IssueType::kInvalid;
  std::string location;    // FHIRPath, e.g. Patient.name[2].given[0]; empty for the whole body
  std::string diagnostics; // for a person to act on; no PHI, no SQL
};

// Receives issues. Implementations decide whether to collect or stop.
class IssueSink {
 public:
  virtual ~IssueSink() = default;
  virtual void Report(Issue issue) = 0;
  virtual bool HasErrors() const = 0;
};

// Collects every issue, for an OperationOutcome. Thread-compatible.
class OperationOutcomeSink final : public IssueSink {
 public:
  void Report(Issue issue) override;
  bool HasErrors() const override { return errors_ > 0; }
  const std::vector<Issue>& issues() const { return issues_; }

 private:
  std::vector<Issue> issues_;
  int errors_ = 0;
};

// Remembers the first error only: for internal callers that just need pass/fail.
class FailFastSink final : public IssueSink {
 public:
  void Report(Issue issue) override;
  bool HasErrors() const override { return has_error_; }
  const Issue& first() const { return first_; }

 private:
  Issue first_;
  bool has_error_ = false;
};

// A location inside a resource plus the sink, so nested code reports with the right path:
//   auto name = scope.Child("name", 2);   // Patient.name[2]
//   name.Error(IssueType::kRequired, "...");
// Scopes link to their parent instead of copying the path, so the path string is only built
// when an issue is reported: a scope must not outlive the scope it was made from.
class IssueScope {
 public:
  IssueScope(IssueSink& sink, std::string root) : sink_(&sink), segment_(std::move(root)) {}
  IssueScope Child(std::string_view name) const;
  IssueScope Child(std::string_view name, std::size_t index) const;
  IssueScope Index(std::size_t index) const;
  // The FHIRPath of this location, e.g. "Patient.name[2]".
  std::string path() const;
  // True for a root scope with no path (a resource not yet named).
  bool empty() const { return parent_ == nullptr && segment_.empty() && index_ < 0; }
  IssueSink& sink() const { return *sink_; }

  void Error(IssueType type, std::string message) const;
  void Warning(IssueType type, std::string message) const;

 private:
  IssueScope(IssueSink* sink, const IssueScope* parent, std::string segment, long index)
      : sink_(sink), parent_(parent), segment_(std::move(segment)), index_(index) {}
  void AppendPath(std::string& out) const;

  IssueSink* sink_;
  const IssueScope* parent_ = nullptr;
  std::string segment_;  // element name; empty for an index-only step
  long index_ = -1;      // [index] after the segment, or -1
};

}  // namespace fhir::model

#endif  // FOVEA_FHIR_MODEL_ISSUES_H_
