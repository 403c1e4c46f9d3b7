// fhir/audit/audit_log: batching, flushing, draining on shutdown, backpressure and retries,
// against the in-memory AuditStore (with fault injection). audit_log_pgtest.cpp runs the
// PostgreSQL side.

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

#include "fhir/audit/in_memory_audit_store.h"

namespace {

using common::Status;
using common::StatusCode;
using fhir::audit::AuditLog;
using fhir::audit::AuditLogOptions;
using fhir::audit::AuditRecord;
using fhir::audit::AuditRow;

// An in-memory AuditStore whose Append can be slowed down or made to fail, and whose Search can
// be made to fail.
class FaultyStore final : public fhir::audit::AuditStore {
 public:
  Status Append(const std::vector<AuditRow>& rows) override {
    ++calls;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (fail_next > 0) {
      --fail_next;
      // "Committed, but the answer was lost": the rows are there, the caller sees an error.
      if (commit_before_failing) (void)inner_.Append(rows);
      return Status(fail_with.load(), "database unavailable");
    }
    max_batch_seen = std::max<std::size_t>(max_batch_seen, rows.size());
    return inner_.Append(rows);
  }
  common::Result<AuditRow> Read(std::int64_t seq) override { return inner_.Read(seq); }
  common::Result<fhir::audit::AuditPage> Search(const fhir::audit::AuditQuery& q) override {
    ++searches;
    if (fail_searches > 0) {
      --fail_searches;
      return Status(StatusCode::kUnavailable, "database unavailable");
    }
    return inner_.Search(q);
  }

  std::size_t Stored() const { return inner_.size(); }
  std::vector<AuditRow> All() {
    fhir::audit::AuditQuery q;
    q.count = 1'000'000;
    q.oldest_first = true;
    return inner_.Search(q)->rows;
  }

  std::atomic<int> calls{0};
  std::atomic<int> searches{0};
  std::atomic<int> fail_next{0};
  std::atomic<StatusCode> fail_with{StatusCode::kUnavailable};
  std::atomic<int> fail_searches{0};
  std::atomic<bool> commit_before_failing{false};
  std::atomic<std::size_t> max_batch_seen{0};
  std::chrono::milliseconds delay{0};

 private:
  fhir::audit::InMemoryAuditStore inner_;
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
  AuditLog log(store, clock, options);
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
  AuditLog log(store, clock, options);
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
    AuditLog log(store, clock, options);
    for (int i = 0; i < 500; ++i) log.Record(Read(i));
  }
  BOOST_TEST(store.Stored() == 500u);
}

BOOST_AUTO_TEST_CASE(RecordAfterStopIsStoredAtOnce) {
  FaultyStore store;
  common::SystemClock clock;
  AuditLog log(store, clock, Fast());
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
  AuditLog log(store, clock, options);
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

BOOST_AUTO_TEST_CASE(RecordsAreStampedAndStoredAsRows) {
  FaultyStore store;
  common::FakeClock clock(common::TimePoint(std::chrono::seconds(1'780'000'000)));
  AuditLog log(store, clock, Fast());
  log.Record(Read(5));
  AuditRecord dated = Read(6);
  dated.recorded = clock.Now() - std::chrono::seconds(3);  // kept when set
  log.Record(dated);
  log.Flush();
  auto rows = store.All();
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].recorded.time_since_epoch().count() ==
             (clock.Now() - std::chrono::seconds(3)).time_since_epoch().count());
  BOOST_TEST(rows[1].recorded.time_since_epoch().count() == clock.Now().time_since_epoch().count());
  const AuditRow& row = rows[1];
  BOOST_TEST(row.subtype == "read");
  BOOST_TEST(row.request_id == "req-5");
  BOOST_TEST(row.patient == "Patient/p5");
  BOOST_TEST(row.entity == "Observation/o5");
  const std::string served = fhir::audit::ServedAuditEventJson(row);
  BOOST_TEST(served.find(R"("recorded":")" + common::FormatInstant(clock.Now())) !=
                 std::string::npos,
             served);
  BOOST_TEST(served.find(R"("value":"req-5")") != std::string::npos, served);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(AuditLogFailures)

BOOST_AUTO_TEST_CASE(TransientFailuresAreRetried) {
  FaultyStore store;
  store.fail_next = 2;
  common::SystemClock clock;
  AuditLog log(store, clock, Fast());
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
  AuditLog log(store, clock, options);
  for (int i = 0; i < 10; ++i) log.Record(Read(i));
  log.Flush();
  BOOST_TEST(store.Stored() == 10u);
  BOOST_TEST(store.calls.load() == 1);  // found, not appended again
  BOOST_TEST(log.stats().written == 10u);
  BOOST_TEST(log.stats().failed == 0u);
}

// The check itself fails once: that attempt appends nothing, the next one checks again.
BOOST_AUTO_TEST_CASE(LostCommitAnswerWithAFailingCheckIsNotStoredTwice) {
  FaultyStore store;
  store.fail_next = 1;
  store.commit_before_failing = true;
  store.fail_searches = 1;
  common::SystemClock clock;
  AuditLogOptions options = Fast();
  options.linger = std::chrono::seconds(30);
  AuditLog log(store, clock, options);
  for (int i = 0; i < 10; ++i) log.Record(Read(i));
  log.Flush();
  BOOST_TEST(store.Stored() == 10u);
  BOOST_TEST(store.calls.load() == 1);
  BOOST_TEST(store.searches.load() == 2);
  BOOST_TEST(log.stats().written == 10u);
  BOOST_TEST(log.stats().retries == 2u);
}

// A failure that did not commit: the check finds nothing and the batch is appended again.
BOOST_AUTO_TEST_CASE(UncommittedFailureIsAppendedAgain) {
  FaultyStore store;
  store.fail_next = 1;
  common::SystemClock clock;
  AuditLogOptions options = Fast();
  options.linger = std::chrono::seconds(30);
  AuditLog log(store, clock, options);
  for (int i = 0; i < 3; ++i) log.Record(Read(i));
  log.Flush();
  BOOST_TEST(store.Stored() == 3u);
  BOOST_TEST(store.calls.load() == 2);
  BOOST_TEST(store.searches.load() == 1);
}

// kInvalid: the statement was refused as it stands; retrying cannot help.
BOOST_AUTO_TEST_CASE(InvalidIsNotRetried) {
  FaultyStore store;
  store.fail_next = 1;
  store.fail_with = StatusCode::kInvalid;
  common::SystemClock clock;
  StderrCapture capture;
  {
    AuditLog log(store, clock, Fast());
    log.Record(Read(1));
    log.Flush();
    BOOST_TEST(log.stats().failed == 1u);
    BOOST_TEST(log.stats().retries == 0u);
    BOOST_TEST(store.calls.load() == 1);
  }
  BOOST_TEST(capture.Text().find("1 AuditEvents could not be stored (kInvalid)") != std::string::npos);
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
    AuditLog log(store, clock, options);
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
