// server/admin_commands: fovea user / client administration against a real database.

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/key_encryption.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/auth/pg/pg_auth_store.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "server/admin_commands.h"
#include "tests/support/test_database.h"

namespace {

struct Admin {
  test_support::TestDatabase db;
  std::ostringstream out, err;

  int User(std::vector<std::string> args, const std::string& password = "") {
    args.insert(args.end(), {"--database-url", db.dsn(), "--password-stdin"});
    std::istringstream in(password + "\n");
    return server::RunUserCommand(args, in, out, err);
  }
  int Client(std::vector<std::string> args) {
    args.insert(args.end(), {"--database-url", db.dsn()});
    return server::RunClientCommand(args, out, err);
  }
  int Key(std::vector<std::string> args) {
    if (args.at(0) == "rotate") args.insert(args.end(), {"--database-url", db.dsn()});
    return server::RunKeyCommand(args, out, err);
  }
};

BOOST_FIXTURE_TEST_SUITE(UserAdministration, Admin)

BOOST_AUTO_TEST_CASE(AddCreatesThePractitionerTheRoleAndTheCredentials) {
  BOOST_REQUIRE_EQUAL(User({"add", "--username", "dr.okafor", "--role", "doctor", "--name",
                            "Dr Ada Okafor"},
                           "a long enough password"),
                      0);
  fhir::store::pg::ConnectionPool pool(db.dsn(), 1);
  fhir::auth::pg::PgAuthStore auth(pool);
  auto user = auth.FindUser("dr.okafor");
  BOOST_REQUIRE(user.has_value());
  BOOST_TEST(user->roles == std::vector<std::string>{"doctor"});
  BOOST_TEST(fhir::auth::VerifyPassword("a long enough password", user->password_hash));
  BOOST_TEST(user->password_hash.find("a long enough") == std::string::npos);
  fhir::store::pg::PgResourceStore store(pool);
  std::string practitioner = user->fhir_user.substr(std::string("Practitioner/").size());
  auto resource = store.Read("Practitioner", practitioner);
  BOOST_REQUIRE(resource.has_value());
  BOOST_TEST(resource->content.find("Dr Ada Okafor") != std::string::npos);
  BOOST_TEST(out.str().find("PractitionerRole/") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(RefusesDuplicatesWeakPasswordsAndUnknownRoles) {
  BOOST_REQUIRE_EQUAL(User({"add", "--username", "u1", "--role", "technician", "--name", "U"},
                           "a long enough password"),
                      0);
  BOOST_TEST(User({"add", "--username", "u1", "--role", "technician", "--name", "U"},
                  "a long enough password") == 1);
  BOOST_TEST(User({"add", "--username", "u2", "--role", "technician", "--name", "U"}, "short") ==
             1);
  BOOST_TEST(User({"add", "--username", "u3", "--role", "wizard", "--name", "U"},
                  "a long enough password") == 1);
  BOOST_TEST(User({"add", "--username", "u4", "--role", "ehr-system", "--name", "U"},
                  "a long enough password") == 1);
}

BOOST_AUTO_TEST_CASE(DisableRevokesRefreshTokensAndPasswdReplacesThePassword) {
  BOOST_REQUIRE_EQUAL(User({"add", "--username", "u1", "--role", "technician", "--name", "U"},
                           "first password here"),
                      0);
  fhir::store::pg::ConnectionPool pool(db.dsn(), 1);
  fhir::auth::pg::PgAuthStore auth(pool);
  fhir::auth::RefreshTokenRecord refresh;
  refresh.token_hash = "h1";
  refresh.family = "f1";
  refresh.username = "u1";
  refresh.client_id = "console";
  refresh.scope = "user/Patient.rs";
  refresh.expires_at = common::TimePoint(std::chrono::hours(24 * 365 * 100));
  BOOST_REQUIRE(auth.SaveRefreshToken(refresh).ok());
  BOOST_REQUIRE_EQUAL(User({"disable", "--username", "u1"}), 0);
  BOOST_TEST(auth.FindUser("u1")->disabled);
  BOOST_TEST(auth.SpendRefreshToken("h1")->revoked);
  BOOST_REQUIRE_EQUAL(User({"enable", "--username", "u1"}), 0);
  BOOST_TEST(!auth.FindUser("u1")->disabled);
  BOOST_REQUIRE_EQUAL(User({"passwd", "--username", "u1"}, "second password here"), 0);
  BOOST_TEST(fhir::auth::VerifyPassword("second password here", auth.FindUser("u1")->password_hash));
  BOOST_TEST(User({"disable", "--username", "nobody"}) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(ClientAdministration, Admin)

std::string WriteJwks(const std::string& name, const std::string& json) {
  std::string path = "/tmp/" + name + "-" + fhir::auth::RandomToken(6) + ".json";
  std::ofstream(path) << json;
  return path;
}

BOOST_AUTO_TEST_CASE(BackendClientsRegisterPublicKeysOnly) {
  auto key = fhir::auth::JwsKey::Generate(fhir::auth::JwsAlgorithm::kES384, "k1").value();
  std::string jwks = WriteJwks("public", fhir::auth::JwksJson({key}));
  BOOST_REQUIRE_EQUAL(Client({"add", "--client-id", "ehr", "--jwks", jwks}), 0);
  fhir::store::pg::ConnectionPool pool(db.dsn(), 1);
  fhir::auth::pg::PgAuthStore auth(pool);
  auto client = auth.FindClient("ehr");
  BOOST_REQUIRE(client.has_value());
  BOOST_TEST(client->roles == std::vector<std::string>{"ehr-system"});
  // Private key material in the file is never stored: only the public halves are kept.
  std::string with_private = fhir::auth::JwksJson({key});
  with_private.insert(with_private.find("\"kty\""), "\"d\":\"c2VjcmV0\",");
  BOOST_REQUIRE_EQUAL(Client({"add", "--client-id", "ehr1", "--jwks", WriteJwks("private", with_private)}), 0);
  BOOST_TEST(auth.FindClient("ehr1")->jwks_json.find("\"d\"") == std::string::npos);
  BOOST_TEST(Client({"add", "--client-id", "ehr2", "--jwks", WriteJwks("nope", "not json")}) == 1);
  BOOST_TEST(Client({"add", "--client-id", "ehr3"}) == 1);
  BOOST_REQUIRE_EQUAL(Client({"disable", "--client-id", "ehr"}), 0);
  BOOST_TEST(auth.FindClient("ehr")->disabled);
  BOOST_TEST(Client({"disable", "--client-id", "nobody"}) == 1);
  std::remove(jwks.c_str());
}

BOOST_AUTO_TEST_CASE(PublicClientsNeedARedirect) {
  BOOST_TEST(Client({"add", "--client-id", "app", "--public"}) == 1);
  BOOST_REQUIRE_EQUAL(Client({"add", "--client-id", "app", "--public", "--redirect-uri",
                              "https://app.example/cb", "--first-party"}),
                      0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(KeyAdministration, Admin)

BOOST_AUTO_TEST_CASE(RotationUnderAKeyEncryptionKeyStoresTheKeySealed) {
  char dir[] = "/tmp/fovea-kek.XXXXXX";
  BOOST_REQUIRE(mkdtemp(dir) != nullptr);
  std::string file = std::string(dir) + "/kek";
  BOOST_REQUIRE_EQUAL(Key({"new-encryption-key", file}), 0);
  struct stat st {};
  BOOST_REQUIRE(stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(Key({"new-encryption-key", file}) == 1);  // never overwrites a key
  BOOST_REQUIRE_EQUAL(Key({"rotate"}), 0);              // a plain key first
  BOOST_REQUIRE_EQUAL(Key({"rotate", "--key-encryption-key-file", file}), 0);
  fhir::store::pg::ConnectionPool pool(db.dsn(), 1);
  fhir::auth::pg::PgAuthStore auth(pool);
  auto keys = auth.SigningKeys();
  BOOST_REQUIRE(keys.has_value());
  BOOST_TEST(keys->size() == 2u);  // one key per rotation
  for (const auto& k : *keys) BOOST_TEST(fhir::auth::KeyEncryptionKey::IsSealed(k.private_pem));
  // Without the key the command refuses, and adds nothing.
  BOOST_TEST(Key({"rotate"}) == 1);
  BOOST_TEST(err.str().find("encrypted") != std::string::npos);
  BOOST_TEST(auth.SigningKeys()->size() == 2u);
  std::remove(file.c_str());
  rmdir(dir);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
