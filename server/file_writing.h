#ifndef FOVEA_SERVER_FILE_WRITING_H_
#define FOVEA_SERVER_FILE_WRITING_H_

// Writing key and certificate files: through a new file next to the target, with its mode from
// the start, flushed, then moved into place, so a reader never sees half a file and a private
// key is never readable by others, not even for a moment.

#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace server {

enum class ExistingFile {
  kReplace,  // the new file takes its place
  kKeep,     // kConflict: a key someone relies on is never overwritten (no race: link(2))
};

common::Status WriteFileAtomically(const std::string& path, const std::string& data, mode_t mode,
                                   ExistingFile existing = ExistingFile::kReplace);

}  // namespace server

#endif  // FOVEA_SERVER_FILE_WRITING_H_
