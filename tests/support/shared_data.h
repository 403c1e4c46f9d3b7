#ifndef FOVEA_TESTS_SUPPORT_SHARED_DATA_H_
#define FOVEA_TESTS_SUPPORT_SHARED_DATA_H_

// Access to ../shared (official HL7 test data) from tests. FOVEA_SHARED_DIR is set by CTest.

#include <filesystem>
#include <string>
#include <vector>

namespace test_support {

std::filesystem::path SharedDir();
std::string ReadFile(const std::filesystem::path& p);
// Every *.json file in ../shared/testdata/examples-json, sorted.
std::vector<std::filesystem::path> OfficialJsonExamples();

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_SHARED_DATA_H_
