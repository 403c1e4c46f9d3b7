#ifndef FOVEA_SERVER_REINDEX_COMMAND_H_
#define FOVEA_SERVER_REINDEX_COMMAND_H_

// `fovea reindex`: rebuilds the search index of every current resource (after the search
// parameter definitions changed), in batches, while the server may keep running.

#include <string>

#include "common/status.h"

namespace server {

struct ReindexReport {
  long resources = 0;
  long skipped = 0;  // changed by a writer meanwhile (their rows are already current) or unparsable
};

common::Result<ReindexReport> Reindex(const std::string& dsn);

}  // namespace server

#endif  // FOVEA_SERVER_REINDEX_COMMAND_H_
