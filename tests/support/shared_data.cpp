#include "tests/support/shared_data.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace test_support {

std::filesystem::path SharedDir() {
  const char* dir = std::getenv("FOVEA_SHARED_DIR");
  std::filesystem::path p = dir != nullptr ? dir : "../shared";
  if (!std::filesystem::exists(p / "testdata")) {
    throw std::runtime_error("shared test data not found at " + p.string() +
                             " (set FOVEA_SHARED_DIR)");
  }
  return p;
}

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::filesystem::path> OfficialJsonExamples() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(SharedDir() / "testdata" / "examples-json")) {
    if (e.path().extension() == ".json") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace test_support
