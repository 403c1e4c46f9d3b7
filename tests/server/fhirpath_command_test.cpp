// server/fhirpath_command: `fovea fhirpath` for integration engineers.

#include "server/fhirpath_command.h"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

namespace {

struct Run {
  int code = 0;
  std::string out, err;
};

Run Fhirpath(std::vector<std::string> args, const std::string& stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  Run r;
  r.code = server::RunFhirpathCommand(args, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

const char* kPatient =
    R"({"resourceType":"Patient","birthDate":"2015-06-01","name":[{"given":["Mei","Ling"]}]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(FhirpathCommand)

BOOST_AUTO_TEST_CASE(EvaluatesAgainstAResourceFromStdin) {
  Run r = Fhirpath({"--resource", "-", "Patient.name.given"}, kPatient);
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out == "[\"Mei\",\"Ling\"]\n");
}

BOOST_AUTO_TEST_CASE(EvaluatesWithoutAResource) {
  Run r = Fhirpath({"1 + 2"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out == "[3]\n");
}

BOOST_AUTO_TEST_CASE(SyntaxErrorsExitNonZeroWithAMessage) {
  Run r = Fhirpath({"1 +"});
  BOOST_TEST(r.code == 1);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(r.err.find("syntax") != std::string::npos);
  BOOST_TEST(Fhirpath({}).code == 2);
}

BOOST_AUTO_TEST_CASE(BatchPrintsOneLinePerExpression) {
  std::string path = "/tmp/fovea_fhirpath_command_test.json";
  std::ofstream(path) << kPatient;
  Run r = Fhirpath({"--batch", "--resource", path}, "Patient.birthDate\n(1\nname.given.count()\n");
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out.find("[\"2015-06-01\"]\n{\"error\":") == 0u);
  BOOST_TEST(r.out.substr(r.out.rfind('{')).find("\n[2]\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
