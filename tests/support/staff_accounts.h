#ifndef FOVEA_TESTS_SUPPORT_STAFF_ACCOUNTS_H_
#define FOVEA_TESTS_SUPPORT_STAFF_ACCOUNTS_H_

// Staff of a unit on a Secured TestServer, for tests that act as people in roles: a public
// first-party client and one account per (name, role) — password `pass-<name>`, fhirUser
// `Practitioner/<name>` — with access tokens from the password grant, each fetched once.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "tests/support/json_reading.h"
#include "tests/support/test_server.h"

namespace test_support {

using Headers = std::vector<std::pair<std::string, std::string>>;

class StaffAccounts {
 public:
  StaffAccounts(TestServer& server, const std::vector<std::pair<std::string, std::string>>& people,
                std::string client_id = "staff-console");

  static std::string Password(const std::string& name) { return "pass-" + name; }
  const std::string& client_id() const { return client_id_; }
  // A fresh access token for `user` (the password grant; `scope` empty: everything the role
  // allows); fails the test if refused.
  std::string Token(const std::string& user, const std::string& scope = "") const;
  // A request as `user` (their token, fetched once); a body without a Content-Type in `extra`
  // goes as application/fhir+json.
  HttpResult As(const std::string& user, const std::string& method, const std::string& path,
                const std::string& body = "", Headers extra = {});

 private:
  TestServer& server_;
  std::string client_id_;
  std::map<std::string, std::string> tokens_;
};

}  // namespace test_support

#endif  // FOVEA_TESTS_SUPPORT_STAFF_ACCOUNTS_H_
