// fhir/search: the token$number$number (MolecularSequence coordinates) and reference$token
// (DocumentReference relationship) composites: extraction pairs only values of one element,
// the parser checks each component's shape, and the in-memory matcher applies prefixes.

#include <boost/test/unit_test.hpp>

#include "common/url.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"
#include "fhir/rest/capability_statement.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/memory_matcher.h"
#include "fhir/search/search_query.h"

namespace {

using fhir::search::IndexRows;
using fhir::search::SearchParameterRegistry;

const SearchParameterRegistry& R4() { return *SearchParameterRegistry::R4(); }

IndexRows Rows(const std::string& json) {
  fhir::model::OperationOutcomeSink issues;
  auto root = fhir::format::ParseResourceJson(json, fhir::definitions::Definitions::R4(), issues);
  BOOST_REQUIRE(root.has_value());
  return fhir::search::ExtractIndex(*root, R4());
}

// Parses with strict handling; `error` gets the first issue's text ("" when none).
fhir::search::SearchQuery Query(const std::string& type, const std::string& query,
                                std::string* error = nullptr) {
  fhir::model::OperationOutcomeSink issues;
  fhir::search::SearchOptions options;
  options.strict = true;
  auto q = fhir::search::ParseSearch(type, common::ParseQueryString(query), R4(), options, issues);
  if (error != nullptr) {
    error->clear();
    for (const auto& issue : issues.issues()) {
      if (issue.severity == fhir::model::IssueSeverity::kError) *error += issue.diagnostics + "\n";
    }
  }
  q.base_url = "https://fovea.test/fhir/R4";
  return q;
}

bool Matches(const std::string& type, const std::string& query, const IndexRows& rows) {
  std::string error;
  auto q = Query(type, query, &error);
  BOOST_REQUIRE_MESSAGE(error.empty(), query);
  BOOST_REQUIRE_MESSAGE(fhir::search::CheckMatchable(q).ok(), query);
  return fhir::search::MatchesInMemory(q, "x", rows);
}

// Chromosome 1 with two variants: [100, 200] and [300, 400].
const char* kSequence = R"({"resourceType":"MolecularSequence","id":"s1","coordinateSystem":0,
  "referenceSeq":{"chromosome":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/chromosome-human","code":"1"}]},
    "referenceSeqId":{"coding":[{"system":"http://www.ncbi.nlm.nih.gov/nuccore","code":"NC_000001.11"}]},
    "windowStart":50,"windowEnd":450},
  "variant":[{"start":100,"end":200},{"start":300,"end":400}]})";

// Two relatesTo: replaces DocumentReference/a, appends DocumentReference/b.
const char* kDocument = R"({"resourceType":"DocumentReference","id":"d1","status":"current",
  "content":[{"attachment":{"contentType":"text/plain"}}],
  "relatesTo":[{"code":"replaces","target":{"reference":"DocumentReference/a"}},
               {"code":"appends","target":{"reference":"https://other.example/fhir/DocumentReference/b"}}]})";

BOOST_AUTO_TEST_SUITE(CompositeParameters)

BOOST_AUTO_TEST_CASE(VariantCoordinatesPairOnlyOneVariantsStartAndEnd) {
  IndexRows rows = Rows(kSequence);
  int variant = 0, window = 0, by_id = 0;
  for (const auto& r : rows.composite_numbers) {
    if (r.param == "chromosome-variant-coordinate") {
      ++variant;
      BOOST_TEST(r.first.code == "1");
      BOOST_TEST(r.first.system == "http://terminology.hl7.org/CodeSystem/chromosome-human");
      // Each row is one variant: (100, 200) or (300, 400), never (100, 400).
      bool one_variant = (r.second.value == "100" && r.third.value == "200") ||
                         (r.second.value == "300" && r.third.value == "400");
      BOOST_TEST(one_variant, r.second.value + ".." + r.third.value);
    } else if (r.param == "chromosome-window-coordinate") {
      ++window;
      BOOST_TEST(r.second.value == "50");
      BOOST_TEST(r.third.value == "450");
    } else if (r.param == "referenceseqid-variant-coordinate") {
      ++by_id;
      BOOST_TEST(r.first.code == "NC_000001.11");
    }
  }
  BOOST_TEST(variant == 2);
  BOOST_TEST(window == 1);
  BOOST_TEST(by_id == 2);
}

