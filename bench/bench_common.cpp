#include "bench/bench_common.h"

#include <libpq-fe.h>

#include <Poco/Net/IPAddress.h>

#include <cstdio>
#include <cstdlib>

namespace bench {
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

}  // namespace bench
