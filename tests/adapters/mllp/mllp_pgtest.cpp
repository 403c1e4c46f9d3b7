// HL7 v2 over MLLP against a real `fovea serve --mllp-port` on a fresh database: ADT messages
// in, acknowledgements out (original and enhanced mode), repeats acknowledged without a second
// application, errors naming segment and field, many messages per connection and concurrent
// connections, and SIGKILL between the commit accept and the application ACK.

#include <boost/test/unit_test.hpp>

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "adapters/hl7v2/message.h"
#include "common/json.h"
#include "fhir/store/pg/connection.h"
#include "tests/adapters/mllp/mllp_client.h"
#include "tests/support/serve_process.h"
#include "tests/support/test_database.h"
#include "tests/support/test_server.h"

namespace {

using adapters::hl7v2::Message;
using mllp_test::FreePort;
using mllp_test::MllpClient;
using test_support::ServeProcess;
using test_support::TestDatabase;

// A fovea serve with an MLLP port of its own.
struct Node {
  explicit Node(const std::string& dsn, int mllp = FreePort())
      : mllp_port(mllp),
        process(FOVEA_BIN, dsn, {"--mllp-port", std::to_string(mllp), "--hl7v2-location", "unit-1"}) {}
  int mllp_port;
  ServeProcess process;
};

std::string Adt(const std::string& event, const std::string& control, const std::string& mrn,
                const std::string& visit, const std::string& extra_msh = "", const std::string& dob = "19800229") {
  return "MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102120000+0100||ADT^" + event + "^ADT_A01|" + control +
         "|P|2.5.1" + extra_msh + "\rEVN|" + event + "|20240102120000+0100\rPID|1||" + mrn +
         "^^^HOSP^MR||Doe^Jane||" + dob + "|F\rPV1|1|O|||||||||||||||||" + visit + "^^^HOSP\r";
}

Message Parsed(const std::string& text) {
  auto m = Message::Parse(text);
  BOOST_REQUIRE_MESSAGE(m.has_value(), "not HL7: " + text);
  return std::move(m).value();
}

int Total(const ServeProcess& p, const std::string& query) {
  auto r = p.Request("GET", query + (query.find('?') == std::string::npos ? "?" : "&") + "_summary=count");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto json = common::ParseJson(r.body);
  BOOST_REQUIRE(json.has_value());
  return std::stoi(json->Find("total")->scalar());
}

const std::string kVisitSearch = "Encounter?identifier=urn:fovea:hl7v2:id:HOSP|";

BOOST_AUTO_TEST_SUITE(MllpServer)

BOOST_AUTO_TEST_CASE(A04StartsASessionAndARepeatIsNotAppliedTwice) {
  TestDatabase db;
  Node node(db.dsn());
  MllpClient client(node.mllp_port);
  std::string ack = client.Exchange(Adt("A04", "C1", "MRN1", "V1"));
  Message a = Parsed(ack);
  BOOST_TEST(a.Get("MSA-1") == "AA");
  BOOST_TEST(a.Get("MSA-2") == "C1");
  BOOST_TEST(a.Get("MSH-9.1") == "ACK");
  BOOST_TEST(a.Get("MSH-5") == "ADT1");
  // $hl7v2 is described where the CapabilityStatement points.
  BOOST_TEST(node.process.Request("GET", "OperationDefinition/hl7v2").status == 200);
  BOOST_TEST(Total(node.process, "Patient?identifier=urn:fovea:hl7v2:id:HOSP|MRN1") == 1);
  BOOST_TEST(Total(node.process, kVisitSearch + "V1") == 1);
  BOOST_TEST(Total(node.process, "Encounter?status=arrived&location=Location/unit-1") == 1);
  // The check-in Encounter started the screening session: the session Task and its steps.
  BOOST_TEST(Total(node.process, "Task") == 6);
  BOOST_TEST(Total(node.process, "MessageHeader") == 1);

  // The same control id again (the sender never saw our ACK): the same ACK, nothing new.
  std::string again = client.Exchange(Adt("A04", "C1", "MRN1", "V1"));
  BOOST_TEST(again == ack);
  BOOST_TEST(Total(node.process, "Task") == 6);
  BOOST_TEST(Total(node.process, kVisitSearch + "V1") == 1);
  auto patient = node.process.Request("GET", "Patient?identifier=urn:fovea:hl7v2:id:HOSP|MRN1");
  BOOST_TEST(patient.body.find("\"versionId\":\"1\"") != std::string::npos);

  // A08 updates the patient; A11 cancels the visit.
  BOOST_TEST(Parsed(client.Exchange(
                        "MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102130000+0100||ADT^A08|C2|P|2.5.1\r"
                        "PID|1||MRN1^^^HOSP^MR||Doe^Janet||19800229|F\r"))
                 .Get("MSA-1") == "AA");
  BOOST_TEST(Total(node.process, "Patient?given=Janet") == 1);
  // A47: the same Patient (found by its old MRN) now carries the new one.
  BOOST_TEST(Parsed(client.Exchange(
                        "MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102133000+0100||ADT^A47|C2b|P|2.5.1\r"
                        "PID|1||MRN1-NEW^^^HOSP^MR||Doe^Janet||19800229|F\rMRG|MRN1^^^HOSP^MR\r"))
                 .Get("MSA-1") == "AA");
  BOOST_TEST(Total(node.process, "Patient?identifier=urn:fovea:hl7v2:id:HOSP|MRN1-NEW") == 1);
  BOOST_TEST(Total(node.process, "Patient?identifier=urn:fovea:hl7v2:id:HOSP|MRN1") == 0);
  BOOST_TEST(Total(node.process, "Patient") == 1);
  BOOST_TEST(Parsed(client.Exchange(Adt("A11", "C3", "MRN1-NEW", "V1"))).Get("MSA-1") == "AA");
  BOOST_TEST(Total(node.process, kVisitSearch + "V1&status=cancelled") == 1);
  // The cancelled visit ends its session: the session Task and its five steps are cancelled.
  BOOST_TEST(Total(node.process, "Task?status=cancelled") == 6);
  BOOST_TEST(Total(node.process, "Task?status=ready,in-progress,draft") == 0);
  // A29: the person's record is kept, marked no longer in use.
  BOOST_TEST(Parsed(client.Exchange(Adt("A29", "C4", "MRN1-NEW", "V1"))).Get("MSA-1") == "AA");
  BOOST_TEST(Total(node.process, "Patient?active=false") == 1);
  BOOST_TEST(Total(node.process, "Patient") == 1);
}

BOOST_AUTO_TEST_CASE(EnhancedModeSendsCommitAcceptThenApplicationAck) {
  TestDatabase db;
  Node node(db.dsn());
  MllpClient client(node.mllp_port);
  client.Send(Adt("A04", "E1", "MRN2", "V2", "|||AL|AL"));
  auto ca = client.Read();
  BOOST_REQUIRE(ca.has_value());
  BOOST_TEST(Parsed(*ca).Get("MSA-1") == "CA");
  auto aa = client.Read();
  BOOST_REQUIRE(aa.has_value());
  BOOST_TEST(Parsed(*aa).Get("MSA-1") == "AA");
  // NE for the application ACK: only the commit accept comes back.
  client.Send(Adt("A04", "E2", "MRN3", "V3", "|||AL|NE"));
  auto ca2 = client.Read();
  BOOST_REQUIRE(ca2.has_value());
  BOOST_TEST(Parsed(*ca2).Get("MSA-1") == "CA");
  // Answers come in order on a connection: the next frame is the next message's, so E2's
  // application ACK was never sent.
  auto next = client.Exchange(Adt("A04", "E3", "MRN3", "V3b"));
  BOOST_TEST(Parsed(next).Get("MSA-1") == "AA");
  BOOST_TEST(Parsed(next).Get("MSA-2") == "E3");
  BOOST_TEST(Total(node.process, kVisitSearch + "V3") == 1);
}

BOOST_AUTO_TEST_CASE(ErrorsNameSegmentAndField) {
  TestDatabase db;
  Node node(db.dsn());
  MllpClient client(node.mllp_port);
  Message bad_date = Parsed(client.Exchange(Adt("A04", "X1", "MRN4", "V4", "", "19801340")));
  BOOST_TEST(bad_date.Get("MSA-1") == "AE");
  BOOST_TEST(bad_date.Get("ERR-2.1") == "PID");
  BOOST_TEST(bad_date.Get("ERR-2.3") == "7");
  BOOST_TEST(bad_date.Get("ERR-3.1") == "102");
  Message oru = Parsed(client.Exchange("MSH|^~\\&|LAB|HOSP|FOVEA|UNIT|20240102||ORU^R01|X2|P|2.5.1\r"));
  BOOST_TEST(oru.Get("MSA-1") == "AR");
  BOOST_TEST(oru.Get("ERR-2.1") == "MSH");
  BOOST_TEST(oru.Get("ERR-2.3") == "9");
  BOOST_TEST(oru.Get("ERR-3.1") == "200");
  Message garbage = Parsed(client.Exchange("this is not HL7"));
  BOOST_TEST(garbage.Get("MSA-1") == "AR");
  Message no_merge_target = Parsed(client.Exchange(
      "MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102||ADT^A40|X3|P|2.5.1\rPID|1||MRN4^^^HOSP^MR\rMRG|NOPE^^^HOSP^MR\r"));
  BOOST_TEST(no_merge_target.Get("MSA-1") == "AE");
  BOOST_TEST(no_merge_target.Get("ERR-2.1") == "MRG");
  // Nothing of the failed messages was written; the connection still serves.
  BOOST_TEST(Total(node.process, "Patient") == 0);
  BOOST_TEST(Parsed(client.Exchange(Adt("A04", "X4", "MRN4", "V4"))).Get("MSA-1") == "AA");
}

// A40 links the two Patients; the hospital's later A08s (full demographics, applied as a
// replace) keep those links, and the merged-away Patient stays inactive.
BOOST_AUTO_TEST_CASE(AMergeSurvivesLaterDemographicUpdates) {
  TestDatabase db;
  Node node(db.dsn());
  MllpClient client(node.mllp_port);
  BOOST_REQUIRE(Parsed(client.Exchange(Adt("A04", "M1", "MRN5", "V5"))).Get("MSA-1") == "AA");
  BOOST_REQUIRE(Parsed(client.Exchange(Adt("A04", "M2", "MRN6", "V6"))).Get("MSA-1") == "AA");
  BOOST_REQUIRE(Parsed(client.Exchange("MSH|^~\\&|ADT1|HOSP|FOVEA|UNIT|20240102||ADT^A40|M3|P|2.5.1\r"
                                       "PID|1||MRN5^^^HOSP^MR||Doe^Jane\rMRG|MRN6^^^HOSP^MR\r"))
                    .Get("MSA-1") == "AA");
  BOOST_TEST(Total(node.process, "Patient?link:missing=false") == 2);
  BOOST_TEST(Total(node.process, "Patient?active=false") == 1);
  BOOST_REQUIRE(Parsed(client.Exchange(Adt("A08", "M4", "MRN5", "V5"))).Get("MSA-1") == "AA");
  BOOST_REQUIRE(Parsed(client.Exchange(Adt("A08", "M5", "MRN6", "V6"))).Get("MSA-1") == "AA");
  BOOST_TEST(Total(node.process, "Patient?link:missing=false") == 2);
  BOOST_TEST(Total(node.process, "Patient?active=false") == 1);
  BOOST_TEST(Total(node.process, "Patient?identifier=urn:fovea:hl7v2:id:HOSP|MRN6&active=false") == 1);
}

BOOST_AUTO_TEST_CASE(ManyMessagesOnConcurrentConnections) {
  TestDatabase db;
  Node node(db.dsn());
  constexpr int kConnections = 4;
  constexpr int kEach = 5;
  std::vector<std::thread> threads;
  std::vector<int> accepted(kConnections, 0);
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      MllpClient client(node.mllp_port);
      for (int i = 0; i < kEach; ++i) {
        std::string id = std::to_string(c) + "-" + std::to_string(i);
        try {
          Message a = Parsed(client.Exchange(Adt("A04", "K" + id, "M" + id, "V" + id)));
          if (a.Get("MSA-1") == "AA" && a.Get("MSA-2") == "K" + id) ++accepted[c];
        } catch (const std::exception&) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < kConnections; ++c) BOOST_TEST(accepted[c] == kEach);
  BOOST_TEST(Total(node.process, "Encounter") == kConnections * kEach);
  BOOST_TEST(Total(node.process, "Task") == 6 * kConnections * kEach);
}

BOOST_AUTO_TEST_CASE(OversizedMessageEndsTheConnection) {
  TestDatabase db;
  Node node(db.dsn());
  MllpClient client(node.mllp_port);
  client.SendRaw("\x0b" + std::string((1u << 20) + 10, 'x'));
  BOOST_TEST(!client.Read(std::chrono::seconds(10)).has_value());
  MllpClient next(node.mllp_port);  // the server itself is fine
  BOOST_TEST(Parsed(next.Exchange(Adt("A04", "S1", "MRN5", "V5"))).Get("MSA-1") == "AA");
}

// With authorisation on, a message acts as the HL7 interface (a system client with the
// ehr-system role, which may start sessions), and its write is in the audit trail as such.
BOOST_AUTO_TEST_CASE(AuditedAsTheHl7Interface) {
  TestDatabase db;
  int port = FreePort();
  ServeProcess node(FOVEA_BIN, db.dsn(), {"--mllp-port", std::to_string(port), "--auth", "on"});
  MllpClient client(port);
  BOOST_TEST(Parsed(client.Exchange(Adt("A04", "U1", "MRN10", "V10"))).Get("MSA-1") == "AA");
  auto conn = fhir::store::pg::PgConnection::Connect(db.dsn());
  BOOST_REQUIRE(conn.has_value());
  static constexpr fhir::store::pg::PgQuery kTasks{"test.tasks", "SELECT count(*) FROM resource WHERE type = 'Task'"};
  static constexpr fhir::store::pg::PgQuery kAudited{
      "test.audited", "SELECT count(*) FROM audit_event WHERE client_id = 'hl7v2-interface' AND subtype = 'transaction'"};
  auto tasks = (*conn)->Execute(kTasks, {});
  BOOST_REQUIRE(tasks.has_value());
  BOOST_TEST(tasks->GetInt64(0, 0) == 6);
  auto audited = (*conn)->Execute(kAudited, {});
  BOOST_REQUIRE(audited.has_value());
  BOOST_TEST(audited->GetInt64(0, 0) >= 1);
}

// With the HTTPS certificate, MLLP is TLS too (same settings as HTTPS): a TLS client gets its
// ACK; a plain one gets nothing (the handshake fails and the connection ends).
BOOST_AUTO_TEST_CASE(MllpOverTls) {
  TestDatabase db;
  auto tls = test_support::TestServer::DevTls().tls;
  int port = FreePort();
  ServeProcess node(FOVEA_BIN, db.dsn(), {"--mllp-port", std::to_string(port), "--tls-cert", tls.cert_chain_file,
                                          "--tls-key", tls.private_key_file});
  Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", "",
                                                           Poco::Net::Context::VERIFY_NONE);
  Poco::Net::SecureStreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), context);
  std::string framed = "\x0b" + Adt("A04", "T1", "MRN8", "V8") + "\x1c\r";
  socket.sendBytes(framed.data(), static_cast<int>(framed.size()));
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  std::string in;
  char buf[4096];
  while (in.find("\x1c\r") == std::string::npos) {
    int n = socket.receiveBytes(buf, sizeof buf);
    BOOST_REQUIRE(n > 0);
    in.append(buf, static_cast<std::size_t>(n));
  }
  Message ack = Parsed(in.substr(1, in.find("\x1c\r") - 1));
  BOOST_TEST(ack.Get("MSA-1") == "AA");
  BOOST_TEST(ack.Get("MSA-2") == "T1");
  MllpClient plain(port);
  plain.Send(Adt("A04", "T2", "MRN9", "V9"));
  BOOST_TEST(!plain.Read(std::chrono::seconds(15)).has_value());
}

