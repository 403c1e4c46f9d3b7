#ifndef FOVEA_CONFORMANCE_ENGINE_SUITES_H_
#define FOVEA_CONFORMANCE_ENGINE_SUITES_H_

// Turns the command line's SUITE_OR_FILE arguments into TestScript files: a file as it is, a
// directory as every TestScript directly inside it (sorted; fixtures in subfolders are left
// alone), or the name of a shipped suite (core, search, ...) or one of its scripts
// (core/crud.json) looked up in the suite directories. Thread-safe.

#include <string>
#include <vector>

#include "common/status.h"

namespace conformance::engine {

// $FOVEA_CONFORMANCE_SUITES (':'-separated) first, then the repository's conformance/suites.
std::vector<std::string> DefaultSuiteDirs();

// kNotFound naming what was looked for when `arg` is neither a file, a directory nor a suite.
common::Result<std::vector<std::string>> ResolveScripts(const std::string& arg,
                                                        const std::vector<std::string>& suite_dirs);

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_SUITES_H_
