// Results out: a session registered by ADT^A04 over MLLP, worked through every step over the
// FHIR API and approved, goes to the EHR as one ORU^R01 from the durable queue (retried after
// the EHR's AE), the EHR's ACK recorded, and Encounter/[id]/$hl7v2 shows both.

#include <boost/test/unit_test.hpp>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "adapters/hl7v2/message.h"
#include "adapters/mllp/framing.h"
#include "common/json.h"
#include "tests/adapters/mllp/mllp_client.h"
#include "tests/support/serve_process.h"
#include "tests/support/test_database.h"

namespace {

using adapters::hl7v2::Message;
using common::JsonValue;
using mllp_test::FreePort;
using mllp_test::MllpClient;
using test_support::ServeProcess;
using test_support::TestDatabase;

JsonValue Json(const std::string& text) {
  auto json = common::ParseJson(text);
  BOOST_REQUIRE_MESSAGE(json.has_value(), "not JSON: " + text.substr(0, 300));
  return std::move(json).value();
}

// The EHR: an MLLP listener that answers AE to the first message and AA afterwards.
class FakeEhr {
 public:
  FakeEhr() : server_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeEhr() {
    stop_ = true;
    thread_.join();
  }
  int port() const { return server_.address().port(); }
  // Waits (bounded) until `n` messages arrived; returns them.
  std::vector<std::string> WaitFor(std::size_t n, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, limit, [&] { return received_.size() >= n; });
    return received_;
  }

 private:
  void Run() {
    server_.setReceiveTimeout(Poco::Timespan(0, 200000));
    while (!stop_) {
      Poco::Net::StreamSocket s;
      try {
        if (!server_.poll(Poco::Timespan(0, 200000), Poco::Net::Socket::SELECT_READ)) continue;
        s = server_.acceptConnection();
      } catch (const Poco::Exception&) {
        continue;
      }
      adapters::mllp::FrameDecoder decoder(1u << 20);
      std::string message;
      char buf[8192];
      s.setReceiveTimeout(Poco::Timespan(5, 0));
      try {
        while (true) {
          auto state = decoder.Next(message);
          if (state == adapters::mllp::FrameDecoder::State::kMessage) break;
          int n = s.receiveBytes(buf, sizeof buf);
          if (n <= 0) break;
          decoder.Append(std::string_view(buf, static_cast<std::size_t>(n)));
        }
        auto m = Message::Parse(message);
        if (!m.has_value()) continue;
        bool first = answered_++ == 0;
        std::string ack = "MSH|^~\\&|EHR|HOSP|FOVEA|UNIT|20240101||ACK^R01^ACK|E" + std::to_string(answered_) +
                          "|P|2.5.1\rMSA|" + (first ? "AE" : "AA") + "|" + m->ControlId() + "\r";
        std::string framed = adapters::mllp::Frame(ack);
        s.sendBytes(framed.data(), static_cast<int>(framed.size()));
        std::lock_guard lock(mu_);
        received_.push_back(message);
        cv_.notify_all();
      } catch (const Poco::Exception&) {
      }
    }
  }

  Poco::Net::ServerSocket server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  int answered_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> received_;
};

class Session {
 public:
  explicit Session(const ServeProcess& p) : p_(p) {}

  JsonValue Get(const std::string& path) {
    auto r = p_.Request("GET", path);
    BOOST_REQUIRE_MESSAGE(r.status == 200, path + ": " + r.body);
    return Json(r.body);
  }
  void Post(const std::string& type, const std::string& body) {
    auto r = p_.Request("POST", type, body);
    BOOST_REQUIRE_MESSAGE(r.status == 201, type + ": " + r.body);
  }
  // Moves a step (Task code) to `status`, claimed by a practitioner (auth is off: unrestricted).
  void Move(const std::string& step, const std::string& status) {
    JsonValue task = Step(step);
    task.Set("status", JsonValue::String(status));
    JsonValue owner = JsonValue::Object();
    owner.Set("reference", JsonValue::String("Practitioner/staff-1"));
    task.Set("owner", std::move(owner));
    auto r = p_.Request("PUT", "Task/" + task.Find("id")->scalar(), common::ToJson(task));
    BOOST_REQUIRE_MESSAGE(r.status == 200, step + " -> " + status + ": " + r.body);
  }
  JsonValue Step(const std::string& step) {
    JsonValue bundle = Get("Task?encounter=Encounter/" + encounter + "&code=" + step);
    BOOST_REQUIRE(bundle.Find("entry") != nullptr);
    return *bundle.Find("entry")->items().front().Find("resource");
  }
  void Observe(const std::string& code, const std::string& eye, const std::string& value) {
    Post("Observation", R"({"resourceType":"Observation","status":"preliminary",
        "code":{"coding":[{"system":"http://snomed.info/sct","code":")" + code + R"("}]},
        "subject":{"reference":"Patient/)" + patient + R"("},"encounter":{"reference":"Encounter/)" + encounter + R"("},
        "bodySite":{"coding":[{"system":"http://snomed.info/sct","code":")" + eye + R"("}]},)" + value + "}");
  }

  std::string encounter;
  std::string patient;

 private:
  const ServeProcess& p_;
};

