#ifndef FOVEA_FHIR_REST_BUNDLE_WRITER_H_
#define FOVEA_FHIR_REST_BUNDLE_WRITER_H_

// Writes Bundles around stored resources without re-parsing them: the stored canonical JSON is
// spliced in as bytes.

#include <optional>
#include <string>

#include "common/clock.h"
#include "fhir/model/issues.h"
#include "fhir/search/search_backend.h"
#include "fhir/store/resource_store.h"

namespace fhir::rest {

// A `history` Bundle (hl7.org/fhir/R4/http.html#history): newest first; deletions carry
// request/response but no resource.
std::string HistoryBundleJson(const store::HistoryPage& page, const std::string& base_url,
                              const std::string& self_url,
                              const std::optional<std::string>& next_url, common::TimePoint now);

// A `searchset` Bundle (hl7.org/fhir/R4/search.html#bundle): matches in order, `total` when
// known, and warnings about ignored parameters as an OperationOutcome entry (search.mode
// outcome).
std::string SearchBundleJson(const search::SearchResult& result,
                             const std::string& base_url, const std::string& self_url,
                             const std::optional<std::string>& next_url,
                             const std::optional<std::string>& previous_url,
                             const std::vector<model::Issue>& warnings, common::TimePoint now);

// A batch-response / transaction-response entry (Bundle.entry.response).
struct EntryResponse {
  int status = 200;
  std::string location;  // "Patient/1/_history/1"
  std::string etag;      // W/"1"
  std::optional<common::TimePoint> last_modified;
  std::string resource;  // canonical JSON of the resource, or empty
  std::string outcome;   // an OperationOutcome's JSON, or empty
};

// `type`: "batch-response" or "transaction-response".
std::string ResponseBundleJson(std::string_view type, const std::vector<EntryResponse>& entries,
                               common::TimePoint now);

// "201 Created": the status line of Bundle.entry.response.status.
std::string StatusLine(int status);

std::string ETagFor(int version);  // W/"3"

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_BUNDLE_WRITER_H_
