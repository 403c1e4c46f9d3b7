#ifndef FOVEA_BENCH_BENCH_COMMON_H_
#define FOVEA_BENCH_BENCH_COMMON_H_

// Helpers shared by the benchmark drivers. Benchmarks only ever talk to this machine.

#include <string>

namespace bench {

bool IsLoopbackHost(const std::string& host);
// Accepts unix sockets (absolute path or abstract "@name") and loopback TCP only; otherwise
// prints why on stderr and exits.
void CheckDsnIsLocal(const std::string& dsn);
// A non-negative number given for `flag`; otherwise prints why and exits.
double ParseNonNegative(const std::string& flag, const std::string& value);

}  // namespace bench

#endif  // FOVEA_BENCH_BENCH_COMMON_H_
