#include "server/file_writing.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace server {

common::Status WriteFileAtomically(const std::string& path, const std::string& data, mode_t mode,
                                   ExistingFile existing) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = mkstemp(tmp.data());  // mode 0600
  if (fd < 0) return common::UnavailableError("cannot create a file next to " + path);
  bool ok = fchmod(fd, mode) == 0;
  for (std::size_t written = 0; ok && written < data.size();) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    ok = n > 0;
    if (ok) written += static_cast<std::size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (ok && existing == ExistingFile::kKeep) {
    // link(2) fails rather than replace: no window between a check and the write.
    bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
    int error = errno;
    std::remove(tmp.c_str());
    if (linked) return common::Status::Ok();
    if (error == EEXIST) {
      return common::Status(common::StatusCode::kConflict,
                            path + " exists; an existing file is never overwritten");
    }
    return common::UnavailableError("cannot write " + path);
  }
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return common::UnavailableError("cannot write " + path);
  }
  return common::Status::Ok();
}

}  // namespace server
