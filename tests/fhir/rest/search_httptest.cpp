// FHIR search end to end: index rows written with each version, parameters of every supported
// type, modifiers, prefixes, OR/AND, paging with cursors, sorting, totals and error handling.
// Each case is a (query, expected ids) row over a small fixed data set.

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <tuple>

#include "common/json.h"
#include "tests/support/test_server.h"

namespace {

using test_support::HttpResult;

const char* const kSeed[][2] = {
    {"Organization/org1", R"({"resourceType":"Organization","id":"org1","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Mobile <b>screening</b> unit, Sarawak</p></div>"},"name":"Eye Clinic Kuching"})"},
    {"Patient/p1", R"({"resourceType":"Patient","id":"p1","identifier":[{"system":"http://hosp.example/mrn","value":"123"}],"name":[{"family":"Tan","given":["Mei"]}],"gender":"female","birthDate":"2015-06-01","address":[{"city":"Kuching"}],"managingOrganization":{"reference":"Organization/org1"}})"},
    {"Patient/p2", R"({"resourceType":"Patient","id":"p2","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"http://hosp.example/mrn","value":"456"}],"name":[{"family":"Tanaka","given":["Hiro"]}],"gender":"male","birthDate":"2009-12-24"})"},
    {"Patient/p3", R"({"resourceType":"Patient","id":"p3","name":[{"family":"Müller","given":["Anna"]}],"gender":"female"})"},
    {"Practitioner/d1", R"({"resourceType":"Practitioner","id":"d1","name":[{"family":"Lim"}]})"},
    {"Observation/o1", R"({"resourceType":"Observation","id":"o1","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"79880-1","display":"Visual acuity left eye"}],"text":"VA left"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-11-28T09:30:00Z","valueQuantity":{"value":0.80,"unit":"decimal","system":"http://unitsofmeasure.org","code":"1"}})"},
    {"Observation/o2", R"({"resourceType":"Observation","id":"o2","status":"preliminary","code":{"coding":[{"system":"http://loinc.org","code":"79881-9"}]},"subject":{"reference":"Patient/p2"},"performer":[{"reference":"Practitioner/d1"}],"effectiveDateTime":"2026-11-27","valueQuantity":{"value":5.4,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}})"},
    {"Observation/o3", R"({"resourceType":"Observation","id":"o3","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"79880-1"}]},"subject":{"reference":"http://elsewhere.example/fhir/Patient/p9","identifier":{"system":"http://elsewhere.example/mrn","value":"999"}},"effectivePeriod":{"start":"2026-10-01","end":"2026-10-31"}})"},
    {"Observation/o4", R"({"resourceType":"Observation","id":"o4","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"Patient/p3"},"effectiveDateTime":"2026-01-15","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]})"},
    {"ValueSet/vs1", R"({"resourceType":"ValueSet","id":"vs1","url":"http://fovea.example/ValueSet/acuity","status":"active"})"},
    {"Provenance/pv1", R"({"resourceType":"Provenance","id":"pv1","target":[{"reference":"Observation/o1"}],"recorded":"2026-11-28T09:31:00Z","agent":[{"who":{"reference":"Practitioner/d1"}}]})"},
};

struct Case {
  const char* query;
  const char* ids;  // comma-separated, sorted
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.query; }

