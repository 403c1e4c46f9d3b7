#include "conformance/engine/suites.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace conformance::engine {

namespace {

namespace fs = std::filesystem;

// A quick look: is this file a TestScript (JSON or XML)? Fixtures sit next to scripts.
bool LooksLikeTestScript(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head.find("\"TestScript\"") != std::string::npos ||
         head.find("<TestScript") != std::string::npos;
}

std::vector<std::string> ScriptsIn(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    if (ext != ".json" && ext != ".xml") continue;
    if (LooksLikeTestScript(entry.path())) out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::vector<std::string> DefaultSuiteDirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("FOVEA_CONFORMANCE_SUITES"); env != nullptr && *env) {
    std::stringstream ss(env);
    for (std::string d; std::getline(ss, d, ':');) {
      if (!d.empty()) dirs.push_back(d);
    }
  }
  dirs.emplace_back("conformance/suites");
#ifdef FOVEA_CONFORMANCE_SUITES_DIR
  dirs.emplace_back(FOVEA_CONFORMANCE_SUITES_DIR);
#endif
  return dirs;
}

common::Result<std::vector<std::string>> ResolveScripts(const std::string& arg,
                                                        const std::vector<std::string>& suite_dirs) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return std::vector<std::string>{arg};
  // A directory here that holds no TestScript (the source tree's subscriptions/, say) does
  // not hide the shipped suite of that name.
  bool is_dir = fs::is_directory(arg, ec);
  if (is_dir) {
    auto scripts = ScriptsIn(arg);
    if (!scripts.empty()) return scripts;
  }
  // A suite (core) or one script of a suite (core/crud.json).
  for (const auto& dir : suite_dirs) {
    fs::path candidate = fs::path(dir) / arg;
    if (fs::is_regular_file(candidate, ec)) return std::vector<std::string>{candidate.string()};
    if (fs::is_directory(candidate, ec)) {
      auto scripts = ScriptsIn(candidate);
      if (!scripts.empty()) return scripts;
    }
  }
  if (is_dir) return common::NotFoundError("no TestScript files in " + arg);
  std::string looked;
  for (const auto& d : suite_dirs) looked += (looked.empty() ? "" : ", ") + d;
  return common::NotFoundError("'" + arg + "' is neither a file, a directory nor a suite in " +
                               looked);
}

}  // namespace conformance::engine
