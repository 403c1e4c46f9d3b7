#include "fhir/rest/capability_statement.h"

#include "common/json.h"
#include "fhir/search/search_query.h"

namespace fhir::rest {

bool IsSearchSupported(const search::SearchParameter& p,
                       const search::SearchParameterRegistry& registry) {
  if (p.code == "_text" || p.code == "_content") return true;  // full text (sp_text)
  if (p.expression.empty() || p.type == search::ParamType::kSpecial) return false;
  if (p.type != search::ParamType::kComposite) return true;
  std::vector<const search::SearchParameter*> components;
  for (const auto& c : p.components) components.push_back(registry.FindByUrl(c.definition));
  return search::IsSupportedComposite(components);
}

namespace {

// The searchParam entries of one resource type ("" for the system level), comma-separated.
void AppendSearchParams(std::string& out, const search::SearchParameterRegistry& registry,
                        const std::string& type) {
  bool first = true;
  for (const search::SearchParameter* p : registry.ForType(type)) {
    if (!IsSearchSupported(*p, registry)) continue;
    if (!first) out += ',';
    first = false;
    out += R"({"name":)";
    common::AppendJsonString(out, p->code);
    out += R"(,"definition":)";
    common::AppendJsonString(out, p->url);
    out += R"(,"type":")";
    out += search::ParamTypeName(p->type);
    out += R"("})";
  }
}

// The AuditEvent entry when the audit table serves it.
void AppendAuditTrailResource(std::string& out) {
  out += R"({"type":"AuditEvent","documentation":"The audit trail: written by the server for )"
         R"(every interaction (IHE BALP); read and search only, for auditors.",)"
         R"("interaction":[{"code":"read"},{"code":"search-type"}],"versioning":"no-version",)"
         R"("readHistory":false,"updateCreate":false,"searchParam":[)";
  const char* params[][2] = {{"date", "date"},       {"patient", "reference"},
                             {"agent", "reference"}, {"entity", "reference"},
                             {"subtype", "token"},   {"action", "token"},
                             {"outcome", "token"},   {"address", "string"},
                             {"_id", "token"}};
  bool first = true;
  for (const auto& [name, type] : params) {
    if (!first) out += ',';
    first = false;
    out += R"({"name":")" + std::string(name) + R"(","type":")" + type + R"("})";
  }
  out += "]}";
}

// The Backport IG's declarations on the Subscription resource: the profile and every topic.
void AppendSubscriptionSupport(std::string& out, const std::vector<std::string>& topics) {
  out += R"("supportedProfile":["http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription"],"extension":[)";
  bool first = true;
  for (const std::string& topic : topics) {
    if (!first) out += ',';
    first = false;
    out += R"({"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical","valueCanonical":)";
    common::AppendJsonString(out, topic);
    out += '}';
  }
  out += "],";
}

}  // namespace

std::string BuildCapabilityStatement(const definitions::Definitions& defs,
                                     const CapabilityOptions& options, const std::string& base_url,
                                     common::TimePoint built_at) {
  std::string out = R"({"resourceType":"CapabilityStatement","status":"active","date":)";
  common::AppendJsonString(out, common::FormatInstant(built_at));
  out += R"(,"publisher":"Fovea","kind":"instance",)";
  if (!options.subscription_topics.empty()) {
    out += R"("instantiates":["http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4"],)";
  }
  out += R"("software":{"name":"Fovea","version":)";
  common::AppendJsonString(out, options.software_version);
  out += R"(},"implementation":{"description":"Fovea FHIR R4 server for mobile screening units","url":)";
  common::AppendJsonString(out, base_url);
  out += R"(},"fhirVersion":"4.0.1","format":["application/fhir+json","json","application/fhir+xml","xml"],"rest":[{"mode":"server",)";
  out += R"("documentation":)";
  common::AppendJsonString(
      out, options.require_if_match
               ? "Updates and deletes of existing resources require If-Match (428 otherwise)."
               : "Optimistic concurrency with If-Match (412 on a stale version).");
  if (!options.token_url.empty()) {
    // hl7.org/fhir/smart-app-launch/conformance.html: the SMART service code and oauth-uris.
    out += R"(,"security":{"cors":false,"service":[{"coding":[{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/restful-security-service","code":"SMART-on-FHIR"}],)"
           R"json("text":"OAuth2 using SMART-on-FHIR profile (see .well-known/smart-configuration)"}],)json"
           R"("extension":[{"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",)"
           R"("extension":[{"url":"token","valueUri":)";
    common::AppendJsonString(out, options.token_url);
    out += R"(},{"url":"authorize","valueUri":)";
    common::AppendJsonString(out, options.authorize_url);
    out += "}]}]}";
  }
  out += R"(,"resource":[)";
  bool first = true;
  for (const std::string& type : defs.resource_names()) {
    if (!first) out += ',';
    first = false;
    if (type == "AuditEvent" && options.audit_trail) {
      AppendAuditTrailResource(out);
      continue;
    }
    out += R"({"type":")" + type + R"(","interaction":[)";
    out += R"({"code":"read"},{"code":"vread"},{"code":"update"},{"code":"patch"},{"code":"delete"},)";
    out += R"({"code":"history-instance"},{"code":"history-type"},{"code":"create"})";
    if (options.search != nullptr) out += R"(,{"code":"search-type"})";
    out += "],";
    out += R"("versioning":"versioned-update","readHistory":true,"updateCreate":true,)";
    out += R"("conditionalCreate":true,"conditionalRead":"modified-since","conditionalUpdate":true,)";
    out += options.max_conditional_deletes > 1 ? R"("conditionalDelete":"multiple",)"
                                                : R"("conditionalDelete":"single",)";
    if (options.search != nullptr) {
      out += R"("searchParam":[)";
      AppendSearchParams(out, *options.search, type);
      out += "],";
    }
    if (type == "Subscription" && !options.subscription_topics.empty()) {
      AppendSubscriptionSupport(out, options.subscription_topics);
    }
    out += R"("operation":[{"name":"validate","definition":"http://hl7.org/fhir/OperationDefinition/Resource-validate"})";
    if (type == "Subscription" && !options.subscription_topics.empty()) {
      out += R"(,{"name":"status","definition":"http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status"})";
      out += R"(,{"name":"events","definition":"http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events"})";
      out += R"(,{"name":"get-ws-binding-token","definition":"http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-get-ws-binding-token"})";
    }
    for (const CapabilityOptions::Operation& op : options.operations) {
      if (op.type != type) continue;
      out += R"(,{"name":)";
      common::AppendJsonString(out, op.name);
      out += R"(,"definition":)";
      common::AppendJsonString(out, op.definition);
      out += "}";
    }
    out += "]}";
  }
  out += R"(],"interaction":[{"code":"transaction"},{"code":"batch"},{"code":"history-system"})";
  if (options.search != nullptr) {
    // GET [base]?_type=...: the parameters every resource type shares.
    out += R"(,{"code":"search-system"}],"searchParam":[)";
    AppendSearchParams(out, *options.search, "");
    out += R"(,{"name":"_type","type":"token","documentation":"Resource types to search"})";
  }
  out += "]}]}";
  return out;
}

}  // namespace fhir::rest
