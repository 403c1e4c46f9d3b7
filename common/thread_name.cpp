#include "common/thread_name.h"

#include <pthread.h>

#include <string>

namespace common {

void NameThisThread(std::string_view name) {
  constexpr std::size_t kMaxLinuxThreadName = 15;  // plus the terminating NUL: 16 bytes
  const std::string cut(name.substr(0, kMaxLinuxThreadName));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace common