// A connection without a message for --mllp-idle-timeout is closed by the server; the listener
// goes on serving new ones.
BOOST_AUTO_TEST_CASE(IdleConnectionsAreClosed) {
  TestDatabase db;
  int port = FreePort();
  ServeProcess node(FOVEA_BIN, db.dsn(), {"--mllp-port", std::to_string(port), "--mllp-idle-timeout", "1"});
  MllpClient idle(port);
  BOOST_TEST(idle.WaitClosed(std::chrono::seconds(30)));
  MllpClient busy(port);
  BOOST_TEST(Parsed(busy.Exchange(Adt("A04", "I1", "MRN11", "V11"))).Get("MSA-1") == "AA");
}

// SIGKILL after the commit accept (CA) went out, before the message was applied: after the
// restart it is applied once, and a resend gets its application ACK.
BOOST_AUTO_TEST_CASE(CrashAfterCommitAcceptAppliesOnce) {
  TestDatabase db;
  int port = FreePort();
  {
    setenv("FOVEA_HL7V2_PAUSE_FOR_TESTING", "after-accept", 1);
    Node node(db.dsn(), port);
    unsetenv("FOVEA_HL7V2_PAUSE_FOR_TESTING");
    MllpClient client(node.mllp_port);
    client.Send(Adt("A04", "Z1", "MRN6", "V6", "|||AL|AL"));
    auto ca = client.Read();
    BOOST_REQUIRE(ca.has_value());
    BOOST_TEST(Parsed(*ca).Get("MSA-1") == "CA");
    BOOST_TEST(Total(node.process, kVisitSearch + "V6") == 0);  // accepted, not applied
    node.process.Kill();
  }
  Node restarted(db.dsn(), port);
  MllpClient client(restarted.mllp_port);
  client.Send(Adt("A04", "Z1", "MRN6", "V6", "|||AL|AL"));
  auto ca = client.Read();
  BOOST_REQUIRE(ca.has_value());
  BOOST_TEST(Parsed(*ca).Get("MSA-1") == "CA");
  auto aa = client.Read();
  BOOST_REQUIRE(aa.has_value());
  BOOST_TEST(Parsed(*aa).Get("MSA-1") == "AA");
  BOOST_TEST(Parsed(*aa).Get("MSA-2") == "Z1");
  BOOST_TEST(Total(restarted.process, kVisitSearch + "V6") == 1);
  BOOST_TEST(Total(restarted.process, "Task") == 6);
}

