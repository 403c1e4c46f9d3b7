#ifndef FOVEA_FHIR_SEARCH_MEMORY_MATCHER_H_
#define FOVEA_FHIR_SEARCH_MEMORY_MATCHER_H_

// Search criteria evaluated on one resource version in memory, against the index rows extracted
// from that version (not the database): what a subscription filter or a classic Subscription's
// criteria needs, for every change in the event log, including versions that are no longer
// current. The same semantics as the SQL search for the clauses it supports: string (default,
// :exact, :contains), token (system|code forms, :text, :not), reference (Type/id, id, absolute
// URL, :Type), uri (=, :below), date (every prefix), number (every prefix), composites (every
// shape Fovea indexes, components from one element), _id, and :missing on any of these.
// Chains, _has, quantities and full text are refused by CheckMatchable, so a subscription
// using one is rejected rather than silently matching too much. Thread-safe.

#include <string>

#include "common/status.h"
#include "fhir/search/index_rows.h"
#include "fhir/search/search_query.h"

namespace fhir::search {

// OK when every clause of `query` can be evaluated in memory; kNotSupported naming the first
// that cannot.
common::Status CheckMatchable(const SearchQuery& query);

// Whether the resource `id` whose index rows are `rows` matches every clause of `query` (which
// CheckMatchable accepted). References absolute on query.base_url compare as local ones.
bool MatchesInMemory(const SearchQuery& query, const std::string& id, const IndexRows& rows);

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_MEMORY_MATCHER_H_
