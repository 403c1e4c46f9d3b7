#include "bench/bench_common.h"

#include <libpq-fe.h>

#include <Poco/Net/IPAddress.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace bench {

std::vector<std::pair<std::string, std::string>> FlagValues(int argc, char** argv, void (*usage)()) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h" || i + 1 >= argc) usage();
    out.emplace_back(std::move(flag), argv[++i]);
  }
  return out;
}
namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "benchmark: %s\n", message.c_str());
  std::exit(2);
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost") return true;
  Poco::Net::IPAddress ip;
  if (!Poco::Net::IPAddress::tryParse(host, ip)) return false;
  return ip.isLoopback();
}

void CheckDsnIsLocal(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err ? err : "unparsable DSN";
    PQfreemem(err);
    Fail("--dsn: " + msg);
  }
  std::string bad;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    std::string key = o->keyword;
    if ((key != "host" && key != "hostaddr") || o->val == nullptr) continue;
    std::string list = o->val;
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      std::string h = list.substr(start, comma - start);
      bool ok = h.empty() || h[0] == '/' || h[0] == '@' || IsLoopbackHost(h);
      if (!ok) bad = h;
      start = comma + 1;
    }
  }
  PQconninfoFree(opts);
  if (!bad.empty()) Fail("--dsn host " + bad + " is not a loopback address or unix socket");
}

double ParseNonNegative(const std::string& flag, const std::string& value) {
  char* end = nullptr;
  double d = std::strtod(value.c_str(), &end);
  if (end == value.c_str() || *end != '\0' || !(d >= 0)) Fail("bad value for " + flag);
  return d;
}

int ParseInt(const std::string& flag, const std::string& value, int lo, int hi) {
  double d = ParseNonNegative(flag, value);
  if (d < lo || d > hi || d != static_cast<int>(d)) {
    Fail(flag + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int>(d);
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return -1;
  std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

JsonLine& JsonLine::Add(const std::string& key, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", value);
  return Raw(key, buf);
}

void JsonLine::Print() const {
  std::printf("{%s}\n", body_.c_str());
  std::fflush(stdout);
}

JsonLine& JsonLine::Raw(const std::string& key, const std::string& value) {
  if (!body_.empty()) body_ += ',';
  body_ += JsonString(key) + ":" + value;
  return *this;
}

std::string RandomTag() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", rd());
  return buf;
}

namespace {

// The fields of /proc/PID/stat after the command name (which may hold spaces), so that
// fields[0] is the state (field 3 of proc(5)); empty when the process is gone.
std::vector<std::string> StatFields(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  std::size_t close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

// Field n of proc(5) (1-based) from StatFields.
long long StatField(const std::vector<std::string>& fields, std::size_t n) {
  return n >= 3 && n - 3 < fields.size() ? std::atoll(fields[n - 3].c_str()) : 0;
}

}  // namespace

double ProcessTreeCpuSeconds(int pid) {
  const std::string self = std::to_string(pid);
  std::vector<std::string> own = StatFields(self);
  if (own.empty()) return -1;
  // utime, stime, cutime, cstime
  long long ticks = StatField(own, 14) + StatField(own, 15) + StatField(own, 16) + StatField(own, 17);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::vector<std::string> child = StatFields(name);
    if (StatField(child, 4) != pid) continue;  // ppid
    ticks += StatField(child, 14) + StatField(child, 15);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void CpuMeter::Add(const std::string& flag, const std::string& name_eq_pid) {
  std::size_t eq = name_eq_pid.find('=');
  if (eq == std::string::npos || eq == 0) Fail(flag + " takes NAME=PID");
  processes_.emplace_back(name_eq_pid.substr(0, eq), ParseInt(flag, name_eq_pid.substr(eq + 1), 1, 1 << 30));
}

void CpuMeter::Start() {
  started_.clear();
  for (const auto& [name, pid] : processes_) started_.push_back(ProcessTreeCpuSeconds(pid));
}

std::vector<std::pair<std::string, double>> CpuMeter::Used() const {
  std::vector<std::pair<std::string, double>> used;
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    double now = ProcessTreeCpuSeconds(processes_[i].second);
    if (i >= started_.size() || started_[i] < 0 || now < 0) {
      Fail("--cpu-of: process " + std::to_string(processes_[i].second) + " is gone");
    }
    used.emplace_back(processes_[i].first, now - started_[i]);
  }
  return used;
}

}  // namespace bench
