#include "fhir/rest/outcome.h"

#include "fhir/rest/media_types.h"

#include "common/json.h"

namespace fhir::rest {

using common::StatusCode;
using model::IssueType;

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalid: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kGone: return 410;
    case StatusCode::kVersionConflict: return 409;
    case StatusCode::kConflict: return 409;
    case StatusCode::kPreconditionFailed: return 412;
    case StatusCode::kPreconditionRequired: return 428;
    case StatusCode::kTooLarge: return 413;
    case StatusCode::kUnsupportedMedia: return 415;
    case StatusCode::kNotAcceptable: return 406;
    case StatusCode::kMethodNotAllowed: return 405;
    case StatusCode::kNotSupported: return 501;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kForbidden: return 403;
    case StatusCode::kTooManyRequests: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

IssueType IssueTypeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalid: return IssueType::kInvalid;
    case StatusCode::kNotFound: return IssueType::kNotFound;
    case StatusCode::kGone: return IssueType::kDeleted;
    case StatusCode::kVersionConflict:
    case StatusCode::kConflict:
    case StatusCode::kPreconditionFailed:
    case StatusCode::kPreconditionRequired: return IssueType::kConflict;
    case StatusCode::kTooLarge: return IssueType::kTooLong;
    case StatusCode::kUnsupportedMedia:
    case StatusCode::kNotAcceptable:
    case StatusCode::kMethodNotAllowed:
    case StatusCode::kNotSupported: return IssueType::kNotSupported;
    case StatusCode::kUnauthenticated:
    case StatusCode::kForbidden: return IssueType::kSecurity;
    case StatusCode::kTooManyRequests: return IssueType::kThrottled;
    case StatusCode::kUnavailable: return IssueType::kTransient;
    default: return IssueType::kException;
  }
}

std::string OperationOutcomeJson(const std::vector<model::Issue>& issues) {
  std::string out = R"({"resourceType":"OperationOutcome","issue":[)";
  bool first = true;
  for (const auto& issue : issues) {
    if (!first) out += ',';
    first = false;
    out += R"({"severity":")";
    out += model::IssueSeverityCode(issue.severity);
    out += R"(","code":")";
    out += model::IssueTypeCode(issue.type);
    out += '"';
    if (!issue.diagnostics.empty()) {
      out += R"(,"diagnostics":)";
      common::AppendJsonString(out, issue.diagnostics);
    }
    if (!issue.location.empty()) {
      out += R"(,"location":[)";
      common::AppendJsonString(out, issue.location);
      out += R"(],"expression":[)";
      common::AppendJsonString(out, issue.location);
      out += ']';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::string OperationOutcomeJson(const common::Status& status) {
  return OperationOutcomeJson(
      {{model::IssueSeverity::kError, IssueTypeFor(status.code()), "", status.message()}});
}

std::string InformationOutcomeJson(const std::string& message) {
  return OperationOutcomeJson(
      {{model::IssueSeverity::kInformation, IssueType::kInformational, "", message}});
}

RestResponse FhirJsonResponse(int status, std::string body) {
  RestResponse r;
  r.status = status;
  r.content_type = ContentTypeOf(FhirFormat::kJson);
  r.body = std::move(body);
  return r;
}

RestResponse OutcomeResponse(const common::Status& status) {
  return FhirJsonResponse(HttpStatusFor(status.code()), OperationOutcomeJson(status));
}

}  // namespace fhir::rest