const Case kCases[] = {
    // string: case-insensitive prefix by default, :exact, :contains, parts of HumanName/Address
    {"Patient?name=tan", "p1,p2"},
    {"Patient?name=TAN", "p1,p2"},
    {"Patient?name:exact=Tan", "p1"},
    {"Patient?name:exact=tan", ""},
    {"Patient?name:contains=ana", "p2"},
    {"Patient?family=tanaka", "p2"},
    {"Patient?given=mei", "p1"},
    {"Patient?name=Müller", "p3"},
    {"Patient?address-city=kuch", "p1"},
    // token: code, system|code, |code, system|, :not, :text
    {"Patient?gender=female", "p1,p3"},
    {"Patient?gender=male,female", "p1,p2,p3"},
    {"Patient?identifier=http://hosp.example/mrn|123", "p1"},
    {"Patient?identifier=123", "p1"},
    {"Patient?identifier=http://hosp.example/mrn|", "p1,p2"},
    {"Patient?identifier=|123", ""},
    {"Patient?gender:not=female", "p2"},
    {"Patient?gender:in=http://hl7.org/fhir/ValueSet/administrative-gender", "p1,p2,p3"},
    {"Observation?status:in=http://hl7.org/fhir/ValueSet/observation-status", "o1,o2,o3,o4"},
    {"Observation?status:not-in=http://hl7.org/fhir/ValueSet/observation-status", ""},
    {"Patient?gender:in=http://hl7.org/fhir/ValueSet/observation-status", ""},
    {"Patient?gender:not-in=http://hl7.org/fhir/ValueSet/observation-status", "p1,p2,p3"},
    {"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|456", "p2"},
    {"Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|123", ""},
    {"Observation?code=http://loinc.org|79880-1", "o1,o3"},
    {"Observation?code:text=visual", "o1"},
    {"Observation?code:text=VA", "o1"},
    {"Observation?status=final&code=79880-1", "o1,o3"},
    // reference: Type/id, :Type, bare id, resolve() is Patient, absolute URLs
    {"Observation?subject=Patient/p1", "o1"},
    {"Observation?subject:Patient=p2", "o2"},
    {"Observation?subject=p1", "o1"},
    {"Observation?patient=Patient/p2", "o2"},
    {"Observation?performer=Practitioner/d1", "o2"},
    {"Observation?subject=http://elsewhere.example/fhir/Patient/p9", "o3"},
    {"Observation?subject:identifier=http://elsewhere.example/mrn|999", "o3"},
    {"Observation?subject:identifier=999", "o3"},
    {"Observation?subject:identifier=http://hosp.example/mrn|999", ""},
    // date: precision ranges, prefixes, periods
    {"Patient?birthdate=2015", "p1"},
    {"Patient?birthdate=2015-06", "p1"},
    {"Patient?birthdate=2015-06-02", ""},
    {"Patient?birthdate=ge2010", "p1"},
    {"Patient?birthdate=lt2010", "p2"},
    {"Patient?birthdate=le2009-12-24", "p2"},
    {"Patient?birthdate=gt2009-12-24", "p1"},
    {"Patient?birthdate=ne2015-06-01", "p2"},
    {"Observation?date=2026-11-28", "o1"},
    {"Observation?date=2026-11", "o1,o2"},
    {"Observation?date=2026-10-15", ""},
    {"Observation?date=ap2026-10-15", "o3"},
    {"Observation?date=ge2026-10-31", "o1,o2,o3"},
    {"Observation?date=sa2026-10-31", "o1,o2"},
    {"Observation?date=eb2026-11-01", "o3,o4"},
    {"Observation?date=2026-11-28T09:30:00Z", "o1"},
    {"Observation?date=2026-11-28T11:30:00%2B02:00", "o1"},
    // date windows: one value in (or overlapping) the window; an empty one stays two conditions
    {"Observation?date=ge2026-10-15&date=lt2026-11-01", "o3"},
    {"Observation?date=ge2026-11-01&date=le2026-11-27", "o2"},
    {"Observation?date=gt2026-11-27&date=lt2027", "o1"},
    {"Observation?code=http://loinc.org|79880-1&date=ge2026-10-01&date=lt2026-12-01", "o1,o3"},
    {"Observation?date=ge2026-11-01&date=lt2026-10-01", ""},
    {"Observation?date=lt2026-11-28&status=final&date=ge2026-01", "o3,o4"},
    // quantity and number comparisons
    {"Observation?value-quantity=5.4", "o2"},
    {"Observation?value-quantity=gt1", "o2"},
    {"Observation?value-quantity=lt1", "o1"},
    {"Observation?value-quantity=5.4|http://unitsofmeasure.org|mg", "o2"},
    {"Observation?value-quantity=5.4||mg", "o2"},
    {"Observation?value-quantity=5.4|http://unitsofmeasure.org|g", ""},
    {"Observation?value-quantity=0.8", "o1"},
    // UCUM conversion: 5.4 mg is 0.0054 g and 5400 ug
    {"Observation?value-quantity=0.0054|http://unitsofmeasure.org|g", "o2"},
    {"Observation?value-quantity=5400|http://unitsofmeasure.org|ug", "o2"},
    {"Observation?value-quantity=gt0.005|http://unitsofmeasure.org|g", "o2"},
    {"Observation?value-quantity=lt0.005|http://unitsofmeasure.org|g", ""},
    {"Observation?value-quantity=5.4|http://unitsofmeasure.org|mL", ""},
    // uri
    {"ValueSet?url=http://fovea.example/ValueSet/acuity", "vs1"},
    {"ValueSet?url:below=http://fovea.example/", "vs1"},
    {"ValueSet?url=http://fovea.example/", ""},
    // :missing
    {"Patient?birthdate:missing=true", "p3"},
    {"Patient?birthdate:missing=false", "p1,p2"},
    // _id, _lastUpdated
    {"Patient?_id=p1,p3", "p1,p3"},
    {"Patient?_lastUpdated=gt2000-01-01", "p1,p2,p3"},
    {"Patient?_lastUpdated=lt2000-01-01", ""},
    // chaining, at any depth, with and without the target type
    {"Observation?subject:Patient.name=tan", "o1,o2"},
    {"Observation?subject.name=tanaka", "o2"},
    {"Observation?subject:Patient.gender=female", "o1,o4"},
    {"Observation?subject:Patient.organization.name=eye", "o1"},
    {"Observation?subject:Patient._id=p2", "o2"},
    {"Observation?performer:Practitioner.name=lim", "o2"},
    {"Observation?subject:Patient.name=nobody", ""},
    // chains ending in an identifier with its system (their target ids computed once), to one
    // target type or several (Observation.patient: Patient or Group), alone or combined
    {"Observation?subject:Patient.identifier=http://hosp.example/mrn|456", "o2"},
    {"Observation?subject:Patient.identifier=http://hosp.example/mrn|123,http://hosp.example/mrn|456", "o1,o2"},
    {"Observation?patient.identifier=http://hosp.example/mrn|123", "o1"},
    {"Observation?subject:Patient.identifier=http://hosp.example/mrn|999", ""},
    {"Observation?subject:Patient.identifier=http://hosp.example/mrn|456&code=http://loinc.org|79881-9", "o2"},
    {"Observation?subject:Patient.identifier=http://hosp.example/mrn|456&code=http://loinc.org|79880-1", ""},
    {"Observation?subject=Patient/p1&subject:Patient.identifier=http://hosp.example/mrn|123", "o1"},
    {"Observation?subject=Patient/p1&subject:Patient.identifier=http://hosp.example/mrn|456", ""},
    // reverse chaining, nestable
    {"Patient?_has:Observation:subject:code=79881-9", "p2"},
    {"Patient?_has:Observation:subject:date=2026-11-28", "p1"},
    {"Patient?_has:Observation:patient:status=final", "p1,p3"},
    {"Patient?_has:Observation:subject:_has:Provenance:target:_id=pv1", "p1"},
    {"Practitioner?_has:Observation:performer:subject:Patient.name=tanaka", "d1"},
    // compartments
    {"Patient/p1/Observation", "o1"},
    {"Patient/p2/Observation?code=79881-9", "o2"},
    {"Patient/p2/Observation?code=79880-1", ""},
    {"Practitioner/d1/Observation", "o2"},
    {"Patient/p1/Patient", "p1"},
    {"Patient/nobody/Observation", ""},
    // composite parameters: each pair from the same element
    {"Observation?code-value-quantity=http://loinc.org|79881-9$5.4", "o2"},
    {"Observation?code-value-quantity=79881-9$gt5", "o2"},
    {"Observation?code-value-quantity=79881-9$lt5", ""},
    {"Observation?component-code-value-quantity=http://loinc.org|8480-6$gt100", "o4"},
    {"Observation?component-code-value-quantity=8462-4$gt100", ""},
    {"Observation?combo-code-value-quantity=8462-4$80", "o4"},
    // full text: _text is the narrative, _content every string
    {"Organization?_text=screening", "org1"},
    {"Organization?_text=kuching", ""},
    {"Organization?_content=kuching", "org1"},
    {"Organization?_content=%22eye%20clinic%22", "org1"},
    {"Organization?_content=eye%20-kuching", ""},
    {"Organization?_content=clinic%20kuching", "org1"},
    {"Observation?_content=visual", "o1"},
    // system-level search
    {"?_type=Patient,Practitioner&_id=p1,d1,o1", "d1,p1"},
    {"?_id=o2", "o2"},
    // lenient handling: an unknown parameter is ignored
    {"Patient?gender=male&nonsense=1", "p2"},
};

