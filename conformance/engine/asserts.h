#ifndef FOVEA_CONFORMANCE_ENGINE_ASSERTS_H_
#define FOVEA_CONFORMANCE_ENGINE_ASSERTS_H_

// TestScript asserts (hl7.org/fhir/R4/testscript-definitions.html#TestScript.setup.action.assert):
// one evaluator per assert kind, over what the executor recorded. An assert that names several
// kinds (e.g. headerField and contentType) passes only when every one of them passes. Pure
// functions of their inputs: thread-compatible.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "conformance/engine/http_transport.h"
#include "conformance/engine/test_script.h"
#include "fhir/model/element.h"

namespace conformance::engine {

enum class Outcome { kPass, kFail, kWarning, kSkip, kError };
std::string_view OutcomeName(Outcome o);  // "pass", "fail", "warning", "skip", "error"

// One request and its answer.
struct Exchange {
  HttpRequest request;
  HttpResponse response;
};

// Something an assert or a variable evaluates against: a static fixture (file), a response
// kept under a responseId, or a request kept under a requestId.
class Source {
 public:
  // `text` is FHIR JSON or XML (or empty).
  static Source FromText(std::string text);
  static Source FromExchange(Exchange exchange, bool request_side);

  // The body as FHIR JSON; empty when there is none or it is not a FHIR resource.
  const std::string& json() const { return json_; }
  // The parsed resource; null when json() is empty or unreadable.
  const fhir::model::Element* tree() const { return tree_ ? &*tree_ : nullptr; }
  const Exchange* exchange() const { return exchange_ ? &*exchange_ : nullptr; }
  bool request_side() const { return request_side_; }
  // Why json() is empty, when a body was there but could not be read.
  const std::string& parse_error() const { return parse_error_; }

 private:
  void SetBody(const std::string& text);
  std::string json_;
  std::shared_ptr<const fhir::model::Element> tree_;
  std::optional<Exchange> exchange_;
  bool request_side_ = false;
  std::string parse_error_;
};

struct AssertResult {
  Outcome outcome = Outcome::kPass;
  std::string message;
};

// What an assert may look at.
struct AssertContext {
  std::string base;                          // the FHIR base URL, no trailing '/'
  const Exchange* last = nullptr;            // the last operation's request and response
  // A fixture by id (static, responseId or requestId); null when unknown.
  std::function<const Source*(const std::string& id)> fixture;
  const std::map<std::string, std::string>* profiles = nullptr;  // profile id -> URL
};

// Evaluates one assert. kFail (or kWarning with warningOnly) when it does not hold; kError
// when it cannot be evaluated (a bad FHIRPath, no response to look at); kSkip for what the
// engine cannot check (an XPath it cannot translate), with the reason in the message.
AssertResult EvaluateAssert(const Assert& assertion, const AssertContext& context);

// Applies a TestScript operator (equals, notEquals, in, notIn, greaterThan, lessThan, empty,
// notEmpty, contains, notContains) to actual values against `expected`. Empty `op` means
// equals. Returns an empty string when it holds, else why not. Exposed for tests.
std::string ApplyOperator(std::string_view op, const std::vector<std::string>& actual,
                          const std::string& expected);

// A simple XPath over FHIR XML ("fhir:Patient/fhir:name/fhir:family/@value", "Patient/id")
// as FHIRPath ("Patient.name.family"); nullopt for anything else.
std::optional<std::string> XPathToFhirPath(std::string_view xpath);

// Evaluates FHIRPath over a source's resource; each item as text (primitives by their
// lexical form, complex values as FHIR JSON).
common::Result<std::vector<std::string>> EvaluateToStrings(const std::string& expression,
                                                           const Source& source);

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_ASSERTS_H_
