#ifndef FOVEA_FHIR_REST_CAPABILITY_STATEMENT_H_
#define FOVEA_FHIR_REST_CAPABILITY_STATEMENT_H_

// The server's CapabilityStatement (GET [base]/metadata). It lists exactly what this build
// supports; update it in the same change that adds an interaction.

#include <string>
#include <vector>

#include "common/clock.h"
#include "fhir/definitions/definitions.h"
#include "fhir/search/search_parameter.h"

namespace fhir::rest {

struct CapabilityOptions {
  std::string software_version;
  bool require_if_match = false;
  // When set, search is served and each resource lists the parameters it supports.
  const search::SearchParameterRegistry* search = nullptr;
  // When set, rest.security advertises SMART on FHIR with these OAuth endpoints.
  std::string authorize_url;
  std::string token_url;
  // AuditEvent is served from the audit table: read and search only (audit_trail_api.h).
  bool audit_trail = false;
  // Conditional delete deletes up to this many matches at once ("multiple" when above 1).
  std::size_t max_conditional_deletes = 1;
  // Subscriptions (R4 Backport IG): the topics served; none: Subscription is a plain resource.
  std::vector<std::string> subscription_topics;
  // Further operations served by extensions (workflow): listed on their resource type.
  struct Operation {
    std::string type;        // the resource type it is invoked on
    std::string name;        // without the $
    std::string definition;  // the OperationDefinition's canonical URL
  };
  std::vector<Operation> operations;
};

// Whether Fovea's search supports this parameter (specials and some composite shapes not yet).
bool IsSearchSupported(const search::SearchParameter& p,
                       const search::SearchParameterRegistry& registry);

// Canonical JSON of the CapabilityStatement; `base_url` goes into implementation.url.
std::string BuildCapabilityStatement(const definitions::Definitions& defs,
                                     const CapabilityOptions& options, const std::string& base_url,
                                     common::TimePoint built_at);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_CAPABILITY_STATEMENT_H_
