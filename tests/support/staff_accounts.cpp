#include "tests/support/staff_accounts.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>

#include "common/url.h"
#include "fhir/auth/crypto/secrets.h"
#include "server/security.h"

namespace test_support {

StaffAccounts::StaffAccounts(TestServer& server,
                             const std::vector<std::pair<std::string, std::string>>& people,
                             std::string client_id)
    : server_(server), client_id_(std::move(client_id)) {
  BOOST_REQUIRE_MESSAGE(server_.security() != nullptr, "StaffAccounts needs a TestServer::Secured");
  fhir::auth::ClientRegistration console;
  console.client_id = client_id_;
  console.name = "Staff console";
  console.kind = fhir::auth::ClientRegistration::Kind::kPublic;
  console.redirect_uris = {"https://console.unit7.test/callback"};
  console.first_party = true;
  BOOST_REQUIRE(server_.security()->store().AddClient(console).ok());
  for (const auto& [name, role] : people) {
    fhir::auth::UserAccount u;
    u.username = name;
    u.password_hash = fhir::auth::HashPassword(Password(name), {10, 8, 1});  // cheap: tests only
    u.fhir_user = "Practitioner/" + name;
    u.roles = {role};
    BOOST_REQUIRE(server_.security()->store().AddUser(u).ok());
  }
}

std::string StaffAccounts::Token(const std::string& user, const std::string& scope) const {
  std::string form = "grant_type=password&client_id=" + common::UrlEncode(client_id_) +
                     "&username=" + common::UrlEncode(user) + "&password=" + common::UrlEncode(Password(user));
  if (!scope.empty()) form += "&scope=" + common::UrlEncode(scope);
  HttpResult r = server_.Request("POST", "/auth/token", form,
                                 {{"Content-Type", "application/x-www-form-urlencoded"}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, user << ": " << r.body);
  common::JsonValue answer = ParseJsonOrFail(r.body);
  const common::JsonValue* token = answer.Find("access_token");
  BOOST_REQUIRE(token != nullptr);
  return token->scalar();
}

HttpResult StaffAccounts::As(const std::string& user, const std::string& method, const std::string& path,
                             const std::string& body, Headers extra) {
  if (tokens_.count(user) == 0) tokens_[user] = Token(user);
  extra.emplace_back("Authorization", "Bearer " + tokens_[user]);
  auto is_content_type = [](const auto& h) {
    std::string name = h.first;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    return name == "content-type";
  };
  if (!body.empty() && std::none_of(extra.begin(), extra.end(), is_content_type)) {
    extra.emplace_back("Content-Type", "application/fhir+json");
  }
  return server_.Request(method, path, body, extra);
}

}  // namespace test_support
