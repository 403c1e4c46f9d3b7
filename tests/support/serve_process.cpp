#include "tests/support/serve_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fhir/rest/fhir_service.h"

namespace test_support {

namespace {

using Clock = std::chrono::steady_clock;

std::filesystem::path MakeTempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "fovea-serve.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

}  // namespace

ServeProcess::ServeProcess(std::string binary, std::string dsn, std::vector<std::string> extra_args,
                           std::chrono::milliseconds ready_within)
    : dir_(MakeTempDir()), log_path_(dir_ / "serve.log") {
  std::vector<std::string> args = {binary,        "serve",       "--database-url", dsn,
                                   "--bind",      "127.0.0.1",   "--port",         "0",
                                   "--auth",      "off",         "--rate-limit",   "0",
                                   "--data-dir",  dir_.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_file = log_path_.string();
  pid_t parent = ::getpid();

  // Everything the child needs is prepared above: after fork it only makes system calls.
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test is already gone
    int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) ::_exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    // No descriptor of the test (sockets, database connections) may live on in the server.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;

  const std::regex serving(R"(serving https?://[^ ]*:(\d+)/fhir/R4)");
  Clock::time_point deadline = Clock::now() + ready_within;
  while (true) {
    std::smatch m;
    std::string out = log();
    if (std::regex_search(out, m, serving)) {
      port_ = std::stoi(m[1].str());
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("fovea serve exited before serving (status " +
                               std::to_string(status) + "):\n" + out);
    }
    if (Clock::now() > deadline) {
      Kill();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("fovea serve did not start serving in time:\n" + out);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServeProcess::~ServeProcess() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string ServeProcess::base() const {
  return "http://127.0.0.1:" + std::to_string(port_) + fhir::rest::kFhirBasePath;
}

void ServeProcess::Reap(bool wait) {
  if (pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, wait ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || r < 0) pid_ = -1;
}

void ServeProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Reap(true);
}

int ServeProcess::Stop(std::chrono::milliseconds within) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  Clock::time_point deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return -1;
}

std::string ServeProcess::log() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpResult ServeProcess::Request(const std::string& method, const std::string& path,
                                 const std::string& body, std::chrono::milliseconds timeout) const {
  HttpResult out;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port_));
    session.setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(timeout.count()) * 1000));
    std::string uri = path.rfind('/', 0) == 0 ? path : std::string(fhir::rest::kFhirBasePath) + "/" + path;
    Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!body.empty() || method == "POST" || method == "PUT") {
      req.setContentType("application/fhir+json");
      req.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse res;
    std::istream& in = session.receiveResponse(res);
    std::ostringstream ss;
    Poco::StreamCopier::copyStream(in, ss);
    out.status = static_cast<int>(res.getStatus());
    for (const auto& [k, v] : res) out.headers.emplace_back(k, v);
    out.body = ss.str();
  } catch (const Poco::Exception& e) {
    out = HttpResult{};
    out.body = e.displayText();
  } catch (const std::exception& e) {
    out = HttpResult{};
    out.body = e.what();
  }
  return out;
}

}  // namespace test_support