BOOST_AUTO_TEST_SUITE(Hl7v2Outbound)

BOOST_AUTO_TEST_CASE(ApprovedSessionGoesToTheEhrOnceWithRetries) {
  TestDatabase db;
  FakeEhr ehr;
  int mllp = FreePort();
  ServeProcess fovea(FOVEA_BIN, db.dsn(),
                     {"--mllp-port", std::to_string(mllp), "--hl7v2-outbound", "127.0.0.1:" + std::to_string(ehr.port())});
  MllpClient client(mllp);
  Message ack = *Message::Parse(client.Exchange(
      "MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102120000+0100||ADT^A04|A1|P|2.5.1\r"
      "PID|1||MRN-9^^^HOSP^MR||Okafor^Ada||20150601|F\rPV1|1|O|||||||||||||||||VISIT-9^^^HOSP\r"));
  BOOST_REQUIRE(ack.Get("MSA-1") == "AA");

  Session s(fovea);
  JsonValue encounters = s.Get("Encounter?identifier=VISIT-9");
  s.encounter = encounters.Find("entry")->items().front().Find("resource")->Find("id")->scalar();
  std::string subject = encounters.Find("entry")->items().front().Find("resource")->Find("subject")->Find("reference")->scalar();
  s.patient = subject.substr(std::string("Patient/").size());

  // Not approved yet: $hl7v2 previews the message, nothing is queued or sent.
  JsonValue preview = s.Get("Encounter/" + s.encounter + "/$hl7v2");
  BOOST_TEST(common::ToJson(preview).find("not-queued") != std::string::npos);

  // A session that cannot be rendered (its Patient deleted) is recorded as failed and does not
  // hold up the others: its session Task completed directly (auth is off: unrestricted).
  BOOST_REQUIRE(Message::Parse(client.Exchange(
                    "MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102120000+0100||ADT^A04|A2|P|2.5.1\r"
                    "PID|1||MRN-P^^^HOSP^MR||Gone^Gus||20150601|M\rPV1|1|O|||||||||||||||||VISIT-P^^^HOSP\r"))
                    ->Get("MSA-1") == "AA");
  JsonValue poison = *s.Get("Encounter?identifier=VISIT-P").Find("entry")->items().front().Find("resource");
  std::string poison_id = poison.Find("id")->scalar();
  int deleted = fovea.Request("DELETE", poison.Find("subject")->Find("reference")->scalar()).status;
  BOOST_REQUIRE(deleted == 200 || deleted == 204);
  {
    JsonValue bundle = s.Get("Task?encounter=Encounter/" + poison_id + "&code=screening-session");
    JsonValue task = *bundle.Find("entry")->items().front().Find("resource");
    task.Set("status", JsonValue::String("completed"));
    auto r = fovea.Request("PUT", "Task/" + task.Find("id")->scalar(), common::ToJson(task));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  s.Move("check-in", "in-progress");
  s.Move("check-in", "completed");
  s.Move("visual-acuity", "in-progress");
  s.Observe("363983007", "362502000", R"("valueQuantity":{"value":0.8,"system":"http://unitsofmeasure.org","code":"1"})");
  s.Observe("363983007", "362503005", R"("valueString":"6/9")");
  s.Move("visual-acuity", "completed");
  s.Move("refraction", "in-progress");
  const std::string sphere = R"("component":[{"code":{"coding":[{"system":"http://snomed.info/sct","code":"251795007","display":"Sphere"}]},"valueQuantity":{"value":-1.25,"unit":"dioptre"}}])";
  s.Observe("251794006", "362502000", sphere);
  s.Observe("251794006", "362503005", sphere);
  s.Move("refraction", "completed");
  s.Move("doctor-diagnosis", "in-progress");
  s.Post("DiagnosticReport", R"({"resourceType":"DiagnosticReport","status":"preliminary","code":{"text":"Vision screening"},
      "subject":{"reference":"Patient/)" + s.patient + R"("},"encounter":{"reference":"Encounter/)" + s.encounter + R"("},
      "conclusion":"Myopia | both eyes; glasses ^ advised"})");
  s.Move("doctor-diagnosis", "completed");
  s.Move("supervisor-approval", "in-progress");
  s.Move("supervisor-approval", "completed");

  // The EHR answers AE first: the same message comes again after the backoff, then AA.
  std::vector<std::string> received = ehr.WaitFor(2, std::chrono::seconds(30));
  BOOST_REQUIRE_EQUAL(received.size(), 2u);
  BOOST_TEST(received[0] == received[1]);
  Message oru = *Message::Parse(received[0]);
  BOOST_TEST(oru.Get("MSH-9.1") == "ORU");
  BOOST_TEST(oru.Get("MSH-9.2") == "R01");
  BOOST_TEST(oru.Get("PID-3(1).1") == "MRN-9");
  BOOST_TEST(oru.Get("PID-3(1).4.1") == "HOSP");
  BOOST_TEST(oru.Get("PID-5.1") == "Okafor");
  BOOST_TEST(oru.Get("PID-7") == "20150601");
  BOOST_TEST(oru.Get("PV1-19.1") == "VISIT-9");
  BOOST_TEST(oru.Get("OBR-3.1") == s.encounter);
  BOOST_TEST(oru.Get("OBR-25") == "F");
  // Refraction per eye (its component), then acuity per eye (final after approval), then the
  // conclusion: ordered by code, then by eye (right first).
  BOOST_TEST(oru.Get("OBX[1]-3.1") == "251795007");
  BOOST_TEST(oru.Get("OBX[1]-5") == "-1.25");
  BOOST_TEST(oru.Get("OBX[1]-20.1") == "362502000");
  BOOST_TEST(oru.Get("OBX[2]-3.1") == "251795007");
  BOOST_TEST(oru.Get("OBX[2]-20.1") == "362503005");
  BOOST_TEST(oru.Get("OBX[3]-3.1") == "363983007");
  BOOST_TEST(oru.Get("OBX[3]-2") == "NM");
  BOOST_TEST(oru.Get("OBX[3]-5") == "0.8");
  BOOST_TEST(oru.Get("OBX[3]-11") == "F");
  BOOST_TEST(oru.Get("OBX[3]-20.1") == "362502000");
  BOOST_TEST(oru.Get("OBX[4]-5") == "6/9");
  BOOST_TEST(oru.Get("OBX[4]-20.1") == "362503005");
  BOOST_TEST(oru.Get("OBX[5]-2") == "TX");
  BOOST_TEST(oru.Get("OBX[5]-5") == "Myopia | both eyes; glasses ^ advised");  // escaped on the wire
  BOOST_TEST(received[0].find("Myopia \\F\\ both eyes; glasses \\S\\ advised") != std::string::npos);
  BOOST_TEST(oru.Find("OBX", 6) == nullptr);

  // The ACK is recorded; $hl7v2 shows the message as sent.
  std::string status;
  for (int i = 0; i < 50 && status.find("\"valueCode\":\"sent\"") == std::string::npos; ++i) {
    status = common::ToJson(s.Get("Encounter/" + s.encounter + "/$hl7v2"));
    if (status.find("\"valueCode\":\"sent\"") == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(status.find("\"valueCode\":\"sent\"") != std::string::npos, status);
  BOOST_TEST(status.find("\"valueInteger\":2") != std::string::npos, status);
  BOOST_TEST(status.find("MSA|AA|" + oru.ControlId()) != std::string::npos, status);
  std::string failed = common::ToJson(s.Get("Encounter/" + poison_id + "/$hl7v2"));
  BOOST_TEST(failed.find("\"valueCode\":\"failed\"") != std::string::npos, failed);
  BOOST_TEST(failed.find("last-error") != std::string::npos, failed);
  // Sent once: nothing more arrives (the next poll has run by the time $hl7v2 said sent).
  BOOST_TEST(ehr.WaitFor(3, std::chrono::seconds(3)).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
