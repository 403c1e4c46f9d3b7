#ifndef FOVEA_SERVER_REINDEX_COMMAND_H_
#define FOVEA_SERVER_REINDEX_COMMAND_H_

// `fovea reindex`: rebuilds the search index of every current resource (after the search
// parameter definitions changed), in batches, while the server may keep running.

#include <string>

#include <vector>

#include "common/status.h"
#include "fhir/search/search_parameter.h"

namespace server {

struct ReindexReport {
  long resources = 0;
  long skipped = 0;  // changed by a writer meanwhile (their rows are already current) or unparsable
};

// Reindexes everything with `registry`, then clears the pending-reindex task a migration may
// have left.
common::Result<ReindexReport> Reindex(const std::string& dsn,
                                      const fhir::search::SearchParameterRegistry& registry);
// Reindexes the current resources of the given types only (after their search parameters
// changed).
common::Result<ReindexReport> ReindexTypes(const std::string& dsn,
                                           const fhir::search::SearchParameterRegistry& registry,
                                           const std::vector<std::string>& types);

// Runs Reindex only when a migration left a pending-reindex task (an upgrade from a schema
// without these index rows, or an earlier reindex that did not finish).
common::Status ReindexIfPending(const std::string& dsn,
                                const fhir::search::SearchParameterRegistry& registry);

}  // namespace server

#endif  // FOVEA_SERVER_REINDEX_COMMAND_H_
