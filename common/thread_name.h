#ifndef FOVEA_COMMON_THREAD_NAME_H_
#define FOVEA_COMMON_THREAD_NAME_H_

#include <string_view>

namespace common {

// Names the calling thread as `top -H`, `ps -L`, perf and gdb show it ("fovea-audit"), so an
// operator can tell which part of the server is busy. Linux keeps 15 bytes; longer names are
// cut. Best effort: a failure is ignored (a name is a diagnostic, never a dependency).
void NameThisThread(std::string_view name);

}  // namespace common

#endif  // FOVEA_COMMON_THREAD_NAME_H_