std::set<std::string> Ids(const common::JsonValue& bundle) {
  std::set<std::string> ids;
  if (const auto* entries = bundle.Find("entry")) {
    for (const auto& e : entries->items()) {
      const auto* mode = e.Find("search")->Find("mode");
      if (mode->scalar() == "match") ids.insert(e.Find("resource")->Find("id")->scalar());
    }
  }
  return ids;
}

std::vector<std::string> OrderedIds(const common::JsonValue& bundle) {
  std::vector<std::string> ids;
  if (const auto* entries = bundle.Find("entry")) {
    for (const auto& e : entries->items()) {
      if (e.Find("search")->Find("mode")->scalar() == "match")
        ids.push_back(e.Find("resource")->Find("id")->scalar());
    }
  }
  return ids;
}

std::string Link(const common::JsonValue& bundle, const std::string& relation) {
  for (const auto& l : bundle.Find("link")->items()) {
    if (l.Find("relation")->scalar() == relation) return l.Find("url")->scalar();
  }
  return {};
}

std::set<std::string> Split(const std::string& csv) {
  std::set<std::string> out;
  std::size_t start = 0;
  while (start < csv.size()) {
    std::size_t comma = csv.find(',', start);
    out.insert(csv.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// One server and data set for the whole table (the cases only read).
struct SeededServer {
  SeededServer() {
    for (const auto& [path, body] : kSeed) {
      BOOST_REQUIRE_EQUAL(server.Request("PUT", path, body).status, 201);
    }
  }
  test_support::TestServer server;
};

SeededServer& Shared() {
  static SeededServer seeded;
  return seeded;
}

common::JsonValue Get(test_support::TestServer& s, const std::string& query, int expect = 200) {
  HttpResult r = s.Request("GET", query);
  BOOST_REQUIRE_MESSAGE(r.status == expect, query << " answered " << r.status << ": " << r.body);
  auto json = common::ParseJson(r.body);
  BOOST_REQUIRE(json.has_value());
  return std::move(json).value();
}

// Follows a URL from a link (absolute) on the test server.
std::string PathOf(const std::string& url) { return url.substr(url.find("/fhir/R4")); }

}  // namespace

BOOST_AUTO_TEST_SUITE(SearchTable)

BOOST_DATA_TEST_CASE(FindsExactlyTheExpectedResources, boost::unit_test::data::make(kCases), c) {
  auto bundle = Get(Shared().server, c.query);
  BOOST_TEST(bundle.Find("type")->scalar() == "searchset");
  BOOST_TEST(Ids(bundle) == Split(c.ids), c.query);
}

std::set<std::string> Included(const common::JsonValue& bundle) {
  std::set<std::string> out;
  for (const auto& e : bundle.Find("entry")->items()) {
    if (e.Find("search")->Find("mode")->scalar() == "include") {
      const auto* r = e.Find("resource");
      out.insert(r->Find("resourceType")->scalar() + "/" + r->Find("id")->scalar());
    }
  }
  return out;
}

BOOST_AUTO_TEST_CASE(IncludeAndRevinclude) {
  auto& s = Shared().server;
  auto inc = Get(s, "Observation?_id=o1&_include=Observation:subject");
  BOOST_TEST(Ids(inc) == std::set<std::string>{"o1"});
  BOOST_TEST(Included(inc) == std::set<std::string>{"Patient/p1"});
  auto typed = Get(s, "Observation?_id=o2&_include=Observation:performer:Practitioner");
  BOOST_TEST(Included(typed) == std::set<std::string>{"Practitioner/d1"});
  auto all = Get(s, "Observation?_id=o2&_include=*");
  BOOST_TEST(Included(all) == (std::set<std::string>{"Patient/p2", "Practitioner/d1"}));
  auto iterate = Get(s, "Observation?_id=o1&_include=Observation:subject&_include:iterate=Patient:organization");
  BOOST_TEST(Included(iterate) == (std::set<std::string>{"Patient/p1", "Organization/org1"}));
  auto rev = Get(s, "Patient?_id=p1&_revinclude=Observation:subject");
  BOOST_TEST(Included(rev) == std::set<std::string>{"Observation/o1"});
  auto rev_iterate = Get(s, "Patient?_id=p1&_revinclude=Observation:subject&_revinclude:iterate=Provenance:target");
  BOOST_TEST(Included(rev_iterate) == (std::set<std::string>{"Observation/o1", "Provenance/pv1"}));
  // A resource already in the page is not repeated as an include.
  auto self = Get(s, "Patient?_id=p1,p2&_revinclude=Patient:link");
  BOOST_TEST(Included(self).empty());
  BOOST_TEST(s.Request("GET", "Observation?_include=Observation:nonsense", "", {{"Prefer", "handling=strict"}}).status == 400);
  BOOST_TEST(s.Request("GET", "Patient/p1/ValueSet").status == 400);  // not in the compartment
  BOOST_TEST(s.Request("GET", "Observation?code-value-quantity=79881-9", "", {{"Prefer", "handling=strict"}}).status == 400);
  BOOST_TEST(s.Request("GET", "Patient?gender:in=http://example.org/unknown-vs", "", {{"Prefer", "handling=strict"}}).status == 400);
  BOOST_TEST(Link(Get(s, "Patient/p1/Observation?_count=5"), "self").find("/Patient/p1/Observation?_count=5") !=
             std::string::npos);
  BOOST_TEST(s.Request("GET", "Observation?subject.nonsense=1", "", {{"Prefer", "handling=strict"}}).status == 400);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(SearchBehaviour, test_support::TestServer)

// Token :below/:above over the hierarchies of the shipped R4 code systems: DiagnosticReport
// status amended > corrected, appended; partial > preliminary. An unknown code or a system
// without a shipped hierarchy is a 400 with strict handling.
BOOST_AUTO_TEST_CASE(TokenBelowAndAboveFollowShippedHierarchies) {
  for (const char* status : {"final", "amended", "corrected", "appended", "preliminary", "partial"}) {
    std::string id = std::string("dr-") + status;
    BOOST_REQUIRE(Request("PUT", "DiagnosticReport/" + id, R"({"resourceType":"DiagnosticReport","id":")" + id +
                          R"(","status":")" + status + R"(","code":{"text":"screening"}})").status == 201);
  }
  using Set = std::set<std::string>;
  BOOST_TEST(Ids(Get(*this, "DiagnosticReport?status:below=amended")) == (Set{"dr-amended", "dr-corrected", "dr-appended"}));
  BOOST_TEST(Ids(Get(*this, "DiagnosticReport?status:below=partial")) == (Set{"dr-partial", "dr-preliminary"}));
  BOOST_TEST(Ids(Get(*this, "DiagnosticReport?status:below=final")) == (Set{"dr-final"}));
  BOOST_TEST(Ids(Get(*this, "DiagnosticReport?status:above=corrected")) == (Set{"dr-amended", "dr-corrected"}));
  BOOST_TEST(Ids(Get(*this, "DiagnosticReport?status:below=amended,partial")) ==
             (Set{"dr-amended", "dr-corrected", "dr-appended", "dr-partial", "dr-preliminary"}));
  HttpResult unknown = Request("GET", "DiagnosticReport?status:below=nonsense", "", {{"Prefer", "handling=strict"}});
  BOOST_TEST(unknown.status == 400);
  BOOST_TEST(unknown.body.find("hierarchy") != std::string::npos, unknown.body);
  BOOST_TEST(Request("GET", "Observation?code:below=http://loinc.org|8867-4", "", {{"Prefer", "handling=strict"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(IndexFollowsUpdatesAndDeletes) {
  BOOST_REQUIRE(Request("PUT", "Patient/u1", R"({"resourceType":"Patient","id":"u1","gender":"male"})").status == 201);
  BOOST_TEST(Ids(Get(*this, "Patient?gender=male")).count("u1") == 1u);
  BOOST_REQUIRE(Request("PUT", "Patient/u1", R"({"resourceType":"Patient","id":"u1","gender":"female"})").status == 200);
  BOOST_TEST(Ids(Get(*this, "Patient?gender=male")).count("u1") == 0u);
  BOOST_TEST(Ids(Get(*this, "Patient?gender=female")).count("u1") == 1u);
  BOOST_REQUIRE(Request("DELETE", "Patient/u1").status == 204);
  BOOST_TEST(Ids(Get(*this, "Patient?gender=female")).empty());
  BOOST_TEST(Ids(Get(*this, "Patient")).empty());
}

// Values longer than an index entry may hold are indexed by their first bytes: the write
// succeeds and the resource stays findable.
BOOST_AUTO_TEST_CASE(VeryLongValuesAreIndexedByTheirStart) {
  std::string family = "Ng" + std::string(5000, 'x');
  std::string url = "http://fovea.example/" + std::string(5000, 'u');
  BOOST_REQUIRE(Request("PUT", "Patient/long", R"({"resourceType":"Patient","id":"long","name":[{"family":")" + family + R"("}]})").status == 201);
  BOOST_REQUIRE(Request("PUT", "ValueSet/long", R"({"resourceType":"ValueSet","id":"long","status":"draft","url":")" + url + R"("})").status == 201);
  BOOST_TEST(Ids(Get(*this, "Patient?name=ngxxx")) == std::set<std::string>{"long"});
  BOOST_TEST(Ids(Get(*this, "Patient?name:exact=" + family)) == std::set<std::string>{"long"});
  BOOST_TEST(Ids(Get(*this, "ValueSet?url=" + url)) == std::set<std::string>{"long"});
}

// A valid FHIR decimal beyond what the index can hold is stored, just not searchable by value.
BOOST_AUTO_TEST_CASE(HugeDecimalsAreStoredNotIndexed) {
  HttpResult r = Request("PUT", "Observation/huge", R"({"resourceType":"Observation","id":"huge","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}})");
  BOOST_TEST(r.status == 201, r.body);
  BOOST_TEST(Ids(Get(*this, "Observation?status=final")).count("huge") == 1u);
}

BOOST_AUTO_TEST_CASE(PagesWithCursorsStayCorrectWhileDataChanges) {
  for (int i = 1; i <= 5; ++i) {
    std::string id = "pg" + std::to_string(i);
    BOOST_REQUIRE(Request("PUT", "Patient/" + id, R"({"resourceType":"Patient","id":")" + id + R"(","gender":"other"})").status == 201);
  }
  auto page1 = Get(*this, "Patient?gender=other&_count=2&_sort=_id");
  BOOST_TEST(OrderedIds(page1) == (std::vector<std::string>{"pg1", "pg2"}));
  BOOST_TEST(!page1.Find("total"));  // not known without counting, and not asked for
  // A resource inserted before the cursor position must not shift the next page.
  BOOST_REQUIRE(Request("PUT", "Patient/pg0", R"({"resourceType":"Patient","id":"pg0","gender":"other"})").status == 201);
  std::string next = Link(page1, "next");
  BOOST_REQUIRE(!next.empty());
  auto page2 = Get(*this, PathOf(next));
  BOOST_TEST(OrderedIds(page2) == (std::vector<std::string>{"pg3", "pg4"}));
  auto page3 = Get(*this, PathOf(Link(page2, "next")));
  BOOST_TEST(OrderedIds(page3) == (std::vector<std::string>{"pg5"}));
  BOOST_TEST(Link(page3, "next").empty());
  // And back: previous links walk the same pages in reverse, now including pg0 at the start.
  BOOST_TEST(Link(page1, "previous").empty());
  auto back2 = Get(*this, PathOf(Link(page3, "previous")));
  BOOST_TEST(OrderedIds(back2) == (std::vector<std::string>{"pg3", "pg4"}));
  auto back1 = Get(*this, PathOf(Link(back2, "previous")));
  BOOST_TEST(OrderedIds(back1) == (std::vector<std::string>{"pg1", "pg2"}));
  auto back0 = Get(*this, PathOf(Link(back1, "previous")));
  BOOST_TEST(OrderedIds(back0) == (std::vector<std::string>{"pg0"}));
  BOOST_TEST(Link(back0, "previous").empty());
  BOOST_TEST(OrderedIds(Get(*this, PathOf(Link(back0, "next")))) == (std::vector<std::string>{"pg1", "pg2"}));
  BOOST_TEST(Get(*this, "Patient?gender=other&_cursor=garbage~x~y", 400).Find("resourceType")->scalar() == "OperationOutcome");
  BOOST_TEST(Get(*this, "Patient?gender=other&_cursor=garbage~x", 400).Find("resourceType")->scalar() == "OperationOutcome");
  BOOST_TEST(Get(*this, "Patient?gender=other&_cursor=2026-13-45 99:99:99+00~Patient~x", 400).Find("resourceType")->scalar() == "OperationOutcome");
}

BOOST_AUTO_TEST_CASE(SortsByDateAndLastUpdated) {
  BOOST_REQUIRE(Request("PUT", "Patient/s1", R"({"resourceType":"Patient","id":"s1","birthDate":"2001"})").status == 201);
  BOOST_REQUIRE(Request("PUT", "Patient/s2", R"({"resourceType":"Patient","id":"s2","birthDate":"2012-05-05"})").status == 201);
  BOOST_REQUIRE(Request("PUT", "Patient/s3", R"({"resourceType":"Patient","id":"s3"})").status == 201);
  BOOST_TEST(OrderedIds(Get(*this, "Patient?_sort=birthdate")) == (std::vector<std::string>{"s1", "s2", "s3"}));
  BOOST_TEST(OrderedIds(Get(*this, "Patient?_sort=-birthdate")) == (std::vector<std::string>{"s2", "s1", "s3"}));
  // Newest first (writes within one millisecond tie and fall back to id order).
  auto newest = Get(*this, "Patient?_sort=-_lastUpdated");
  std::vector<std::string> stamps;
  for (const auto& e : newest.Find("entry")->items()) {
    stamps.push_back(e.Find("resource")->Find("meta")->Find("lastUpdated")->scalar());
  }
  BOOST_TEST(stamps.size() == 3u);
  BOOST_TEST(std::is_sorted(stamps.rbegin(), stamps.rend()));
  // Paging through a descending date sort.
  auto first = Get(*this, "Patient?_sort=-birthdate&_count=1");
  BOOST_TEST(OrderedIds(first) == std::vector<std::string>{"s2"});
  auto second = Get(*this, PathOf(Link(first, "next")));
  BOOST_TEST(OrderedIds(second) == std::vector<std::string>{"s1"});
  auto third = Get(*this, PathOf(Link(second, "next")));
  BOOST_TEST(OrderedIds(third) == std::vector<std::string>{"s3"});
  Get(*this, "Patient?_sort=link", 200);  // lenient: unsupported sort ignored
  BOOST_TEST(Request("GET", "Patient?_sort=link", "", {{"Prefer", "handling=strict"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(SortsByStringTokenAndQuantity) {
  for (const auto& [id, family, gender] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"n1", "Ong", "male"}, {"n2", "Abdullah", "female"}, {"n3", "Zainal", "other"}}) {
    BOOST_REQUIRE(Request("PUT", "Patient/" + id, R"({"resourceType":"Patient","id":")" + id + R"(","name":[{"family":")" + family + R"("}],"gender":")" + gender + R"("})").status == 201);
  }
  BOOST_REQUIRE(Request("PUT", "Patient/n4", R"({"resourceType":"Patient","id":"n4"})").status == 201);
  BOOST_TEST(OrderedIds(Get(*this, "Patient?_sort=family")) == (std::vector<std::string>{"n2", "n1", "n3", "n4"}));
  BOOST_TEST(OrderedIds(Get(*this, "Patient?_sort=-family")) == (std::vector<std::string>{"n3", "n1", "n2", "n4"}));
  BOOST_TEST(OrderedIds(Get(*this, "Patient?_sort=gender,family")) == (std::vector<std::string>{"n2", "n1", "n3", "n4"}));
  // Paging through a string sort with cursors.
  auto first = Get(*this, "Patient?_sort=family&_count=2");
  BOOST_TEST(OrderedIds(first) == (std::vector<std::string>{"n2", "n1"}));
  auto second = Get(*this, PathOf(Link(first, "next")));
  BOOST_TEST(OrderedIds(second) == (std::vector<std::string>{"n3", "n4"}));
  BOOST_REQUIRE(Request("PUT", "Observation/q1", R"({"resourceType":"Observation","id":"q1","status":"final","code":{"text":"x"},"valueQuantity":{"value":7}})").status == 201);
  BOOST_REQUIRE(Request("PUT", "Observation/q2", R"({"resourceType":"Observation","id":"q2","status":"final","code":{"text":"x"},"valueQuantity":{"value":-2.5}})").status == 201);
  auto by_value = Get(*this, "Observation?_sort=-value-quantity&_count=1");
  BOOST_TEST(OrderedIds(by_value) == std::vector<std::string>{"q1"});
  BOOST_TEST(OrderedIds(Get(*this, PathOf(Link(by_value, "next")))) == std::vector<std::string>{"q2"});
}

BOOST_AUTO_TEST_CASE(TotalsAndSummaryCount) {
  for (int i = 0; i < 3; ++i) {
    BOOST_REQUIRE(Request("POST", "Patient", R"({"resourceType":"Patient","gender":"unknown"})").status == 201);
  }
  BOOST_TEST(Get(*this, "Patient?gender=unknown").Find("total")->scalar() == "3");  // free: one page
  BOOST_TEST(Get(*this, "Patient?gender=unknown&_count=1&_total=accurate").Find("total")->scalar() == "3");
  auto count = Get(*this, "Patient?gender=unknown&_summary=count");
  BOOST_TEST(count.Find("total")->scalar() == "3");
  BOOST_TEST(Ids(count).empty());
  // Only the number, however small the page: no link to a page of entries it never had.
  auto small_pages = Get(*this, "Patient?gender=unknown&_summary=count&_count=1");
  BOOST_TEST(small_pages.Find("total")->scalar() == "3");
  BOOST_TEST(Ids(small_pages).empty());
  BOOST_TEST(Link(small_pages, "next").empty());
  BOOST_TEST(!Link(small_pages, "self").empty());
}

BOOST_AUTO_TEST_CASE(StrictHandlingRejectsWhatLenientIgnores) {
  HttpResult strict = Request("GET", "Patient?nonsense=1", "", {{"Prefer", "handling=strict"}});
  BOOST_TEST(strict.status == 400);
  BOOST_TEST(strict.body.find("nonsense") != std::string::npos);
  auto lenient = Get(*this, "Patient?nonsense=1&gender=male");
  BOOST_TEST(Link(lenient, "self").find("nonsense") == std::string::npos);
  BOOST_TEST(Link(lenient, "self").find("gender=male") != std::string::npos);
  BOOST_TEST(lenient.Find("entry")->items().back().Find("search")->Find("mode")->scalar() == "outcome");
  BOOST_TEST(Request("GET", "Patient?birthdate=notadate", "", {{"Prefer", "handling=strict"}}).status == 400);
  BOOST_TEST(Request("GET", "Patient?gender:exact=male", "", {{"Prefer", "handling=strict"}}).status == 400);
  BOOST_TEST(Request("GET", "Patient?_count=x", "", {{"Prefer", "handling=strict"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(PostSearchWithAFormBody) {
  BOOST_REQUIRE(Request("PUT", "Patient/f1", R"({"resourceType":"Patient","id":"f1","gender":"female","name":[{"family":"Form"}]})").status == 201);
  HttpResult r = Request("POST", "Patient/_search", "name=form&gender=female",
                         {{"Content-Type", "application/x-www-form-urlencoded"}});
  BOOST_TEST(r.status == 200);
  auto bundle = common::ParseJson(r.body);
  BOOST_REQUIRE(bundle.has_value());
  BOOST_TEST(Ids(*bundle) == std::set<std::string>{"f1"});
  BOOST_TEST(Request("POST", "Patient/_search", "{}").status == 415);
}

// A SearchParameter created through the API makes existing and new resources searchable, shows
// in the CapabilityStatement, and stops applying when deleted.
BOOST_AUTO_TEST_CASE(CustomSearchParametersThroughTheApi) {
  auto patient = [](const std::string& id, const std::string& colour) {
    return R"({"resourceType":"Patient","id":")" + id + R"(","extension":[{"url":"http://fovea.example/eye-colour","valueString":")" + colour + R"("}]})";
  };
  BOOST_REQUIRE(Request("PUT", "Patient/e1", patient("e1", "brown")).status == 201);
  BOOST_TEST(Request("GET", "Patient?eye-colour=brown", "", {{"Prefer", "handling=strict"}}).status == 400);
  const std::string sp = R"({"resourceType":"SearchParameter","id":"eye-colour","url":"http://fovea.example/SearchParameter/eye-colour","name":"EyeColour","status":"active","description":"Eye colour recorded at check-in","code":"eye-colour","base":["Patient"],"type":"string","expression":"Patient.extension.where(url='http://fovea.example/eye-colour').value"})";
  BOOST_REQUIRE(Request("PUT", "SearchParameter/eye-colour", sp).status == 201);
  // Existing resources: reindexed; new ones: indexed when written.
  BOOST_TEST(Ids(Get(*this, "Patient?eye-colour=brown")) == std::set<std::string>{"e1"});
  BOOST_REQUIRE(Request("PUT", "Patient/e2", patient("e2", "green")).status == 201);
  BOOST_TEST(Ids(Get(*this, "Patient?eye-colour=gr")) == std::set<std::string>{"e2"});
  auto cs = Get(*this, "metadata");
  bool listed = false;
  for (const auto& r : cs.Find("rest")->items()[0].Find("resource")->items()) {
    if (r.Find("type")->scalar() != "Patient") continue;
    for (const auto& p : r.Find("searchParam")->items()) listed |= p.Find("name")->scalar() == "eye-colour";
  }
  BOOST_TEST(listed);
  // One Fovea cannot search is refused, so it never looks searchable.
  std::string broken = sp;
  broken.replace(broken.find("Patient.extension"), 17, "Patient.(((");
  broken.replace(broken.find("\"id\":\"eye-colour\""), 17, "\"id\":\"broken\"");
  HttpResult refused = Request("PUT", "SearchParameter/broken", broken);
  BOOST_TEST(refused.status == 400);
  BOOST_TEST(refused.body.find("does not compile") != std::string::npos);
  std::string taken = sp;
  taken.replace(taken.find("\"code\":\"eye-colour\""), 19, "\"code\":\"birthdate\"");
  taken.replace(taken.find("\"id\":\"eye-colour\""), 17, "\"id\":\"taken\"");
  taken.replace(taken.find("eye-colour\",\"name"), 10, "taken");
  BOOST_TEST(Request("PUT", "SearchParameter/taken", taken).status == 400);
  std::string draft = taken;
  draft.replace(draft.find("\"status\":\"active\""), 17, "\"status\":\"draft\"");
  BOOST_TEST(Request("PUT", "SearchParameter/taken", draft).status == 201);  // stored, not searched
  // Deleted: the parameter is gone again.
  BOOST_REQUIRE(Request("DELETE", "SearchParameter/eye-colour").status == 204);
  BOOST_TEST(Request("GET", "Patient?eye-colour=brown", "", {{"Prefer", "handling=strict"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(CapabilityStatementListsSearchParameters) {
  auto cs = Get(*this, "metadata");
  const auto& resources = cs.Find("rest")->items()[0].Find("resource")->items();
  auto patient = std::find_if(resources.begin(), resources.end(),
                              [](const auto& r) { return r.Find("type")->scalar() == "Patient"; });
  BOOST_REQUIRE(patient != resources.end());
  std::set<std::string> names;
  for (const auto& p : patient->Find("searchParam")->items()) names.insert(p.Find("name")->scalar());
  for (const char* n : {"_id", "_lastUpdated", "name", "birthdate", "gender", "identifier"}) {
    BOOST_TEST(names.count(n) == 1u, n);
  }
  bool search_type = false;
  for (const auto& i : patient->Find("interaction")->items()) search_type |= i.Find("code")->scalar() == "search-type";
  BOOST_TEST(search_type);
  const auto& rest = cs.Find("rest")->items()[0];
  bool search_system = false;
  for (const auto& i : rest.Find("interaction")->items()) search_system |= i.Find("code")->scalar() == "search-system";
  BOOST_TEST(search_system);
  std::set<std::string> system_params;
  for (const auto& p : rest.Find("searchParam")->items()) system_params.insert(p.Find("name")->scalar());
  BOOST_TEST(system_params.count("_type") == 1u);
  BOOST_TEST(system_params.count("_lastUpdated") == 1u);
  BOOST_TEST(names.count("code-value-quantity") == 0u);  // Patient has none
  BOOST_TEST(names.count("_content") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
