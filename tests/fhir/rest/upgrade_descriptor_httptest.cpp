// A protocol upgrade when the process is out of descriptors: the HTTP server duplicates the
// connection's descriptor for the hand-over BEFORE it answers 101, so the client hears 503
// (Retry-After) on a connection that stays usable for a moment, never a 101 followed by a
// reset; the upgrade's `abandon` runs instead of `adopt`.
//
// The test lowers this process's soft RLIMIT_NOFILE to exactly the descriptors in use (the
// holes below filled with /dev/null), so that the duplicate fails, and restores it after.

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "fhir/rest/http_types.h"
#include "tests/support/test_server.h"

namespace {

using fhir::rest::RestRequest;
using fhir::rest::RestResponse;

int Connect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// One response head (and whatever body came with it) within 5 s.
std::string ReadHead(int fd) {
  std::string in;
  char buf[4096];
  while (in.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  return in;
}

void SendAll(int fd, const std::string& data) {
  BOOST_REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
}

int HighestOpenDescriptor() {
  int highest = -1;
  DIR* dir = ::opendir("/proc/self/fd");
  BOOST_REQUIRE(dir != nullptr);
  int own = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != own && fd > highest) highest = fd;
  }
  ::closedir(dir);
  return highest;
}

// Uses up every free descriptor: fills the holes below the highest open one and lowers the
// soft limit to just above it. Undone by the destructor.
class OutOfDescriptors {
 public:
  OutOfDescriptors() {
    BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    int highest = HighestOpenDescriptor();
    for (;;) {
      int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      BOOST_REQUIRE(fd >= 0);
      if (fd > highest) {
        ::close(fd);
        break;
      }
      fillers_.push_back(fd);
    }
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest + 1);
    BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  ~OutOfDescriptors() {
    ::setrlimit(RLIMIT_NOFILE, &saved_);
    for (int fd : fillers_) ::close(fd);
  }

 private:
  rlimit saved_{};
  std::vector<int> fillers_;
};

BOOST_AUTO_TEST_SUITE(HttpServerUpgrade)

BOOST_AUTO_TEST_CASE(NoDescriptorForTheHandOverMeans503NotA101) {
  test_support::TestServer server;
  std::atomic<int> adopted{0};
  std::atomic<int> abandoned{0};
  server.http().MountUpgrade(
      "/upgrade-test",
      {[](const RestRequest&) {
         RestResponse r;
         r.status = 101;
         r.headers = {{"Upgrade", "test"}, {"Connection", "Upgrade"}};
         return r;
       },
       [&](auto, std::string, const RestRequest&) { ++adopted; },
       [&](const RestRequest&) { ++abandoned; }});

  // The connection is accepted and served (a keep-alive request) before descriptors run out.
  int fd = Connect(server.port());
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  std::string health = ReadHead(fd);
  BOOST_REQUIRE_MESSAGE(health.rfind("HTTP/1.1 200", 0) == 0, health);

  std::string refused;
  {
    OutOfDescriptors exhausted;
    SendAll(fd, "GET /upgrade-test HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: test\r\n"
                "Connection: Upgrade\r\n\r\n");
    refused = ReadHead(fd);
  }
  BOOST_TEST_INFO("answer: " << refused);
  BOOST_TEST(refused.rfind("HTTP/1.1 503", 0) == 0);
  BOOST_TEST(refused.find("Retry-After: 5") != std::string::npos);
  BOOST_TEST(adopted.load() == 0);
  BOOST_TEST(abandoned.load() == 1);
  ::close(fd);

  // With descriptors again, the same upgrade goes through.
  int again = Connect(server.port());
  SendAll(again, "GET /upgrade-test HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: test\r\n"
                 "Connection: Upgrade\r\n\r\n");
  std::string accepted = ReadHead(again);
  BOOST_TEST_INFO("answer: " << accepted);
  BOOST_TEST(accepted.rfind("HTTP/1.1 101", 0) == 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (adopted.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    ::poll(nullptr, 0, 10);
  }
  BOOST_TEST(adopted.load() == 1);
  BOOST_TEST(abandoned.load() == 1);
  ::close(again);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
