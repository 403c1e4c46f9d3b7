// fhir/auth scopes and roles: SMART v1/v2 scope parsing, reach, granting, the role catalogue.

#include <boost/test/unit_test.hpp>

#include "fhir/auth/principal.h"
#include "fhir/auth/roles.h"
#include "fhir/auth/scopes.h"

namespace {

using fhir::auth::ParseResourceScope;
using fhir::auth::Permission;
using fhir::auth::Principal;
using fhir::auth::Reach;
using fhir::auth::RoleCatalog;
using fhir::auth::ScopeContext;
using fhir::auth::ScopeSet;

BOOST_AUTO_TEST_SUITE(Scopes)

BOOST_AUTO_TEST_CASE(ParsesV2Scopes) {
  auto s = ParseResourceScope("patient/Observation.rs");
  BOOST_REQUIRE(s);
  BOOST_TEST((s->context == ScopeContext::kPatient));
  BOOST_TEST(s->type == "Observation");
  BOOST_TEST(s->permissions == (2u | 16u));
  BOOST_TEST(s->ToString() == "patient/Observation.rs");
  BOOST_TEST(ParseResourceScope("system/*.cruds")->permissions == 31u);
}

BOOST_AUTO_TEST_CASE(ParsesV1ScopesAsTheirV2Equivalents) {
  BOOST_TEST(ParseResourceScope("user/Patient.read")->ToString() == "user/Patient.rs");
  BOOST_TEST(ParseResourceScope("user/Patient.write")->ToString() == "user/Patient.cud");
  BOOST_TEST(ParseResourceScope("user/*.*")->ToString() == "user/*.cruds");
}

BOOST_AUTO_TEST_CASE(RejectsMalformedScopes) {
  for (const char* bad : {"user/Observation.sr", "user/Observation.rr", "user/Observation.x",
                          "user/Observation.", "user/.rs", "admin/Patient.rs", "user/patient.rs",
                          "user/Patient", "Patient.rs", "user/Pat-ient.rs", ""}) {
    BOOST_TEST(!ParseResourceScope(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(KeepsIdentityScopesApart) {
  ScopeSet set = ScopeSet::Parse("openid fhirUser  user/Task.rus offline_access");
  BOOST_TEST(set.resource_scopes().size() == 1u);
  BOOST_TEST(set.Has("openid"));
  BOOST_TEST(set.Has("offline_access"));
  BOOST_TEST(!set.Has("launch"));
}

BOOST_AUTO_TEST_CASE(ReachDependsOnContextTypeAndPermission) {
  ScopeSet set = ScopeSet::Parse("patient/Observation.rs user/Task.ru system/Device.c");
  BOOST_TEST((set.ReachFor("Observation", Permission::kRead) == Reach::kPatientCompartment));
  BOOST_TEST((set.ReachFor("Observation", Permission::kUpdate) == Reach::kNone));
  BOOST_TEST((set.ReachFor("Task", Permission::kUpdate) == Reach::kAll));
  BOOST_TEST((set.ReachFor("Task", Permission::kSearch) == Reach::kNone));
  BOOST_TEST((set.ReachFor("Device", Permission::kCreate) == Reach::kAll));
  BOOST_TEST((set.ReachFor("Patient", Permission::kRead) == Reach::kNone));
}

BOOST_AUTO_TEST_CASE(WildcardsNeverReachTheAuditTrail) {
  ScopeSet set = ScopeSet::Parse("system/*.cruds");
  BOOST_TEST((set.ReachFor("Observation", Permission::kRead) == Reach::kAll));
  BOOST_TEST((set.ReachFor("AuditEvent", Permission::kRead) == Reach::kNone));
  // Nor the search configuration: a new SearchParameter re-indexes the server.
  BOOST_TEST((set.ReachFor("SearchParameter", Permission::kCreate) == Reach::kNone));
  BOOST_TEST((ScopeSet::Parse("user/SearchParameter.c").ReachFor("SearchParameter",
                                                               Permission::kCreate) == Reach::kAll));
  BOOST_TEST((ScopeSet::Parse("user/AuditEvent.rs").ReachFor("AuditEvent", Permission::kSearch) ==
              Reach::kAll));
}

BOOST_AUTO_TEST_CASE(GranularScopesAreFilteredReachAndGrantedOnlyWhereEnforceable) {
  ScopeSet set = ScopeSet::Parse("user/Observation.rs?category=laboratory");
  BOOST_REQUIRE(set.resource_scopes().size() == 1u);
  BOOST_TEST(set.resource_scopes()[0].query == "category=laboratory");
  BOOST_TEST((set.ReachFor("Observation", Permission::kRead) == Reach::kFiltered));
  BOOST_TEST((set.ReachFor("Observation", Permission::kCreate) == Reach::kNone));
  // A plain scope for the same type is the wider one.
  BOOST_TEST((ScopeSet::Parse("user/Observation.rs?category=laboratory user/Observation.r")
                  .ReachFor("Observation", Permission::kRead) == Reach::kAll));

  ScopeSet allowed = ScopeSet::Parse("user/Observation.cruds");
  // Without a check the server cannot enforce the query, so nothing is granted.
  BOOST_TEST(allowed.Grant(set, {}).empty());
  auto only_category = [](const fhir::auth::ResourceScope& s) { return s.query.rfind("category=", 0) == 0; };
  BOOST_TEST(allowed.Grant(set, {}, only_category).ToString() == "user/Observation.rs?category=laboratory");
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("user/Observation.rs?code=1234-5"), {}, only_category).empty());
  // Narrowed like any scope: the permissions allowed, the context that backs it.
  BOOST_TEST(ScopeSet::Parse("user/Observation.r").Grant(set, {}, only_category).ToString() ==
             "user/Observation.r?category=laboratory");
  BOOST_TEST(ScopeSet::Parse("system/Observation.rs").Grant(set, {}, only_category).empty());
  // Never on every type at once.
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("user/*.rs?category=laboratory"), {}, only_category).empty());
  // A granular grant backs the same query again (a refresh), never a wider or another one.
  BOOST_TEST(set.Grant(set, {}, only_category).ToString() == "user/Observation.rs?category=laboratory");
  BOOST_TEST(set.Grant(ScopeSet::Parse("user/Observation.rs"), {}, only_category).empty());
  BOOST_TEST(set.Grant(ScopeSet::Parse("user/Observation.rs?category=vital-signs"), {}, only_category).empty());
}

BOOST_AUTO_TEST_CASE(PatientLevelGranularScopesNeedALaunchPatient) {
  ScopeSet set = ScopeSet::Parse("patient/Observation.rs?category=laboratory");
  BOOST_TEST((set.ReachFor("Observation", Permission::kRead, true) == Reach::kFiltered));
  BOOST_TEST((set.ReachFor("Observation", Permission::kRead, false) == Reach::kNone));
  Principal p;
  p.scopes = set;
  BOOST_TEST((p.ReachFor("Observation", Permission::kRead) == Reach::kNone));
  p.patient = "p1";
  BOOST_TEST((p.ReachFor("Observation", Permission::kRead) == Reach::kFiltered));
}

BOOST_AUTO_TEST_CASE(GrantNarrowsRequestsToWhatIsAllowed) {
  ScopeSet allowed = ScopeSet::Parse("user/Patient.rs user/Observation.crus user/Task.rus");
  ScopeSet granted = allowed.Grant(ScopeSet::Parse("user/*.cruds openid fhirUser launch"),
                                   {"openid", "fhirUser"});
  BOOST_TEST(granted.ToString() ==
             "user/Observation.crus user/Patient.rs user/Task.rus openid fhirUser");
  // Patient-level access is a narrowing of user-level access; system access is not.
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("patient/Observation.rs"), {}).ToString() ==
             "patient/Observation.rs");
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("system/Observation.rs"), {}).empty());
  // Nothing beyond what is asked for.
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("user/Observation.r"), {}).ToString() ==
             "user/Observation.r");
}

