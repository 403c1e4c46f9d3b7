// subscriptions/engine/presence: which session a subscription is about (the Encounter its
// filters pin, in the forms staff apps write), who a binding token's reader is as presence shows
// them, and the announcement and frame JSON.

#include "subscriptions/engine/presence.h"

#include <boost/test/unit_test.hpp>

#include "common/json.h"

namespace {

using subscriptions::SessionOfSubscription;
using subscriptions::StaffMember;

constexpr const char* kBase = "https://fovea.test/fhir/R4";

subscriptions::SubscriptionSpec Parse(const std::string& json) {
  auto topics = subscriptions::TopicRegistry::BuiltIn();
  BOOST_REQUIRE(topics.has_value());
  auto parsed = common::ParseJson(json);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), json);
  subscriptions::SpecContext context{**topics, *fhir::search::SearchParameterRegistry::R4(), kBase};
  auto spec = subscriptions::ParseSubscription(*parsed, context);
  BOOST_REQUIRE_MESSAGE(spec.has_value(), (spec.has_value() ? "" : spec.error().message()));
  return std::move(spec).value();
}

std::string Topic(const std::string& topic, const std::vector<std::string>& filters) {
  std::string ext;
  for (const std::string& f : filters) {
    ext += std::string(ext.empty() ? "" : ",") +
           R"({"url":"http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria","valueString":")" +
           f + "\"}";
  }
  return R"({"resourceType":"Subscription","status":"requested","reason":"t","criteria":"https://fovea.health/fhir/SubscriptionTopic/)" +
         topic + R"(","_criteria":{"extension":[)" + ext + R"(]},"channel":{"type":"websocket","payload":"application/fhir+json"}})";
}

std::string Classic(const std::string& criteria) {
  return R"({"resourceType":"Subscription","status":"active","reason":"t","criteria":")" + criteria +
         R"(","channel":{"type":"websocket"}})";
}

BOOST_AUTO_TEST_SUITE(Presence)

BOOST_AUTO_TEST_CASE(TheSessionIsTheOneEncounterTheFiltersPin) {
  struct Case {
    std::string subscription;
    std::optional<std::string> session;
  };
  const std::vector<Case> cases = {
      {Topic("task-status", {"encounter=Encounter/e1"}), "Encounter/e1"},
      {Topic("task-status", {"Task?encounter=Encounter/e1", "Task?status=ready"}), "Encounter/e1"},
      {Topic("task-status", {"encounter=e1"}), "Encounter/e1"},
      {Topic("task-status", {"encounter=" + std::string(kBase) + "/Encounter/e1"}), "Encounter/e1"},
      {Topic("screening-session", {"encounter=Encounter/e2"}), "Encounter/e2"},
      {Classic("Task?encounter=Encounter/e3&status=ready"), "Encounter/e3"},
      {Classic("Encounter?_id=e4"), "Encounter/e4"},
      // Not one session: several, none, or another kind of thing.
      {Topic("task-status", {"encounter=Encounter/e1,Encounter/e2"}), std::nullopt},
      {Topic("task-status", {"status=ready"}), std::nullopt},
      {Topic("task-status", {}), std::nullopt},
      {Classic("Task?owner=Practitioner/p1"), std::nullopt},
      {Classic("Encounter?_id=e4,e5"), std::nullopt},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.subscription) {
      BOOST_TEST(SessionOfSubscription(Parse(c.subscription), kBase).value_or("none") == c.session.value_or("none"));
    }
  }
}

BOOST_AUTO_TEST_CASE(OnlyStaffWithAPractitionerArePresent) {
  fhir::auth::Principal user;
  user.kind = fhir::auth::Principal::Kind::kUser;
  user.subject = "tech1";
  user.fhir_user = "Practitioner/p7";
  user.roles = {"technician"};
  auto staff = subscriptions::StaffOf(user);
  BOOST_REQUIRE(staff.has_value());
  BOOST_TEST(staff->reference == "Practitioner/p7");
  BOOST_TEST(staff->user == "tech1");
  BOOST_TEST(staff->roles == std::vector<std::string>{"technician"});

  fhir::auth::Principal no_practitioner = user;
  no_practitioner.fhir_user.clear();
  BOOST_TEST(!subscriptions::StaffOf(no_practitioner).has_value());
  fhir::auth::Principal client = user;
  client.kind = fhir::auth::Principal::Kind::kClient;
  BOOST_TEST(!subscriptions::StaffOf(client).has_value());
  BOOST_TEST(!subscriptions::StaffOf(fhir::auth::Principal::Trusted()).has_value());
}

BOOST_AUTO_TEST_CASE(AnnouncementsRoundTripAndBadOnesAreRefused) {
  subscriptions::PresenceChange change{"Encounter/e1", true, {"Practitioner/p7", "tech1", {"technician", "admin"}}};
  auto back = subscriptions::ParsePresenceChange(subscriptions::PresenceChangeJson(change));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->session == "Encounter/e1");
  BOOST_TEST(back->joined);
  BOOST_TEST(back->staff.reference == "Practitioner/p7");
  BOOST_TEST(back->staff.user == "tech1");
  BOOST_TEST(back->staff.roles == change.staff.roles);
  change.joined = false;
  back = subscriptions::ParsePresenceChange(subscriptions::PresenceChangeJson(change));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(!back->joined);
  for (const char* bad : {"", "{}", R"({"session":"Encounter/e1","event":"wave","staff":{}})",
                          R"({"session":"Encounter/e1","event":"join"})", "[1,2]"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!subscriptions::ParsePresenceChange(bad).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(AFrameCarriesTheEventAndTheWholeActiveList) {
  StaffMember doc{"Practitioner/d1", "doc", {"doctor"}};
  StaffMember tech{"Practitioner/t1", "tech1", {"technician"}};
  common::TimePoint t0 = common::TimePoint(std::chrono::seconds(1'796'000'000));
  std::vector<subscriptions::PresentStaff> active = {{tech, t0}, {doc, t0 + std::chrono::seconds(90)}};
  auto frame = common::ParseJson(subscriptions::PresenceFrame("Encounter/e1", "join", &doc, active));
  BOOST_REQUIRE(frame.has_value());
  BOOST_TEST(frame->Find("type")->scalar() == "presence");
  BOOST_TEST(frame->Find("session")->scalar() == "Encounter/e1");
  BOOST_TEST(frame->Find("event")->scalar() == "join");
  BOOST_TEST(frame->Find("staff")->Find("reference")->scalar() == "Practitioner/d1");
  const auto& list = frame->Find("active")->items();
  BOOST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0].Find("reference")->scalar() == "Practitioner/t1");
  BOOST_TEST(list[0].Find("since")->scalar() == common::FormatInstant(t0));
  BOOST_TEST(list[1].Find("user")->scalar() == "doc");
  BOOST_TEST(list[1].Find("roles")->items().front().scalar() == "doctor");

  auto current = common::ParseJson(subscriptions::PresenceFrame("Encounter/e1", "current", nullptr, {}));
  BOOST_REQUIRE(current.has_value());
  BOOST_TEST(current->Find("staff") == nullptr);
  BOOST_TEST(current->Find("active")->items().empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
