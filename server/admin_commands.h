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

#include "common/status.h"
#include "fhir/auth/auth_store.h"
#include "fhir/rest/fhir_service.h"

namespace server {

// A staff account as `fovea user add` makes it: a Practitioner (identifier: the user name), a
// PractitionerRole with the roles, both written through `service`, then the login (password
// hashed). kInvalid for an unknown role or a password under 10 characters; kVersionConflict
// when the user name is taken.
struct StaffAccount {
  std::string fhir_user;          // "Practitioner/abc"
  std::string practitioner_role;  // "PractitionerRole/def"
};
common::Result<StaffAccount> AddStaffAccount(fhir::rest::FhirService& service,
                                            fhir::auth::AuthStore& auth,
                                            const std::string& username, const std::string& name,
                                            const std::vector<std::string>& roles,
                                            const std::string& password);

// `args` starts after the command word ("user", "client" or "key"). Returns the exit code.
int RunUserCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err);
int RunClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunKeyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace server

#endif  // FOVEA_SERVER_ADMIN_COMMANDS_H_
