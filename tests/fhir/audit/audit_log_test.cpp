// fhir/audit/audit_log: batching, flushing, draining on shutdown, backpressure and retries,
// against the in-memory store (with fault injection). audit_log_pgtest.cpp runs the PostgreSQL
// side.

#include "fhir/audit/audit_log.h"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fhir/store/in_memory_resource_store.h"

namespace {

using common::Status;
using common::StatusCode;
using fhir::audit::AuditLog;
using fhir::audit::AuditLogOptions;
using fhir::audit::AuditRecord;
using fhir::store::ResourceVersion;

// An in-memory store whose CreateAll can be slowed down or made to fail.
class FaultyStore final : public fhir::store::ResourceStore {
 public:
  common::Result<fhir::store::CurrentState> Head(const std::string& type,
                                                 const std::string& id) override {
    return inner_.Head(type, id);
  }
  common::Result<ResourceVersion> Read(const std::string& type, const std::string& id) override {
    return inner_.Read(type, id);
  }
  common::Result<ResourceVersion> ReadVersion(const std::string& type, const std::string& id,
                                              int version) override {
    return inner_.ReadVersion(type, id, version);
  }
  Status Write(const ResourceVersion& v, int expected) override { return inner_.Write(v, expected); }
  Status WriteWith(const ResourceVersion& v, int expected,
                   const std::vector<ResourceVersion>& companions) override {
    return inner_.WriteWith(v, expected, companions);
  }
  common::Result<fhir::store::HistoryPage> History(const fhir::store::HistoryQuery& q) override {
    return inner_.History(q);
  }
  Status Ping() override { return inner_.Ping(); }

  Status CreateAll(const std::vector<ResourceVersion>& batch) override {
    ++calls;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (fail_next > 0) {
      --fail_next;
      // "Committed, but the answer was lost": the rows are there, the caller sees an error.
      if (commit_before_failing) (void)inner_.CreateAll(batch);
      return Status(StatusCode::kUnavailable, "database unavailable");
    }
    max_batch_seen = std::max<std::size_t>(max_batch_seen, batch.size());
    return inner_.CreateAll(batch);
  }

  std::size_t Stored() {
    fhir::store::HistoryQuery q;
    q.type = "AuditEvent";
    q.count = 1'000'000;
    return inner_.History(q)->entries.size();
  }

  std::atomic<int> calls{0};
  std::atomic<int> fail_next{0};
  std::atomic<bool> commit_before_failing{false};
  std::atomic<std::size_t> max_batch_seen{0};
  std::chrono::milliseconds delay{0};

 private:
  fhir::store::InMemoryResourceStore inner_;
};

AuditRecord Read(int n) {
  AuditRecord r;
  r.interaction = fhir::audit::Interaction::kRead;
  r.http_status = 200;
  r.request_id = "req-" + std::to_string(n);
  r.patients = {"Patient/p" + std::to_string(n % 7)};
  r.entities = {"Observation/o" + std::to_string(n) + "/_history/1"};
  return r;
}

AuditLogOptions Fast() {
  AuditLogOptions o;
  o.linger = std::chrono::milliseconds(5);
  o.first_backoff = std::chrono::milliseconds(1);
  return o;
}

// Captures what is written to stderr (where common::Log writes) while alive.
class StderrCapture {
 public:
  StderrCapture() : path_("/tmp/fovea-audit-log-test-" + std::to_string(::getpid())) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() {
    Restore();
    ::unlink(path_.c_str());
  }
  std::string Text() {
    Restore();
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::string path_;
  int saved_ = -1;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(AuditLogBatching)

BOOST_AUTO_TEST_CASE(ManyThreadsThenFlushStoresEverything) {
  FaultyStore store;
  common::SystemClock clock;
  AuditLogOptions options = Fast();
  options.max_batch = 50;
  AuditLog log(store, clock, nullptr, options);
  constexpr int kThreads = 8;
  constexpr int kEach = 250;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) log.Record(Read(t * kEach + i));
    });
  }
  for (auto& t : threads) t.join();
  log.Flush();
  BOOST_TEST(store.Stored() == static_cast<std::size_t>(kThreads * kEach));
  auto stats = log.stats();
  BOOST_TEST(stats.recorded == static_cast<std::uint64_t>(kThreads * kEach));
  BOOST_TEST(stats.written == static_cast<std::uint64_t>(kThreads * kEach));
  BOOST_TEST(stats.failed == 0u);
  BOOST_TEST(store.max_batch_seen.load() <= 50u);
  BOOST_TEST(store.calls.load() < kThreads * kEach);  // batched, not one call per record
}

BOOST_AUTO_TEST_CASE(FlushDoesNotWaitForTheLinger) {
  FaultyStore store;
  common::SystemClock clock;
  AuditLogOptions options;
  options.linger = std::chrono::seconds(30);
  AuditLog log(store, clock, nullptr, options);
  log.Record(Read(1));
  auto start = std::chrono::steady_clock::now();
  log.Flush();
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(10)));
  BOOST_TEST(store.Stored() == 1u);
  log.Flush();  // nothing pending: returns at once
}

