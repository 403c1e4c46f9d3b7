#ifndef FOVEA_SERVER_COMMANDS_H_
#define FOVEA_SERVER_COMMANDS_H_

// The fovea subcommands; each returns the process exit code.

#include "server/config.h"

namespace server {

int RunServe(const Config& config);
int RunMigrate(const Config& config);
int RunReindex(const Config& config);

}  // namespace server

#endif  // FOVEA_SERVER_COMMANDS_H_
