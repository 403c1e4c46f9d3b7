#ifndef FOVEA_BENCH_BENCH_COMMON_H_
#define FOVEA_BENCH_BENCH_COMMON_H_

// Helpers shared by the benchmark drivers. Benchmarks only ever talk to this machine.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bench {

bool IsLoopbackHost(const std::string& host);
// Accepts unix sockets (absolute path or abstract "@name") and loopback TCP only; otherwise
// prints why on stderr and exits.
void CheckDsnIsLocal(const std::string& dsn);
// The `--flag value` pairs of a command line, in order. `--help`, `-h` or a flag without a
// value calls `usage` (which exits).
std::vector<std::pair<std::string, std::string>> FlagValues(int argc, char** argv, void (*usage)());
// A non-negative number given for `flag`; otherwise prints why and exits.
double ParseNonNegative(const std::string& flag, const std::string& value);
// A whole number in lo..hi given for `flag`; otherwise prints why and exits.
int ParseInt(const std::string& flag, const std::string& value, int lo, int hi);

// Nearest-rank percentile (0..100) of a sorted sample; -1 when empty.
double Percentile(const std::vector<double>& sorted, double p);

// CPU seconds (user + system) used so far by process `pid` and its children: its own, those
// of the children it has waited for, and those of its children still running. For a
// PostgreSQL postmaster that is the whole cluster. -1 when `pid` cannot be read.
double ProcessTreeCpuSeconds(int pid);

// The CPU time named processes (and their children) use over a measured window: the benches'
// `--cpu-of NAME=PID` flags.
class CpuMeter {
 public:
  void Add(const std::string& flag, const std::string& name_eq_pid);  // a bad value exits
  void Start();  // the window opens
  // CPU seconds each process used since Start, by name, in the order added; exits when one is gone.
  std::vector<std::pair<std::string, double>> Used() const;

 private:
  std::vector<std::pair<std::string, int>> processes_;
  std::vector<double> started_;
};

// `s` as a JSON string literal, quotes included.
std::string JsonString(std::string_view s);

// A JSON object built field by field and printed on one line (a bench result row).
class JsonLine {
 public:
  JsonLine& Add(const std::string& key, const std::string& value) { return Raw(key, JsonString(value)); }
  JsonLine& Add(const std::string& key, const char* value) { return Raw(key, JsonString(value)); }
  JsonLine& Add(const std::string& key, double value);
  JsonLine& Add(const std::string& key, long long value) { return Raw(key, std::to_string(value)); }
  JsonLine& Add(const std::string& key, int value) { return Raw(key, std::to_string(value)); }
  JsonLine& Add(const std::string& key, bool value) { return Raw(key, value ? "true" : "false"); }
  void Print() const;  // to stdout, flushed

 private:
  JsonLine& Raw(const std::string& key, const std::string& value);
  std::string body_;
};

// Eight random hex digits, to keep one run's resources apart from another's.
std::string RandomTag();

}  // namespace bench

#endif  // FOVEA_BENCH_BENCH_COMMON_H_
