// fhir/audit: the AuditEvent (IHE BALP) and Provenance builders, and the Provenance companion of
// a write. Every resource built must parse and validate as R4.

#include "tests/support/validation_issues.h"
#include "fhir/audit/audit_event.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

#include "common/json.h"
#include "fhir/audit/audit_log.h"
#include "fhir/audit/provenance.h"
#include "fhir/model/ids.h"
#include "fhir/search/search_parameter.h"

namespace {

using common::JsonValue;
using fhir::audit::AuditRecord;
using fhir::audit::Interaction;
using fhir::audit::ProvenanceActivity;
using fhir::audit::ProvenanceRecord;

constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";

common::TimePoint At2026() { return common::TimePoint(std::chrono::seconds(1'780'000'000)); }

// Parses and validates `json` as an R4 resource; the issues, one per line (empty: valid).
using test_support::ValidationIssues;

JsonValue Parse(const std::string& json) {
  auto v = common::ParseJson(json);
  BOOST_REQUIRE(v.has_value());
  return std::move(v).value();
}

// The string at a path of object keys ("" when absent).
std::string Str(const JsonValue& v, std::initializer_list<std::string_view> path) {
  const JsonValue* at = &v;
  for (std::string_view key : path) {
    at = at->Find(key);
    if (at == nullptr) return "";
  }
  return at->scalar();
}

const JsonValue& Items(const JsonValue& v, std::string_view key) {
  static const JsonValue kEmpty = JsonValue::Array();
  const JsonValue* items = v.Find(key);
  return items == nullptr ? kEmpty : *items;
}

// agent.type is a CodeableConcept: its first coding's code.
std::string AgentType(const JsonValue& agent) {
  const JsonValue& codings = Items(*agent.Find("type"), "coding");
  return codings.items().empty() ? "" : Str(codings.items()[0], {"code"});
}

const JsonValue* AgentOfType(const JsonValue& event, std::string_view code) {
  for (const JsonValue& agent : Items(event, "agent").items()) {
    if (AgentType(agent) == code) return &agent;
  }
  return nullptr;
}

std::vector<const JsonValue*> EntitiesWithRole(const JsonValue& event, std::string_view role) {
  std::vector<const JsonValue*> out;
  for (const JsonValue& e : Items(event, "entity").items()) {
    if (Str(e, {"role", "code"}) == role) out.push_back(&e);
  }
  return out;
}

// A read of a patient's Observation by a practitioner through an app: BALP PatientRead.
AuditRecord PatientRead() {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = Interaction::kRead;
  r.http_status = 200;
  r.agent_reference = "Practitioner/prac-1";
  r.user_id = "user-42";
  r.user_name = "Dr. Example";
  r.client_id = "chart-app";
  r.roles = {{"http://terminology.hl7.org/CodeSystem/v3-RoleCode", "PROV", "healthcare provider"},
             {"", "clinician", ""}};
  r.token_id = "tok-7";
  r.source_address = "10.1.2.3";
  r.server_address = "https://fhir.example.org/fhir/R4";
  r.observer = "fovea-test";
  r.request_id = "req-123";
  r.patients = {"Patient/p1"};
  r.entities = {"Observation/o1/_history/2"};
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(AuditEventJson)

// The harness itself: an AuditEvent without its required elements, with a bad code, fails.
BOOST_AUTO_TEST_CASE(ValidationCatchesAnIncompleteEvent) {
  BOOST_TEST(ValidationIssues(R"({"resourceType":"AuditEvent","action":"X"})") != "");
}

BOOST_AUTO_TEST_CASE(PatientReadFollowsBalp) {
  const std::string json = fhir::audit::AuditEventJson(PatientRead());
  BOOST_TEST_MESSAGE(json);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue e = Parse(json);
  BOOST_TEST(e.members().front().first == "resourceType");
  BOOST_TEST(e.Find("id") == nullptr);
  BOOST_TEST(e.Find("meta") == nullptr);
  BOOST_TEST(Str(e, {"type", "system"}) == "http://terminology.hl7.org/CodeSystem/audit-event-type");
  BOOST_TEST(Str(e, {"type", "code"}) == "rest");
  BOOST_REQUIRE(Items(e, "subtype").items().size() == 1u);
  BOOST_TEST(Str(Items(e, "subtype").items()[0], {"system"}) == "http://hl7.org/fhir/restful-interaction");
  BOOST_TEST(Str(Items(e, "subtype").items()[0], {"code"}) == "read");
  BOOST_TEST(Str(e, {"action"}) == "R");
  BOOST_TEST(Str(e, {"recorded"}) == common::FormatInstant(At2026()));
  BOOST_TEST(Str(e, {"outcome"}) == "0");
  BOOST_TEST(e.Find("outcomeDesc") == nullptr);

  // BALP Read: the server is the Source Role ID, the client the Destination Role ID.
  const JsonValue* client = AgentOfType(e, "110152");
  BOOST_REQUIRE(client != nullptr);
  BOOST_TEST(Str(*client, {"who", "identifier", "value"}) == "chart-app");
  BOOST_TEST(Str(*client, {"requestor"}) == "false");
  BOOST_TEST(Str(*client, {"network", "address"}) == "10.1.2.3");
  BOOST_TEST(Str(*client, {"network", "type"}) == "2");
  const JsonValue* server = AgentOfType(e, "110153");
  BOOST_REQUIRE(server != nullptr);
  BOOST_TEST(Str(*server, {"who", "identifier", "value"}) == "fovea-test");
  BOOST_TEST(Str(*server, {"network", "address"}) == "https://fhir.example.org/fhir/R4");
  BOOST_TEST(Str(*server, {"network", "type"}) == "5");
  const JsonValue* user = AgentOfType(e, "IRCP");
  BOOST_REQUIRE(user != nullptr);
  BOOST_TEST(Str(*user, {"requestor"}) == "true");
  BOOST_TEST(Str(*user, {"who", "reference"}) == "Practitioner/prac-1");
  BOOST_TEST(Str(*user, {"who", "identifier", "value"}) == "user-42");
  BOOST_TEST(Str(*user, {"who", "display"}) == "Dr. Example");
  BOOST_TEST(Str(*user, {"name"}) == "Dr. Example");
  BOOST_TEST(Items(*user, "role").items().size() == 2u);
  BOOST_TEST(Str(Items(Items(*user, "role").items()[0], "coding").items().at(0), {"code"}) == "PROV");
  BOOST_TEST(Items(*user, "policy").items().at(0).scalar() == "tok-7");
  BOOST_TEST(user->Find("network") == nullptr);  // BALP: users are not network devices

  BOOST_TEST(Str(e, {"source", "observer", "display"}) == "fovea-test");
  BOOST_TEST(Str(e, {"source", "observer", "identifier", "value"}) == "fovea-test");
  BOOST_TEST(Str(Items(*e.Find("source"), "type").items().at(0), {"system"}) ==
             "http://terminology.hl7.org/CodeSystem/security-source-type");
  BOOST_TEST(Str(Items(*e.Find("source"), "type").items().at(0), {"code"}) == "4");

  auto patients = EntitiesWithRole(e, "1");
  BOOST_REQUIRE(patients.size() == 1u);
  BOOST_TEST(Str(*patients[0], {"what", "reference"}) == "Patient/p1");
  BOOST_TEST(Str(*patients[0], {"type", "system"}) == "http://terminology.hl7.org/CodeSystem/audit-entity-type");
  BOOST_TEST(Str(*patients[0], {"type", "code"}) == "1");
  BOOST_TEST(Str(*patients[0], {"role", "system"}) == "http://terminology.hl7.org/CodeSystem/object-role");
  auto resources = EntitiesWithRole(e, "4");
  BOOST_REQUIRE(resources.size() == 1u);
  BOOST_TEST(Str(*resources[0], {"what", "reference"}) == "Observation/o1/_history/2");
  BOOST_TEST(Str(*resources[0], {"type", "code"}) == "2");
  bool request_id = false;
  for (const JsonValue& entity : Items(e, "entity").items()) {
    if (Str(entity, {"type", "code"}) != "XrequestId") continue;
    request_id = true;
    BOOST_TEST(Str(entity, {"type", "system"}) ==
               "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType");
    BOOST_TEST(Str(entity, {"what", "identifier", "value"}) == "req-123");
  }
  BOOST_TEST(request_id);
  BOOST_TEST(EntitiesWithRole(e, "24").empty());  // no query on a read
}

BOOST_AUTO_TEST_CASE(SearchKeepsTheQueryBase64EncodedOnly) {
  AuditRecord r = PatientRead();
  r.interaction = Interaction::kSearchType;
  r.entities.clear();
  r.query = "Patient?name=Smithson&birthdate=1970-01-01";
  const std::string json = fhir::audit::AuditEventJson(r);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue e = Parse(json);
  BOOST_TEST(Str(Items(e, "subtype").items()[0], {"code"}) == "search-type");
  BOOST_TEST(Str(e, {"action"}) == "E");
  // BALP Query: the client is the Source Role ID (the query flows to the server).
  BOOST_TEST(AgentOfType(e, "110153") != nullptr);
  BOOST_TEST(Str(*AgentOfType(e, "110153"), {"who", "identifier", "value"}) == "chart-app");
  BOOST_TEST(Str(*AgentOfType(e, "110152"), {"who", "identifier", "value"}) == "fovea-test");
  auto queries = EntitiesWithRole(e, "24");
  BOOST_REQUIRE(queries.size() == 1u);
  BOOST_TEST(Str(*queries[0], {"type", "code"}) == "2");
  BOOST_TEST(queries[0]->Find("what") == nullptr);
  BOOST_TEST(Str(*queries[0], {"query"}) ==
             "UGF0aWVudD9uYW1lPVNtaXRoc29uJmJpcnRoZGF0ZT0xOTcwLTAxLTAx");
  // No PHI in clear: the searched name and birth date appear nowhere.
  BOOST_TEST(json.find("Smithson") == std::string::npos);
  BOOST_TEST(json.find("1970-01-01") == std::string::npos);
}

// RFC 4648 section 10 test vectors, through the query entity.
BOOST_DATA_TEST_CASE(QueryIsRfc4648Base64,
                     boost::unit_test::data::make({"f", "fo", "foo", "foob", "fooba", "foobar"}) ^
                         boost::unit_test::data::make({"Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                                       "Zm9vYmFy"}),
                     query, encoded) {
  AuditRecord r = PatientRead();
  r.interaction = Interaction::kSearchSystem;
  r.query = query;
  JsonValue e = Parse(fhir::audit::AuditEventJson(r));
  auto queries = EntitiesWithRole(e, "24");
  BOOST_REQUIRE(queries.size() == 1u);
  BOOST_TEST(Str(*queries[0], {"query"}) == std::string(encoded));
}

BOOST_AUTO_TEST_CASE(WritesNameTheUserAsAuthor) {
  AuditRecord r = PatientRead();
  r.interaction = Interaction::kCreate;
  r.http_status = 201;
  const std::string json = fhir::audit::AuditEventJson(r);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue e = Parse(json);
  BOOST_TEST(Str(e, {"action"}) == "C");
  BOOST_TEST(AgentOfType(e, "AUT") != nullptr);
  BOOST_TEST(AgentOfType(e, "IRCP") == nullptr);
  BOOST_TEST(AgentOfType(e, "110153") != nullptr);  // client: Source Role ID (BALP Create)
  BOOST_TEST(Str(*AgentOfType(e, "110153"), {"who", "identifier", "value"}) == "chart-app");

  r.interaction = Interaction::kPatch;
  BOOST_TEST(Str(Parse(fhir::audit::AuditEventJson(r)), {"action"}) == "U");

  // BALP Delete: client Application, server Custodian.
  r.interaction = Interaction::kDelete;
  r.http_status = 204;
  const std::string del = fhir::audit::AuditEventJson(r);
  BOOST_TEST(ValidationIssues(del) == "", del);
  JsonValue d = Parse(del);
  BOOST_TEST(Str(d, {"action"}) == "D");
  BOOST_TEST(Str(*AgentOfType(d, "110150"), {"who", "identifier", "value"}) == "chart-app");
  BOOST_TEST(Str(*AgentOfType(d, "custodian"), {"who", "identifier", "value"}) == "fovea-test");
}

BOOST_AUTO_TEST_CASE(WithoutUserTheClientIsTheRequestor) {
  AuditRecord r = PatientRead();
  r.agent_reference.clear();
  r.user_id.clear();
  r.user_name.clear();
  r.roles.clear();
  const std::string json = fhir::audit::AuditEventJson(r);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue e = Parse(json);
  BOOST_TEST(Items(e, "agent").items().size() == 2u);
  BOOST_TEST(AgentOfType(e, "IRCP") == nullptr);
  BOOST_TEST(Str(*AgentOfType(e, "110152"), {"requestor"}) == "true");
  BOOST_TEST(Items(*AgentOfType(e, "110152"), "policy").items().at(0).scalar() == "tok-7");
}

// HTTP status -> AuditEvent.outcome.
BOOST_DATA_TEST_CASE(OutcomeFollowsHttpStatus,
                     boost::unit_test::data::make({200, 201, 204, 304, 400, 401, 403, 404, 409, 412,
                                                   422, 500, 503}) ^
                         boost::unit_test::data::make({"0", "0", "0", "0", "4", "4", "4", "4", "4",
                                                       "4", "4", "8", "8"}),
                     status, outcome) {
  AuditRecord r = PatientRead();
  r.http_status = status;
  if (status >= 400) r.failure = "Observation/o1 is not known";
  const std::string json = fhir::audit::AuditEventJson(r);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue e = Parse(json);
  BOOST_TEST(Str(e, {"outcome"}) == std::string(outcome));
  if (status >= 400) {
    BOOST_TEST(Str(e, {"outcomeDesc"}) ==
               "HTTP " + std::to_string(status) + ": Observation/o1 is not known");
  } else {
    BOOST_TEST(e.Find("outcomeDesc") == nullptr);
  }
}

BOOST_AUTO_TEST_CASE(SecurityEventsAreUserAuthentication) {
  struct Case {
    Interaction interaction;
    std::string subtype_system;
    std::string subtype;
    std::string outcome;
  };
  const std::vector<Case> cases = {
      {Interaction::kLogin, std::string(kDicom), "110122", "0"},
      {Interaction::kLoginFailed, std::string(kDicom), "110122", "4"},
      {Interaction::kLogout, std::string(kDicom), "110123", "0"},
      {Interaction::kTokenRevoked, std::string(kDicom), "110123", "0"},
      {Interaction::kTokenIssued, "urn:ihe:event-type-code", "ITI-71", "0"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(fhir::audit::InteractionCode(c.interaction)) {
      AuditRecord r;
      r.recorded = At2026();
      r.interaction = c.interaction;
      r.user_id = "user-42";
      r.user_name = "jdoe";
      r.client_id = "chart-app";
      r.token_id = "tok-9";
      r.source_address = "2001:db8::1";
      r.observer = "fovea-test";
      r.request_id = "req-9";
      BOOST_TEST(fhir::audit::IsSecurityEvent(c.interaction));
      const std::string json = fhir::audit::AuditEventJson(r);
      BOOST_TEST(ValidationIssues(json) == "", json);
      JsonValue e = Parse(json);
      BOOST_TEST(Str(e, {"type", "system"}) == kDicom);
      BOOST_TEST(Str(e, {"type", "code"}) == "110114");
      BOOST_TEST(Str(Items(e, "subtype").items().at(0), {"system"}) == c.subtype_system);
      BOOST_TEST(Str(Items(e, "subtype").items().at(0), {"code"}) == c.subtype);
      BOOST_TEST(Str(e, {"action"}) == "E");
      BOOST_TEST(Str(e, {"outcome"}) == c.outcome);
      const JsonValue* client = AgentOfType(e, "110150");
      BOOST_REQUIRE(client != nullptr);
      BOOST_TEST(Str(*client, {"network", "type"}) == "2");  // an IPv6 address
      BOOST_TEST(AgentOfType(e, "AuthzOauthService") != nullptr);
      // The token is what the event is about: an entity (Security Resource), not a policy.
      auto tokens = EntitiesWithRole(e, "13");
      BOOST_REQUIRE(tokens.size() == 1u);
      BOOST_TEST(Str(*tokens[0], {"what", "identifier", "value"}) == "tok-9");
      BOOST_TEST(json.find("\"policy\"") == std::string::npos);
    }
  }
  BOOST_TEST(!fhir::audit::IsSecurityEvent(Interaction::kRead));
}

BOOST_AUTO_TEST_CASE(SubscriptionNotificationIsAnExportToTheSubscriber) {
  AuditRecord r;
  r.recorded = At2026();
  r.interaction = Interaction::kSubscriptionNotification;
  r.destination_address = "https://subscriber.example.org/hook";
  r.observer = "fovea-test";
  r.patients = {"Patient/p1"};
  r.entities = {"Subscription/s1", "Observation/o1/_history/3"};
  r.http_status = 200;
  const std::string json = fhir::audit::AuditEventJson(r);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue e = Parse(json);
  BOOST_TEST(Str(e, {"type", "code"}) == "110106");
  BOOST_TEST(Str(e, {"action"}) == "R");
  BOOST_TEST(Str(*AgentOfType(e, "110152"), {"network", "address"}) ==
             "https://subscriber.example.org/hook");
  BOOST_TEST(Str(*AgentOfType(e, "110153"), {"requestor"}) == "true");
  BOOST_TEST(Str(*EntitiesWithRole(e, "9").at(0), {"what", "reference"}) == "Subscription/s1");
  BOOST_TEST(Str(*EntitiesWithRole(e, "4").at(0), {"what", "reference"}) ==
             "Observation/o1/_history/3");
}

// Every interaction, with a minimal record and with a full one, is a valid R4 AuditEvent.
BOOST_AUTO_TEST_CASE(EveryInteractionIsValid) {
  std::set<std::string> codes;
  for (int i = 0; i <= static_cast<int>(Interaction::kSubscriptionNotification); ++i) {
    const auto interaction = static_cast<Interaction>(i);
    BOOST_TEST_CONTEXT(fhir::audit::InteractionCode(interaction)) {
      codes.insert(std::string(fhir::audit::InteractionCode(interaction)));
      AuditRecord minimal;
      minimal.interaction = interaction;
      const std::string min_json = fhir::audit::AuditEventJson(minimal);
      BOOST_TEST(ValidationIssues(min_json) == "", min_json);
      AuditRecord full = PatientRead();
      full.interaction = interaction;
      full.query = "Observation?_count=1";
      full.http_status = 500;
      const std::string full_json = fhir::audit::AuditEventJson(full);
      BOOST_TEST(ValidationIssues(full_json) == "", full_json);
      BOOST_TEST(Str(Parse(full_json), {"outcome"}) == "8");
    }
  }
  BOOST_TEST(codes.size() == static_cast<std::size_t>(Interaction::kSubscriptionNotification) + 1);
}

// What a record carries is all the event says: references, codes, the request id. Nothing from
// a resource's content can reach it, and the query is encoded.
BOOST_AUTO_TEST_CASE(NoPhiBeyondReferences) {
  AuditRecord r = PatientRead();
  r.query = "Observation?subject:Patient.name=Johnson";
  const std::string json = fhir::audit::AuditEventJson(r);
  JsonValue e = Parse(json);
  std::vector<std::string> strings;
  std::vector<const JsonValue*> stack = {&e};
  while (!stack.empty()) {
    const JsonValue* v = stack.back();
    stack.pop_back();
    if (v->is_string()) strings.push_back(v->scalar());
    for (const auto& item : v->items()) stack.push_back(&item);
    for (const auto& [key, member] : v->members()) stack.push_back(&member);
  }
  for (const std::string& s : strings) BOOST_TEST(s.find("Johnson") == std::string::npos, s);
  BOOST_TEST(json.find("description") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ProvenanceJson)

BOOST_AUTO_TEST_CASE(UpdateByUserThroughApp) {
  ProvenanceRecord p;
  p.targets = {"Observation/o1/_history/2"};
  p.recorded = At2026();
  p.activity = ProvenanceActivity::kUpdate;
  p.agent_reference = "Practitioner/prac-1";
  p.agent_display = "Dr. Example";
  p.on_behalf_of = "Organization/org-1";
  p.client_id = "chart-app";
  p.request_id = "req-123";
  const std::string json = fhir::audit::ProvenanceJson(p);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue v = Parse(json);
  BOOST_TEST(Str(v, {"resourceType"}) == "Provenance");
  BOOST_TEST(v.Find("id") == nullptr);
  BOOST_TEST(Str(Items(v, "target").items().at(0), {"reference"}) == "Observation/o1/_history/2");
  BOOST_TEST(Str(v, {"recorded"}) == common::FormatInstant(At2026()));
  const JsonValue& activity = Items(*v.Find("activity"), "coding").items().at(0);
  BOOST_TEST(Str(activity, {"system"}) == "http://terminology.hl7.org/CodeSystem/v3-DataOperation");
  BOOST_TEST(Str(activity, {"code"}) == "UPDATE");
  const auto& agents = Items(v, "agent").items();
  BOOST_REQUIRE(agents.size() == 2u);
  BOOST_TEST(AgentType(agents[0]) == "author");
  BOOST_TEST(Str(agents[0], {"who", "reference"}) == "Practitioner/prac-1");
  BOOST_TEST(Str(agents[0], {"who", "display"}) == "Dr. Example");
  BOOST_TEST(Str(agents[0], {"onBehalfOf", "reference"}) == "Organization/org-1");
  BOOST_TEST(AgentType(agents[1]) == "110150");
  BOOST_TEST(Str(agents[1], {"who", "identifier", "value"}) == "chart-app");
  const JsonValue& entity = Items(v, "entity").items().at(0);
  BOOST_TEST(Str(entity, {"role"}) == "source");
  BOOST_TEST(Str(entity, {"what", "identifier", "value"}) == "req-123");
}

BOOST_DATA_TEST_CASE(ActivityCodes,
                     boost::unit_test::data::make({0, 1, 2}) ^
                         boost::unit_test::data::make({"CREATE", "UPDATE", "DELETE"}),
                     activity, code) {
  ProvenanceRecord p;
  p.targets = {"Patient/p1/_history/1", "Patient/p2/_history/4"};
  p.recorded = At2026();
  p.activity = static_cast<ProvenanceActivity>(activity);  // kCreate, kUpdate, kDelete
  p.client_id = "backend-service";  // no user: the application alone
  const std::string json = fhir::audit::ProvenanceJson(p);
  BOOST_TEST(ValidationIssues(json) == "", json);
  JsonValue v = Parse(json);
  BOOST_TEST(Str(Items(*v.Find("activity"), "coding").items().at(0), {"code"}) == std::string(code));
  BOOST_TEST(Items(v, "target").items().size() == 2u);
  BOOST_TEST(Items(v, "agent").items().size() == 1u);
  BOOST_TEST(v.Find("entity") == nullptr);
}

BOOST_AUTO_TEST_CASE(NobodyKnownIsAnonymousNotInvalid) {
  ProvenanceRecord p;
  p.targets = {"Patient/p1/_history/1"};
  p.recorded = At2026();
  const std::string json = fhir::audit::ProvenanceJson(p);
  BOOST_TEST(ValidationIssues(json) == "", json);
  BOOST_TEST(Str(Items(Parse(json), "agent").items().at(0), {"who", "display"}) == "anonymous");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ProvenanceCompanion)

BOOST_AUTO_TEST_CASE(NewVersionWithIdMetaAndIndexRowsButNoFullText) {
  ProvenanceRecord prov;
  prov.targets = {"Observation/o1/_history/2"};
  prov.activity = ProvenanceActivity::kUpdate;
  prov.agent_reference = "Practitioner/prac-1";
  prov.agent_display = "Dr. Example";
  prov.client_id = "chart-app";
  prov.request_id = "req-123";
  const common::TimePoint now = At2026();
  auto registry = fhir::search::SearchParameterRegistry::R4();
  auto companion = fhir::audit::ProvenanceCompanion(prov, now, registry.get());
  BOOST_REQUIRE(companion.has_value());
  const fhir::store::ResourceVersion& v = *companion;
  BOOST_TEST(v.type == "Provenance");
  BOOST_TEST(fhir::model::LogicalId::IsValid(v.id));
  BOOST_TEST(v.version == 1);
  BOOST_TEST((v.method == fhir::store::Method::kCreate));
  BOOST_TEST(!v.deleted);
  BOOST_TEST(v.last_updated.time_since_epoch().count() == now.time_since_epoch().count());
  BOOST_TEST(ValidationIssues(v.content) == "", v.content);
  JsonValue c = Parse(v.content);
  BOOST_TEST(Str(c, {"id"}) == v.id);
  BOOST_TEST(Str(c, {"meta", "versionId"}) == "1");
  BOOST_TEST(Str(c, {"meta", "lastUpdated"}) == common::FormatInstant(now));
  BOOST_TEST(Str(c, {"recorded"}) == common::FormatInstant(now));  // stamped: it was unset
  BOOST_TEST(fhir::store::CheckNewResources({v}).ok());
  // Searchable by target and agent; no _text/_content rows (no narrative; costly, useless).
  BOOST_TEST(v.index_rows_json.find(R"("reference":[)") != std::string::npos, v.index_rows_json);
  BOOST_TEST(v.index_rows_json.find(R"("o1")") != std::string::npos, v.index_rows_json);
  BOOST_TEST(v.index_rows_json.find(R"("prac-1")") != std::string::npos, v.index_rows_json);
  BOOST_TEST(v.index_rows_json.find(R"("text":[)") == std::string::npos, v.index_rows_json);

  auto unindexed = fhir::audit::ProvenanceCompanion(prov, now, nullptr);
  BOOST_REQUIRE(unindexed.has_value());
  BOOST_TEST(unindexed->index_rows_json.empty());
  BOOST_TEST(unindexed->id != v.id);  // fresh ids every time

  prov.recorded = At2026() - std::chrono::seconds(5);  // kept when set
  auto dated = fhir::audit::ProvenanceCompanion(prov, now, nullptr);
  BOOST_REQUIRE(dated.has_value());
  BOOST_TEST(Str(Parse(dated->content), {"recorded"}) == common::FormatInstant(prov.recorded));
}

BOOST_AUTO_TEST_SUITE_END()
