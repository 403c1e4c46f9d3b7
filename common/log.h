#ifndef FOVEA_COMMON_LOG_H_
#define FOVEA_COMMON_LOG_H_

// Minimal structured logging to stderr. Never log resource content, parameter values or other
// PHI: log query names, resource types, ids of requests and outcomes.

#include <string_view>

namespace common {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace common

#endif  // FOVEA_COMMON_LOG_H_
