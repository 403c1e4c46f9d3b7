// fhir/model: the element tree and identifiers.

#include "fhir/model/element.h"

#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <regex>

#include "fhir/definitions/definitions.h"
#include "fhir/model/ids.h"

namespace {
const fhir::model::TypeDef& Type(const char* name) {
  const auto* t = fhir::definitions::Definitions::R4().FindType(name);
  BOOST_REQUIRE(t != nullptr);
  return *t;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(ElementTree)

BOOST_AUTO_TEST_CASE(SetPrimitiveChildKeepsDefinitionOrder) {
  fhir::model::Element patient(nullptr, &Type("Patient"));
  BOOST_TEST(patient.SetPrimitiveChild("birthDate", "2015-06-01"));
  BOOST_TEST(patient.SetPrimitiveChild("active", "true"));
  BOOST_TEST(patient.SetPrimitiveChild("id", "p1"));
  BOOST_REQUIRE(patient.children().size() == 3u);
  BOOST_TEST(patient.children()[0].name() == "id");
  BOOST_TEST(patient.children()[1].name() == "active");
  BOOST_TEST(patient.children()[2].name() == "birthDate");
  BOOST_TEST(patient.SetPrimitiveChild("id", "p2"));  // replaces
  BOOST_TEST(patient.Child("id")->value() == "p2");
  BOOST_TEST(!patient.SetPrimitiveChild("nickname", "x"));  // not defined
  BOOST_TEST(!patient.SetPrimitiveChild("name", "x"));      // not primitive
}

BOOST_AUTO_TEST_CASE(ChildOrAddAndAddRepeat) {
  fhir::model::Element patient(nullptr, &Type("Patient"));
  BOOST_TEST(patient.SetPrimitiveChild("gender", "female"));
  fhir::model::Element* meta = patient.ChildOrAdd("meta");
  BOOST_REQUIRE(meta != nullptr);
  BOOST_TEST(patient.ChildOrAdd("meta") == meta);  // found, not added twice
  BOOST_TEST(patient.children().front().name() == "meta");  // definition order
  fhir::model::Element* first = meta->AddRepeat("tag");
  first->SetPrimitiveChild("code", "a");
  fhir::model::Element* second = patient.MutableChild("meta")->AddRepeat("tag");
  second->SetPrimitiveChild("code", "b");
  const auto& tags = patient.Child("meta")->children();
  BOOST_REQUIRE(tags.size() == 2u);
  BOOST_TEST(tags[1].Child("code")->value() == "b");
  BOOST_TEST(patient.ChildOrAdd("nickname") == nullptr);
}

BOOST_AUTO_TEST_CASE(ChoiceElementsNameTheirType) {
  const auto& obs = Type("Observation");
  const auto* value = obs.FindElement("value");
  BOOST_REQUIRE(value != nullptr);
  BOOST_TEST(value->choice);
  fhir::model::Element quantity(value, &Type("Quantity"));
  BOOST_TEST(quantity.name() == "value");
  BOOST_TEST(quantity.JsonName() == "valueQuantity");
  fhir::model::Element str(value, &Type("string"));
  BOOST_TEST(str.JsonName() == "valueString");
}

BOOST_AUTO_TEST_CASE(BackboneElementsAreTypesNamedByPath) {
  const auto& contact = Type("Patient.contact");
  BOOST_TEST(contact.FindElement("relationship") != nullptr);
  const auto* item = Type("Questionnaire.item").FindElement("item");
  BOOST_REQUIRE(item != nullptr);
  BOOST_TEST(item->types.front()->name == "Questionnaire.item");  // contentReference
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(Identifiers)

const char* const kValidIds[] = {"a", "A-1.b", "123", "c757873d-ec9a-4326-a141-556f43239520"};
const char* const kInvalidIds[] = {"", "a b", "a/b", "é", "a_b"};

BOOST_DATA_TEST_CASE(LogicalIdAcceptsValid, boost::unit_test::data::make(kValidIds), id) {
  BOOST_TEST(fhir::model::LogicalId::Parse(id).has_value());
}

BOOST_DATA_TEST_CASE(LogicalIdRejectsInvalid, boost::unit_test::data::make(kInvalidIds), id) {
  BOOST_TEST(!fhir::model::LogicalId::Parse(id).has_value());
  BOOST_TEST(!fhir::model::LogicalId::Parse(std::string(65, 'a')).has_value());
}

BOOST_AUTO_TEST_CASE(GeneratedIdsAreValidAndDistinct) {
  auto a = fhir::model::LogicalId::Generate();
  auto b = fhir::model::LogicalId::Generate();
  BOOST_TEST(fhir::model::LogicalId::IsValid(a.value()));
  BOOST_TEST(a.value().size() == 36u);
  BOOST_TEST(a.value() != b.value());
  // Random (version 4, variant 10) UUIDs in their canonical lower-case text form.
  static const std::regex kUuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (int i = 0; i < 100; ++i) {
    std::string id = fhir::model::LogicalId::Generate().value();
    BOOST_TEST(std::regex_match(id, kUuid4), id);
  }
}

BOOST_AUTO_TEST_CASE(ETagVersions) {
  BOOST_TEST(fhir::model::ParseETagVersion("W/\"3\"") == 3);
  BOOST_TEST(fhir::model::ParseETagVersion("\"12\"") == 12);
  BOOST_TEST(fhir::model::ParseETagVersion(" 7 ") == 7);
  BOOST_TEST(fhir::model::ParseETagVersion("W/\"x\"") == 0);
  BOOST_TEST(fhir::model::ParseETagVersion("W/\"0\"") == 0);
  BOOST_TEST(fhir::model::VersionId::Parse("4")->value() == 4);
  BOOST_TEST(!fhir::model::VersionId::Parse("4a").has_value());
}

BOOST_AUTO_TEST_CASE(ReferencesWithoutTheirVersion) {
  using fhir::model::WithoutHistory;
  BOOST_TEST(WithoutHistory("Observation/1/_history/2") == "Observation/1");
  BOOST_TEST(WithoutHistory("https://ehr.example/fhir/Patient/p/_history/9") == "https://ehr.example/fhir/Patient/p");
  BOOST_TEST(WithoutHistory("Observation/1") == "Observation/1");
  BOOST_TEST(WithoutHistory("Observation/_history") == "Observation/_history");
  BOOST_TEST(WithoutHistory("").empty());
}

BOOST_AUTO_TEST_SUITE_END()