// SIGKILL after the FHIR transaction committed but before the inbox recorded it: the
// MessageHeader committed with the transaction shows it was applied, so it is not applied again.
BOOST_AUTO_TEST_CASE(CrashAfterApplyIsNotAppliedAgain) {
  TestDatabase db;
  int port = FreePort();
  {
    setenv("FOVEA_HL7V2_PAUSE_FOR_TESTING", "after-apply", 1);
    Node node(db.dsn(), port);
    unsetenv("FOVEA_HL7V2_PAUSE_FOR_TESTING");
    MllpClient client(node.mllp_port);
    client.Send(Adt("A04", "Z2", "MRN7", "V7", "|||AL|AL"));
    auto ca = client.Read();
    BOOST_REQUIRE(ca.has_value());
    // The transaction commits, then the thread stops before the inbox update.
    bool committed = false;
    for (int i = 0; i < 100 && !committed; ++i) {
      committed = Total(node.process, kVisitSearch + "V7") == 1;
      if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling, not timing
    }
    BOOST_REQUIRE(committed);
    node.process.Kill();
  }
  Node restarted(db.dsn(), port);
  MllpClient client(restarted.mllp_port);
  Message aa = Parsed(client.Exchange(Adt("A04", "Z2", "MRN7", "V7")));
  BOOST_TEST(aa.Get("MSA-1") == "AA");
  BOOST_TEST(Total(restarted.process, kVisitSearch + "V7") == 1);
  BOOST_TEST(Total(restarted.process, "Task") == 6);
  auto patient = restarted.process.Request("GET", "Patient?identifier=urn:fovea:hl7v2:id:HOSP|MRN7");
  BOOST_TEST(patient.body.find("\"versionId\":\"1\"") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
