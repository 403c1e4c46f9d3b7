#ifndef FOVEA_SERVER_ADMIN_COMMANDS_H_
#define FOVEA_SERVER_ADMIN_COMMANDS_H_

// Account administration from the command line (the unit's administrator runs these on the
// server machine; there is no HTTP API for them on purpose):
//   fovea user add --username U --role ROLE [--role ...] --name "Full Name" [--password-stdin]
//   fovea client add --client-id ID (--jwks FILE | --jwks-url URL) [--role ehr-system] [--name N]
//   fovea client add --client-id ID --public --redirect-uri URI [--first-party] [--name N]
//   fovea user disable|enable|passwd --username U   (disable revokes the refresh tokens)
//   fovea client disable|enable --client-id ID
//   fovea key rotate
// Database options (--database-url, --data-dir) as for every command.

#include <iosfwd>
#include <string>
#include <vector>

namespace server {

// `args` starts after the command word ("user", "client" or "key"). Returns the exit code.
int RunUserCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err);
int RunClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunKeyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace server

#endif  // FOVEA_SERVER_ADMIN_COMMANDS_H_