BOOST_AUTO_TEST_CASE(DestructionDrainsTheQueue) {
  FaultyStore store;
  common::SystemClock clock;
  {
    AuditLogOptions options;
    options.linger = std::chrono::seconds(30);  // nothing would be written before the end
    options.max_batch = 64;
    AuditLog log(store, clock, nullptr, options);
    for (int i = 0; i < 500; ++i) log.Record(Read(i));
  }
  BOOST_TEST(store.Stored() == 500u);
}

BOOST_AUTO_TEST_CASE(RecordAfterStopIsStoredAtOnce) {
  FaultyStore store;
  common::SystemClock clock;
  AuditLog log(store, clock, nullptr, Fast());
  log.Record(Read(1));
  log.Stop();
  BOOST_TEST(store.Stored() == 1u);
  log.Record(Read(2));
  BOOST_TEST(store.Stored() == 2u);
  log.Flush();
  log.Stop();  // idempotent
  BOOST_TEST(log.stats().written == 2u);
}

BOOST_AUTO_TEST_CASE(FullQueueBlocksTheCallerAndDropsNothing) {
  FaultyStore store;
  store.delay = std::chrono::milliseconds(2);
  common::SystemClock clock;
  AuditLogOptions options = Fast();
  options.queue_capacity = 4;
  options.max_batch = 3;
  AuditLog log(store, clock, nullptr, options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) log.Record(Read(t * 50 + i));
    });
  }
  for (auto& t : threads) t.join();
  log.Flush();
  BOOST_TEST(store.Stored() == 200u);
  BOOST_TEST(store.max_batch_seen.load() <= 3u);
  BOOST_TEST(log.stats().failed == 0u);
}

BOOST_AUTO_TEST_CASE(RecordsAreStampedAndSearchableByRequest) {
  FaultyStore store;
  common::FakeClock clock(common::TimePoint(std::chrono::seconds(1'780'000'000)));
  AuditLog log(store, clock, nullptr, Fast());
  log.Record(Read(5));
  log.Flush();
  fhir::store::HistoryQuery q;
  q.type = "AuditEvent";
  auto page = store.History(q);
  BOOST_REQUIRE(page->entries.size() == 1u);
  const std::string& content = page->entries[0].content;
  BOOST_TEST(content.find(R"("recorded":")" + common::FormatInstant(clock.Now())) != std::string::npos,
             content);
  BOOST_TEST(content.find(R"("value":"req-5")") != std::string::npos, content);
  BOOST_TEST(content.find(R"("versionId":"1")") != std::string::npos, content);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(AuditLogFailures)

BOOST_AUTO_TEST_CASE(TransientFailuresAreRetried) {
  FaultyStore store;
  store.fail_next = 2;
  common::SystemClock clock;
  AuditLog log(store, clock, nullptr, Fast());
  for (int i = 0; i < 10; ++i) log.Record(Read(i));
  log.Flush();
  BOOST_TEST(store.Stored() == 10u);
  auto stats = log.stats();
  BOOST_TEST(stats.written == 10u);
  BOOST_TEST(stats.failed == 0u);
  BOOST_TEST(stats.retries >= 2u);
}

// The first attempt committed but reported a failure: the retry must not store it twice.
BOOST_AUTO_TEST_CASE(LostCommitAnswerIsNotStoredTwice) {
  FaultyStore store;
  store.fail_next = 1;
  store.commit_before_failing = true;
  common::SystemClock clock;
  AuditLogOptions options = Fast();
  options.linger = std::chrono::seconds(30);
  AuditLog log(store, clock, nullptr, options);
  for (int i = 0; i < 10; ++i) log.Record(Read(i));
  log.Flush();
  BOOST_TEST(store.Stored() == 10u);
  BOOST_TEST(log.stats().written == 10u);
  BOOST_TEST(log.stats().failed == 0u);
}

BOOST_AUTO_TEST_CASE(PersistentFailureIsCountedAndLoggedWithoutContent) {
  FaultyStore store;
  store.fail_next = 1'000'000;
  common::SystemClock clock;
  StderrCapture capture;
  {
    AuditLogOptions options = Fast();
    options.max_attempts = 3;
    options.linger = std::chrono::seconds(30);
    AuditLog log(store, clock, nullptr, options);
    AuditRecord r = Read(1);
    r.user_name = "Dr. Secret";
    r.query = "Patient?name=Confidential";
    log.Record(r);
    log.Record(Read(2));
    log.Flush();
    auto stats = log.stats();
    BOOST_TEST(stats.written == 0u);
    BOOST_TEST(stats.failed == 2u);
    BOOST_TEST(stats.retries == 2u);  // three attempts
    BOOST_TEST(store.calls.load() == 3);
  }
  const std::string logged = capture.Text();
  BOOST_TEST(logged.find("2 AuditEvents could not be stored") != std::string::npos, logged);
  BOOST_TEST(logged.find("req-1 req-2") != std::string::npos, logged);
  for (const char* phi : {"Patient/p", "Observation/o", "Dr. Secret", "Confidential", "UGF0"}) {
    BOOST_TEST(logged.find(phi) == std::string::npos, phi);
  }
}

BOOST_AUTO_TEST_SUITE_END()
