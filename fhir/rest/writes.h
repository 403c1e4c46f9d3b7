#ifndef FOVEA_FHIR_REST_WRITES_H_
#define FOVEA_FHIR_REST_WRITES_H_

// What the single-resource write interactions (fhir_service.cpp) and transaction Bundles
// (transaction.cpp) share: stamping a version, the Prefer header, and the canonical form of
// conditional criteria that conditional writers lock on. Stateless: thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "fhir/model/element.h"
#include "fhir/search/search_parameter.h"
#include "fhir/store/resource_store.h"

namespace fhir::rest {

using Params = std::vector<std::pair<std::string, std::string>>;

// A write retries a compare-and-set lost to a concurrent writer this many times, then answers 409.
inline constexpr int kMaxWriteAttempts = 16;

// Sets id, meta.versionId and meta.lastUpdated on a resource root, keeping the rest of meta.
void StampResource(model::Element& root, const std::string& id, int version, common::TimePoint at);

// `root` as version `version` of type/id, written at `at`: stamped, serialised and indexed
// (index rows only with a registry), ready for the store. For writes the server makes itself
// (workflow effects, a Subscription's status, alerts).
store::ResourceVersion VersionOf(model::Element& root, const std::string& type, const std::string& id,
                                 int version, store::Method method, common::TimePoint at,
                                 const search::SearchParameterRegistry* registry);
// The same from canonical JSON (parsed against R4; kInvalid when it does not parse).
common::Result<store::ResourceVersion> VersionOfJson(std::string_view json, const std::string& type,
                                                     const std::string& id, int version, store::Method method,
                                                     common::TimePoint at,
                                                     const search::SearchParameterRegistry* registry);

// Conformance resources a module ships (its PlanDefinition, OperationDefinitions), as
// (type, canonical JSON with an id): each written as version 1 unless a version of it exists
// already (one an administrator edited or deleted stays as it is; another node writing it at
// the same moment wins). kInternal for a shipped resource without an id (a build defect).
common::Status EnsureShipped(store::ResourceStore& store,
                             const std::vector<std::pair<std::string, std::string_view>>& resources,
                             common::TimePoint at, const search::SearchParameterRegistry* registry);

// Prefer: return=... (hl7.org/fhir/R4/http.html#ops); representation unless asked otherwise.
enum class PreferReturn { kRepresentation, kMinimal, kOperationOutcome };
PreferReturn ParsePrefer(std::string_view prefer);

bool ContainsCaseInsensitive(std::string_view haystack, std::string_view needle);

// `criteria` without the parameters that only shape an answer (_format, _pretty).
Params WithoutFormatParameters(Params criteria);

// "Patient?identifier=a%7Cb&name=x": a conditional question in one canonical form (parameters
// sorted, _format and _pretty dropped), so the same question is the same string whatever the
// order of its parameters.
std::string CanonicalCriteria(std::string_view type, const Params& criteria);

// The ResourceStore::LockCriteria key of a canonical question.
std::int64_t CriteriaLockKey(const std::string& canonical_criteria);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_WRITES_H_
