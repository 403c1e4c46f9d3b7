#include "adapters/hl7v2/mapping/oru_mapping.h"

#include <boost/test/unit_test.hpp>

namespace {

using adapters::hl7v2::Message;
using adapters::hl7v2::mapping::BuildOru;
using adapters::hl7v2::mapping::OruInput;
using adapters::hl7v2::mapping::ToHl7Timestamp;

common::JsonValue Json(const std::string& text) {
  auto j = common::ParseJson(text);
  BOOST_REQUIRE(j.has_value());
  return std::move(j).value();
}

BOOST_AUTO_TEST_SUITE(OruMapping)

BOOST_AUTO_TEST_CASE(Timestamps) {
  BOOST_TEST(ToHl7Timestamp("2015-06-01") == "20150601");
  BOOST_TEST(ToHl7Timestamp("2024-01-02T10:30:00+01:00") == "20240102103000+0100");
  BOOST_TEST(ToHl7Timestamp("2024-01-02T10:30:00.123Z") == "20240102103000+0000");
  BOOST_TEST(ToHl7Timestamp("2024-01-02T10:30:00-05:00") == "20240102103000-0500");
}

BOOST_AUTO_TEST_CASE(SessionToOru) {
  OruInput in;
  in.encounter = Json(R"({"resourceType":"Encounter","id":"e1","identifier":[{"system":"urn:fovea:hl7v2:id:GOOD%20HOSP","value":"V1"}],
      "period":{"start":"2024-01-02T10:00:00Z","end":"2024-01-02T11:00:00Z"}})");
  in.patient = Json(R"({"resourceType":"Patient","id":"p1","identifier":[
      {"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oid:1.2.3","value":"M1"},
      {"system":"https://hospital.example/mrn","value":"X9"}],
      "name":[{"family":"Doe","given":["Jane","Q"]}],"birthDate":"1980-02-29","gender":"female"})");
  in.observations.push_back(Json(R"({"resourceType":"Observation","status":"final",
      "code":{"coding":[{"system":"http://snomed.info/sct","code":"363983007","display":"Visual acuity"}]},
      "bodySite":{"coding":[{"system":"http://snomed.info/sct","code":"362502000","display":"Entire right eye"}]},
      "valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA1","display":"Normal"}]}})"));
  in.reports.push_back(Json(R"({"resourceType":"DiagnosticReport","status":"final","conclusion":"a|b^c",
      "conclusionCode":[{"coding":[{"system":"http://snomed.info/sct","code":"57190000","display":"Myopia"}]}]})"));
  in.control_id = "FO7";
  in.timestamp = "20240102110500+0000";
  Message m = BuildOru(in);
  auto again = Message::Parse(m.Encode());
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(again->Encode() == m.Encode());
  BOOST_TEST(m.Get("MSH-9") == "ORU^R01^ORU_R01");
  BOOST_TEST(m.Get("MSH-10") == "FO7");
  BOOST_TEST(m.Get("PID-3(1).1") == "M1");
  BOOST_TEST(m.Get("PID-3(1).4.2") == "1.2.3");
  BOOST_TEST(m.Get("PID-3(1).4.3") == "ISO");
  BOOST_TEST(m.Get("PID-3(1).5") == "MR");
  BOOST_TEST(m.Get("PID-3(2).4.2") == "https://hospital.example/mrn");
  BOOST_TEST(m.Get("PID-3(3).1") == "p1");
  BOOST_TEST(m.Get("PID-3(3).5") == "PI");
  BOOST_TEST(m.Get("PID-5.2") == "Jane");
  BOOST_TEST(m.Get("PID-7") == "19800229");
  BOOST_TEST(m.Get("PID-8") == "F");
  BOOST_TEST(m.Get("PV1-19.1") == "V1");
  BOOST_TEST(m.Get("PV1-19.4") == "GOOD HOSP");
  BOOST_TEST(m.Get("OBR-7") == "20240102100000+0000");
  BOOST_TEST(m.Get("OBR-8") == "20240102110000+0000");
  BOOST_TEST(m.Get("OBX[1]-2") == "CWE");
  BOOST_TEST(m.Get("OBX[1]-3") == "363983007^Visual acuity^SCT");
  BOOST_TEST(m.Get("OBX[1]-5") == "LA1^Normal^LN");
  BOOST_TEST(m.Get("OBX[1]-20.2") == "Entire right eye");
  BOOST_TEST(m.Get("OBX[2]-2") == "TX");
  BOOST_TEST(m.Get("OBX[2]-5") == "a|b^c");
  BOOST_TEST(m.Raw(*adapters::hl7v2::Path::Parse("OBX[2]-5")) == "a\\F\\b\\S\\c");
  BOOST_TEST(m.Get("OBX[3]-5.1") == "57190000");
  BOOST_TEST(m.Find("OBX", 4) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
