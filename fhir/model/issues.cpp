#include "fhir/model/issues.h"

namespace fhir::model {

std::string_view IssueSeverityCode(IssueSeverity s) {
  switch (s) {
    case IssueSeverity::kFatal: return "fatal";
    case IssueSeverity::kError: return "error";
    case IssueSeverity::kWarning: return "warning";
    case IssueSeverity::kInformation: return "information";
  }
  return "error";
}

std::string_view IssueTypeCode(IssueType t) {
  switch (t) {
    case IssueType::kInvalid: return "invalid";
    case IssueType::kStructure: return "structure";
    case IssueType::kRequired: return "required";
    case IssueType::kValue: return "value";
    case IssueType::kInvariant: return "invariant";
    case IssueType::kCodeInvalid: return "code-invalid";
    case IssueType::kNotFound: return "not-found";
    case IssueType::kDeleted: return "deleted";
    case IssueType::kConflict: return "conflict";
    case IssueType::kProcessing: return "processing";
    case IssueType::kNotSupported: return "not-supported";
    case IssueType::kTooLong: return "too-long";
    case IssueType::kSecurity: return "security";
    case IssueType::kException: return "exception";
    case IssueType::kTransient: return "transient";
    case IssueType::kInformational: return "informational";
    case IssueType::kDuplicate: return "duplicate";
    case IssueType::kTooCostly: return "too-costly";
    case IssueType::kThrottled: return "throttled";
  }
  return "invalid";
}

void OperationOutcomeSink::Report(Issue issue) {
  if (issue.severity == IssueSeverity::kError || issue.severity == IssueSeverity::kFatal) {
    ++errors_;
  }
  issues_.push_back(std::move(issue));
}

void FailFastSink::Report(Issue issue) {
  if (has_error_) return;
  if (issue.severity == IssueSeverity::kError || issue.severity == IssueSeverity::kFatal) {
    first_ = std::move(issue);
    has_error_ = true;
  }
}

IssueScope IssueScope::Child(std::string_view name) const {
  return IssueScope(sink_, this, std::string(name), -1);
}

IssueScope IssueScope::Child(std::string_view name, std::size_t index) const {
  return IssueScope(sink_, this, std::string(name), static_cast<long>(index));
}

IssueScope IssueScope::Index(std::size_t index) const {
  return IssueScope(sink_, this, std::string(), static_cast<long>(index));
}

void IssueScope::AppendPath(std::string& out) const {
  if (parent_ != nullptr) parent_->AppendPath(out);
  if (!segment_.empty()) {
    if (!out.empty()) out += '.';
    out += segment_;
  }
  if (index_ >= 0) {
    out += '[';
    out += std::to_string(index_);
    out += ']';
  }
}

std::string IssueScope::path() const {
  std::string out;
  AppendPath(out);
  return out;
}

void IssueScope::Error(IssueType type, std::string message) const {
  sink_->Report({IssueSeverity::kError, type, path(), std::move(message)});
}

void IssueScope::Warning(IssueType type, std::string message) const {
  sink_->Report({IssueSeverity::kWarning, type, path(), std::move(message)});
}

}  // namespace fhir::model
