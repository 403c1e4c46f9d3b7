#ifndef FOVEA_SERVER_LOAD_COMMAND_H_
#define FOVEA_SERVER_LOAD_COMMAND_H_

// `fovea load FILE...`: loads FHIR data through the normal write path (FhirService: validation,
// indexing, audit, history, change-log events), in transaction Bundles of --batch-size
// resources. Files: NDJSON (one resource per line; `.ndjson`), or a JSON Bundle (`.json`): a
// transaction or batch Bundle is posted as it is, any other Bundle (collection, searchset,
// document...) has its entries loaded, with their fullUrls, in one transaction; a single
// resource is loaded on its own. A resource with an id keeps it (PUT), one without gets one
// (POST). A live progress line (resources/s, done/total, ETA) goes to the progress stream and
// a summary at the end. A bad resource is reported with its file and line (or entry) and the
// rest of its batch is loaded without it, unless --strict: then loading stops at the first.

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "fhir/rest/http_types.h"

namespace server {

struct LoadOptions {
  std::size_t batch_size = 500;
  bool strict = false;
};

struct LoadSummary {
  std::size_t loaded = 0;  // resources written (or found by a conditional create)
  std::size_t failed = 0;  // resources reported as bad (or in a batch that failed as a whole)
  bool stopped = false;    // --strict and something failed
};

// Loads `files` through `handle` (FhirService::Handle, or anything answering like it).
LoadSummary LoadFiles(const std::vector<std::string>& files, const LoadOptions& options,
                      const std::function<fhir::rest::RestResponse(const fhir::rest::RestRequest&)>& handle,
                      std::ostream& progress, std::ostream& err);

// `fovea load [--batch-size N] [--strict] [database flags] FILE...`; exit status 0 when
// everything loaded, 1 when something failed, 2 for bad arguments.
int RunLoadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace server

#endif  // FOVEA_SERVER_LOAD_COMMAND_H_
