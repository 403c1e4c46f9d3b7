#ifndef FOVEA_FHIR_AUDIT_PROVENANCE_SEARCH_H_
#define FOVEA_FHIR_AUDIT_PROVENANCE_SEARCH_H_

// Search when writes' Provenance is read from the audit trail (--provenance audit-trail,
// derived_provenance.h): a SearchBackend in front of the generic one that adds the derived
// Provenances where a stored one would have been found.
//
//  * `Provenance?...` (type level and Patient compartment): the stored Provenances (posted by
//    clients) come from `inner`, the derived ones from the audit store's write rows, matched
//    against every clause in memory (MatchesInMemory on their extracted index rows), merged in
//    one order with one paging cursor. Supported orders: the default (_lastUpdated), _lastUpdated
//    and recorded, each either way. A chained criterion is resolved to the resources it finds
//    first (ResolveChains); _has and other sorts answer kNotSupported.
//  * `_revinclude=Provenance:target` (or :*) on any other search adds the derived Provenances
//    of the page's resources, and with :iterate those of the resources the generic backend
//    included.
//  * `_include=Provenance:target|patient|agent|*` from derived Provenances adds the current
//    versions they refer to; with :iterate also from the derived Provenances included.
//  * System-level searches over every type or with _type naming Provenance merge them too.
//  * Other types' criteria that look into Provenances (`_has:Provenance:...`, chains through
//    a reference to a Provenance) answer kNotSupported: the index holds the stored ones only.
//  * History: provenance_history.h. docs/AUDIT.md.
//
// Thread-safe (the inner backend and audit store are).

#include <memory>
#include <optional>

#include "fhir/audit/audit_store.h"
#include "fhir/definitions/definitions.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/live_registry.h"
#include "fhir/search/search_backend.h"

namespace fhir::audit {

class ProvenanceMergingSearch final : public search::SearchBackend {
 public:
  ProvenanceMergingSearch(search::SearchBackend& inner, AuditStore& audit,
                          std::shared_ptr<search::LiveRegistry> registry,
                          const definitions::Definitions& defs);
  common::Result<search::SearchResult> Search(const search::SearchQuery& query) override;

 private:
  struct Candidate;
  struct Cursor;
  common::Result<search::SearchResult> SearchProvenance(const search::SearchQuery& query);
  // `query` with each chained criterion (`target:Patient.name=x`) replaced by the references
  // of the resources it finds (`target=Patient/1,Patient/7`), which both sides can match;
  // nullopt when one finds none (nothing can match). kNotSupported beyond
  // kMaxChainedResources.
  common::Result<std::optional<search::SearchQuery>> ResolveChains(
      const search::SearchQuery& query, const search::SearchParameterRegistry& registry);
  common::Status AddRevIncluded(const search::SearchQuery& query, search::SearchResult& result);
  // `_include` from the page's derived Provenances (target, patient, agent: their current
  // versions, through `inner`); the stored ones' includes come from `inner` already.
  common::Status AddIncludedTargets(const search::SearchQuery& query, search::SearchResult& result);
  // The derived Provenances of `row` that match `query` (clauses, compartment, access), with
  // the index rows of the `wanted` parameters only.
  std::vector<Candidate> Matching(const AuditRow& row, const search::SearchQuery& query,
                                  const search::SearchParameterRegistry& registry,
                                  const search::ParameterFilter& wanted) const;

  search::SearchBackend& inner_;
  AuditStore& audit_;
  std::shared_ptr<search::LiveRegistry> registry_;
  const definitions::Definitions& defs_;
};

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_PROVENANCE_SEARCH_H_