BOOST_AUTO_TEST_CASE(GrantedWildcardsStayWildcardsButSkipAuditEvent) {
  ScopeSet allowed = ScopeSet::Parse("system/*.cruds");
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("system/*.rs"), {}).ToString() == "system/*.rs");
  BOOST_TEST(allowed.Grant(ScopeSet::Parse("system/AuditEvent.rs"), {}).empty());
  ScopeSet auditor = ScopeSet::Parse("system/AuditEvent.rs system/Patient.rs");
  BOOST_TEST(auditor.Grant(ScopeSet::Parse("system/*.rs"), {}).ToString() == "system/Patient.rs");
  BOOST_TEST(auditor.Grant(ScopeSet::Parse("system/AuditEvent.r"), {}).ToString() ==
             "system/AuditEvent.r");
}

BOOST_AUTO_TEST_CASE(PatientReachNeedsALaunchPatient) {
  Principal p;
  p.scopes = ScopeSet::Parse("patient/Observation.rs");
  BOOST_TEST((p.ReachFor("Observation", Permission::kRead) == Reach::kNone));
  p.patient = "123";
  BOOST_TEST((p.ReachFor("Observation", Permission::kRead) == Reach::kPatientCompartment));
  BOOST_TEST((Principal::Trusted().ReachFor("AuditEvent", Permission::kDelete) == Reach::kAll));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Roles)