BOOST_AUTO_TEST_CASE(RelationshipPairsEachTargetWithItsOwnCode) {
  IndexRows rows = Rows(kDocument);
  BOOST_REQUIRE(rows.composite_references.size() == 2u);
  for (const auto& r : rows.composite_references) {
    BOOST_TEST(r.param == "relationship");
    if (r.second.code == "replaces") {
      BOOST_TEST(r.first.target_type == "DocumentReference");
      BOOST_TEST(r.first.target_id == "a");
    } else {
      BOOST_TEST(r.second.code == "appends");
      BOOST_TEST(r.first.url == "https://other.example/fhir/DocumentReference/b");
      BOOST_TEST(r.first.target_id == "b");
    }
  }
  // Both travel to the write statement.
  std::string json = rows.ToJson();
  BOOST_TEST(json.find(R"("composite_reference":[)") != std::string::npos);
  BOOST_TEST(Rows(kSequence).ToJson().find(R"("composite_number":[)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ValuesAreCheckedAgainstEachComponentsType) {
  std::string error;
  Query("MolecularSequence", "chromosome-variant-coordinate=1$lt345$gt123", &error);
  BOOST_TEST(error.empty(), error);
  Query("DocumentReference", "relationship=DocumentReference/123$replaces", &error);
  BOOST_TEST(error.empty(), error);
  Query("MolecularSequence", "chromosome-variant-coordinate=1$lt345", &error);  // no end
  BOOST_TEST(error.find("token$number$number") != std::string::npos, error);
  Query("MolecularSequence", "chromosome-variant-coordinate=1$abc$5", &error);
  BOOST_TEST(error.find("number") != std::string::npos, error);
  Query("MolecularSequence", "chromosome-variant-coordinate=$1$5", &error);  // no chromosome
  BOOST_TEST(!error.empty());
  Query("DocumentReference", "relationship=DocumentReference/123", &error);
  BOOST_TEST(error.find("reference$token") != std::string::npos, error);
  Query("DocumentReference", "relationship:exact=DocumentReference/123$replaces", &error);
  BOOST_TEST(!error.empty());
  Query("DocumentReference", "relationship:missing=true", &error);
  BOOST_TEST(error.empty(), error);
}

BOOST_AUTO_TEST_CASE(TheMatcherAppliesPrefixesToEachNumber) {
  IndexRows rows = Rows(kSequence);
  const std::string p = "chromosome-variant-coordinate=";
  BOOST_TEST(Matches("MolecularSequence", p + "1$100$200", rows));
  BOOST_TEST(Matches("MolecularSequence", p + "1$lt150$gt150", rows));  // variant 1
  // Start < 150 is variant 1, end > 350 is variant 2: never one variant.
  BOOST_TEST(!Matches("MolecularSequence", p + "1$lt150$gt350", rows));
  BOOST_TEST(Matches("MolecularSequence", p + "1$ge300$le400", rows));
  BOOST_TEST(!Matches("MolecularSequence", p + "1$gt300$le400", rows));
  BOOST_TEST(!Matches("MolecularSequence", p + "2$100$200", rows));  // another chromosome
  BOOST_TEST(Matches("MolecularSequence",
                     p + "http://terminology.hl7.org/CodeSystem/chromosome-human|1$100$200", rows));
  BOOST_TEST(!Matches("MolecularSequence", p + "http://other|1$100$200", rows));
  // Significant figures: 1e2 is [50, 150), so 100 matches and so does a start of 1.0e2.
  BOOST_TEST(Matches("MolecularSequence", p + "1$1e2$2e2", rows));
  BOOST_TEST(Matches("MolecularSequence", p + "1$ne100$400", rows));
  BOOST_TEST(Matches("MolecularSequence", p + "1$ap95$ap210", rows));  // within 10%
  BOOST_TEST(!Matches("MolecularSequence", p + "1$ap80$200", rows));
  BOOST_TEST(Matches("MolecularSequence", p + "9$1$1," + "1$300$400", rows));  // OR
  BOOST_TEST(Matches("MolecularSequence", "chromosome-window-coordinate=1$lt100$gt400", rows));
  BOOST_TEST(Matches("MolecularSequence",
                     "referenceseqid-window-coordinate=NC_000001.11$50$450", rows));
  BOOST_TEST(!Matches("MolecularSequence",
                      "referenceseqid-window-coordinate=NC_000001.11$51$450", rows));
  BOOST_TEST(Matches("MolecularSequence", "chromosome-variant-coordinate:missing=false", rows));
  BOOST_TEST(!Matches("MolecularSequence", "chromosome-variant-coordinate:missing=true", rows));
  // Plain number parameters use the same comparisons.
  BOOST_TEST(Matches("MolecularSequence", "variant-start=gt250", rows));
  BOOST_TEST(!Matches("MolecularSequence", "variant-start=gt300", rows));
}

BOOST_AUTO_TEST_CASE(TheMatcherPairsEachRelationshipsTargetWithItsCode) {
  IndexRows rows = Rows(kDocument);
  const std::string p = "relationship=";
  BOOST_TEST(Matches("DocumentReference", p + "DocumentReference/a$replaces", rows));
  BOOST_TEST(Matches("DocumentReference", p + "a$replaces", rows));
  BOOST_TEST(!Matches("DocumentReference", p + "DocumentReference/a$appends", rows));
  BOOST_TEST(!Matches("DocumentReference", p + "DocumentReference/b$replaces", rows));
  BOOST_TEST(Matches("DocumentReference", p + "DocumentReference/b$appends", rows));
  BOOST_TEST(Matches("DocumentReference",
                     p + "https://other.example/fhir/DocumentReference/b$appends", rows));
  BOOST_TEST(Matches("DocumentReference",
                     p + "DocumentReference/a$http://hl7.org/fhir/document-relationship-type|replaces",
                     rows) == false);  // a code element has no system
  BOOST_TEST(Matches("DocumentReference", "relationship:missing=false", rows));
  BOOST_TEST(Matches("DocumentReference", "relationship:missing=true",
                     Rows(R"({"resourceType":"DocumentReference","status":"current",
                       "content":[{"attachment":{"contentType":"text/plain"}}]})")));
}

BOOST_AUTO_TEST_CASE(EveryR4CompositeIsServedAndListed) {
  // The CapabilityStatement lists what IsSearchSupported accepts: now every R4 composite.
  std::vector<std::string> unserved;
  int composites = 0;
  // The types R4 defines composites for (72 definitions per type, counting shared ones).
  for (const std::string type :
       {"Observation", "MolecularSequence", "ActivityDefinition", "CapabilityStatement",
        "CodeSystem", "CompartmentDefinition", "ConceptMap", "GraphDefinition",
        "ImplementationGuide", "MessageDefinition", "NamingSystem", "OperationDefinition",
        "SearchParameter", "StructureDefinition", "StructureMap", "TerminologyCapabilities",
        "ValueSet", "ChargeItemDefinition", "EffectEvidenceSynthesis", "EventDefinition",
        "Evidence", "EvidenceVariable", "ExampleScenario", "Library", "Measure",
        "PlanDefinition", "Questionnaire", "ResearchDefinition", "ResearchElementDefinition",
        "RiskEvidenceSynthesis", "TestScript", "DocumentReference", "Group"}) {
    for (const auto* p : R4().ForType(type)) {
      if (p->type != fhir::search::ParamType::kComposite) continue;
      ++composites;
      if (!fhir::rest::IsSearchSupported(*p, R4())) unserved.push_back(type + "." + p->code);
    }
  }
  BOOST_TEST(composites == 72);
  BOOST_TEST(unserved.empty(), unserved.size() << " unserved, first: "
                                               << (unserved.empty() ? "" : unserved.front()));
  BOOST_TEST(fhir::rest::IsSearchSupported(*R4().Find("DocumentReference", "relationship"), R4()));
  BOOST_TEST(fhir::rest::IsSearchSupported(
      *R4().Find("MolecularSequence", "referenceseqid-window-coordinate"), R4()));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
