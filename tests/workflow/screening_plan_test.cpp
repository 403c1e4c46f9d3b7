// workflow/screening_plan: the shipped PlanDefinition (five steps, acuity and refraction in
// parallel, what each must produce) and the plans Fovea refuses to run.

#include "workflow/screening_plan.h"

#include <boost/test/unit_test.hpp>

namespace {

using workflow::ScreeningPlan;

ScreeningPlan Shipped() {
  auto json = common::ParseJson(ScreeningPlan::BuiltInJson());
  BOOST_REQUIRE(json.has_value());
  auto plan = ScreeningPlan::Parse(*json);
  BOOST_REQUIRE_MESSAGE(plan.has_value(), (plan.has_value() ? "" : plan.error().message()));
  return std::move(plan).value();
}

std::string Ids(const std::vector<const workflow::Step*>& steps) {
  std::string out;
  for (const auto* s : steps) out += (out.empty() ? "" : ",") + s->id;
  return out;
}

BOOST_AUTO_TEST_SUITE(ScreeningPlans)

BOOST_AUTO_TEST_CASE(TheShippedPlan) {
  ScreeningPlan plan = Shipped();
  BOOST_TEST(plan.url() == workflow::kPlanUrl);
  BOOST_TEST(plan.steps().size() == 5u);
  BOOST_TEST(Ids(plan.First()) == "check-in");
  BOOST_TEST(Ids(plan.Next("check-in")) == "visual-acuity,refraction");  // in parallel
  BOOST_TEST(Ids(plan.Next("visual-acuity")) == "doctor-diagnosis");
  BOOST_TEST(plan.Find("doctor-diagnosis")->after.size() == 2u);  // waits for both
  BOOST_TEST(plan.IsLast("supervisor-approval"));
  BOOST_TEST(!plan.IsLast("doctor-diagnosis"));
  const workflow::Step* acuity = plan.Find("visual-acuity");
  BOOST_TEST(acuity->role.code == "technician");
  BOOST_REQUIRE(acuity->outputs.size() == 2u);
  BOOST_TEST(acuity->outputs[0].type == "Observation");
  BOOST_TEST(acuity->outputs[0].Describe().find("363983007") != std::string::npos);
  BOOST_TEST(acuity->outputs[1].Describe().find("362503005") != std::string::npos);  // left eye
  BOOST_TEST(plan.Find("supervisor-approval")->role.code == "supervisor");
}

BOOST_AUTO_TEST_CASE(PlansFoveaCannotRunAreRefused) {
  auto refused = [](const std::string& json, const std::string& says) {
    auto plan = ScreeningPlan::Parse(*common::ParseJson(json));
    BOOST_REQUIRE(!plan.has_value());
    BOOST_TEST(plan.error().message().find(says) != std::string::npos, plan.error().message());
  };
  const std::string step = R"("code":[{"coding":[{"system":"https://fovea.health/fhir/CodeSystem/screening-step","code":"a"}]}],
    "participant":[{"type":"practitioner","role":{"coding":[{"system":"https://fovea.health/fhir/CodeSystem/staff-role","code":"technician"}]}}])";
  refused(R"({"resourceType":"PlanDefinition","status":"active"})", "at least one action");
  refused(R"({"resourceType":"PlanDefinition","status":"active","action":[{"id":"a"}]})", "needs a code");
  refused(R"({"resourceType":"PlanDefinition","status":"active","action":[{"id":"a",)" + step +
              R"(,"relatedAction":[{"actionId":"zz","relationship":"after-end"}]}]})",
          "unknown action 'zz'");
  refused(R"({"resourceType":"PlanDefinition","status":"active","action":[{"id":"a",)" + step +
              R"(,"relatedAction":[{"actionId":"b","relationship":"after-end"}]},{"id":"b",)" + step +
              R"(,"relatedAction":[{"actionId":"a","relationship":"after-end"}]}]})",
          "cycle");
  refused(R"({"resourceType":"PlanDefinition","status":"active","action":[{"id":"a",)" + step +
              R"(,"relatedAction":[{"actionId":"a","relationship":"concurrent"}]}]})",
          "only after-end");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