BOOST_AUTO_TEST_CASE(TheShippedCatalogueHasEveryRole) {
  const RoleCatalog& roles = RoleCatalog::Default();
  for (const char* code : {"registration", "technician", "doctor", "supervisor", "ehr-system",
                           "admin", "auditor"}) {
    const auto* role = roles.Find(code);
    BOOST_REQUIRE_MESSAGE(role != nullptr, code);
    BOOST_TEST(!role->scopes.resource_scopes().empty(), code);
  }
}

BOOST_AUTO_TEST_CASE(RolesMapToWorkflowSteps) {
  const RoleCatalog& roles = RoleCatalog::Default();
  BOOST_TEST(roles.MayPerformStep({"technician"}, "refraction"));
  BOOST_TEST(!roles.MayPerformStep({"technician"}, "supervisor-approval"));
  BOOST_TEST(roles.MayPerformStep({"technician", "supervisor"}, "supervisor-approval"));
  BOOST_TEST(!roles.MayPerformStep({"unknown"}, "check-in"));
}

BOOST_AUTO_TEST_CASE(OnlyTheAdministratorChangesSearchParameters) {
  for (const auto& role : RoleCatalog::Default().roles()) {
    bool reaches = role.scopes.ReachFor("SearchParameter", Permission::kCreate) != Reach::kNone;
    BOOST_TEST(reaches == (role.code == "admin"), role.code);
  }
}

BOOST_AUTO_TEST_CASE(OnlyTheAuditorReadsTheAuditTrail) {
  const RoleCatalog& roles = RoleCatalog::Default();
  for (const auto& role : roles.roles()) {
    bool reaches = role.scopes.ReachFor("AuditEvent", Permission::kRead) != Reach::kNone;
    BOOST_TEST(reaches == (role.code == "auditor"), role.code);
  }
}

BOOST_AUTO_TEST_CASE(TechnicianCannotWriteDiagnoses) {
  ScopeSet s = RoleCatalog::Default().ScopesFor({"technician"});
  BOOST_TEST((s.ReachFor("Observation", Permission::kCreate) == Reach::kAll));
  BOOST_TEST((s.ReachFor("Condition", Permission::kCreate) == Reach::kNone));
  BOOST_TEST((s.ReachFor("VisionPrescription", Permission::kCreate) == Reach::kNone));
}

BOOST_AUTO_TEST_CASE(RejectsAMalformedCatalogue) {
  BOOST_TEST(!RoleCatalog::FromJson(R"({"roles":[{"code":"x","scopes":["user/Bad."]}]})")
                  .has_value());
  BOOST_TEST(!RoleCatalog::FromJson(R"({"roles":[{"scopes":[]}]})").has_value());
  BOOST_TEST(!RoleCatalog::FromJson(R"({})").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
