#include "server/admin_commands.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/clock.h"
#include "common/json.h"
#include "fhir/auth/crypto/jose.h"
#include "fhir/auth/crypto/secrets.h"
#include "fhir/auth/key_ring.h"
#include "fhir/auth/pg/pg_auth_store.h"
#include "fhir/auth/roles.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "server/file_writing.h"
#include "server/storage.h"

namespace server {
namespace {

constexpr std::size_t kMinPasswordLength = 10;
// The code system of Fovea's staff roles (PractitionerRole.code).
constexpr const char* kRoleSystem = "https://fovea.health/CodeSystem/staff-role";

// A command's own flags; everything else is handed to the common configuration parser.
struct Flags {
  std::vector<std::pair<std::string, std::string>> values;  // --name value, in order
  std::vector<std::string> switches;                        // --public
  std::vector<std::string> rest;                            // for ParseConfig

  std::string Get(std::string_view name) const {
    for (const auto& [k, v] : values) {
      if (k == name) return v;
    }
    return {};
  }
  std::vector<std::string> All(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : values) {
      if (k == name) out.push_back(v);
    }
    return out;
  }
  bool Has(std::string_view name) const {
    return std::find(switches.begin(), switches.end(), name) != switches.end();
  }
};

common::Result<Flags> ParseFlags(const std::vector<std::string>& args, std::size_t start,
                                 const std::vector<std::string>& with_value,
                                 const std::vector<std::string>& switches) {
  Flags flags;
  for (std::size_t i = start; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (std::find(with_value.begin(), with_value.end(), a) != with_value.end()) {
      if (i + 1 >= args.size()) return common::InvalidError(a + " needs a value");
      flags.values.emplace_back(a, args[++i]);
    } else if (std::find(switches.begin(), switches.end(), a) != switches.end()) {
      flags.switches.push_back(a);
    } else {
      flags.rest.push_back(a);
    }
  }
  return flags;
}

// The database of the configuration the remaining flags describe, migrated.
class AdminSession {
 public:
  common::Status Open(const std::vector<std::string>& config_args) {
    std::vector<std::string> args = {"migrate"};
    args.insert(args.end(), config_args.begin(), config_args.end());
    FOVEA_ASSIGN_OR_RETURN(Config config, ParseConfig(args));
    FOVEA_RETURN_IF_ERROR(db_.Open(config));
    FOVEA_RETURN_IF_ERROR(MigrateDatabase(db_.dsn()));
    pool_ = std::make_unique<fhir::store::pg::ConnectionPool>(db_.dsn(), 2);
    auth_ = std::make_unique<fhir::auth::pg::PgAuthStore>(*pool_);
    return common::Status::Ok();
  }
  fhir::store::pg::ConnectionPool& pool() { return *pool_; }
  fhir::auth::AuthStore& auth() { return *auth_; }

 private:
  Database db_;
  std::unique_ptr<fhir::store::pg::ConnectionPool> pool_;
  std::unique_ptr<fhir::auth::pg::PgAuthStore> auth_;
};

int Fail(std::ostream& err, const std::string& message) {
  err << "fovea: " << message << "\n";
  return 1;
}

std::string ReadPassword(std::istream& in, std::ostream& out, bool from_stdin) {
  std::string password;
  bool tty = !from_stdin && isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    out << "Password: " << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::getline(in, password);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    out << "\n";
  }
  return password;
}

// Creates a resource through the FHIR service (validated, indexed, audited like any write);
// returns its id.
common::Result<std::string> CreateResource(fhir::rest::FhirService& service,
                                           const std::string& type, const std::string& body) {
  fhir::rest::RestRequest req;
  req.method = "POST";
  req.path = "/" + type;
  req.body = body;
  req.headers = {{"Content-Type", "application/fhir+json"}};
  req.base_url = "urn:fovea:admin";
  req.request_id = "admin-" + fhir::auth::RandomToken(6);
  fhir::rest::RestResponse res = service.Handle(req);
  if (res.status != 201) return common::InternalError("creating the " + type + " failed: " + res.body);
  auto json = common::ParseJson(res.body);
  if (!json.has_value() || json->Find("id") == nullptr) {
    return common::InternalError("creating the " + type + " gave no id");
  }
  return json->Find("id")->scalar();
}

std::string PractitionerJson(const std::string& username, const std::string& name) {
  common::JsonValue p = common::JsonValue::Object();
  p.Set("resourceType", common::JsonValue::String("Practitioner"));
  common::JsonValue identifier = common::JsonValue::Object();
  identifier.Set("system", common::JsonValue::String("https://fovea.health/sid/username"));
  identifier.Set("value", common::JsonValue::String(username));
  common::JsonValue identifiers = common::JsonValue::Array();
  identifiers.Add(std::move(identifier));
  p.Set("identifier", std::move(identifiers));
  p.Set("active", common::JsonValue::Bool(true));
  common::JsonValue human = common::JsonValue::Object();
  human.Set("text", common::JsonValue::String(name));
  common::JsonValue names = common::JsonValue::Array();
  names.Add(std::move(human));
  p.Set("name", std::move(names));
  return common::ToJson(p);
}

std::string PractitionerRoleJson(const std::string& practitioner_id,
                                 const std::vector<std::string>& roles) {
  common::JsonValue r = common::JsonValue::Object();
  r.Set("resourceType", common::JsonValue::String("PractitionerRole"));
  r.Set("active", common::JsonValue::Bool(true));
  common::JsonValue ref = common::JsonValue::Object();
  ref.Set("reference", common::JsonValue::String("Practitioner/" + practitioner_id));
  r.Set("practitioner", std::move(ref));
  common::JsonValue codes = common::JsonValue::Array();
  for (const std::string& role : roles) {
    const auto* def = fhir::auth::RoleCatalog::Default().Find(role);
    common::JsonValue coding = common::JsonValue::Object();
    coding.Set("system", common::JsonValue::String(kRoleSystem));
    coding.Set("code", common::JsonValue::String(role));
    if (def != nullptr) coding.Set("display", common::JsonValue::String(def->display));
    common::JsonValue codings = common::JsonValue::Array();
    codings.Add(std::move(coding));
    common::JsonValue code = common::JsonValue::Object();
    code.Set("coding", std::move(codings));
    codes.Add(std::move(code));
  }
  r.Set("code", std::move(codes));
  return common::ToJson(r);
}

common::Status CheckRoles(const std::vector<std::string>& roles) {
  if (roles.empty()) return common::InvalidError("give at least one --role");
  for (const std::string& role : roles) {
    if (fhir::auth::RoleCatalog::Default().Find(role) == nullptr) {
      std::string known;
      for (const auto& r : fhir::auth::RoleCatalog::Default().roles()) known += " " + r.code;
      return common::InvalidError("unknown role '" + role + "'; roles:" + known);
    }
  }
  return common::Status::Ok();
}

}  // namespace

common::Result<StaffAccount> AddStaffAccount(fhir::rest::FhirService& service,
                                             fhir::auth::AuthStore& auth,
                                             const std::string& username, const std::string& name,
                                             const std::vector<std::string>& roles,
                                             const std::string& password) {
  FOVEA_RETURN_IF_ERROR(CheckRoles(roles));
  for (const std::string& role : roles) {
    if (role == "ehr-system") return common::InvalidError("ehr-system is a role for clients, not staff");
  }
  if (password.size() < kMinPasswordLength) {
    return common::InvalidError("the password must have at least " +
                                std::to_string(kMinPasswordLength) + " characters");
  }
  if (auth.FindUser(username).has_value()) {
    return common::Status(common::StatusCode::kVersionConflict, "user '" + username + "' exists");
  }
  FOVEA_ASSIGN_OR_RETURN(std::string practitioner,
                         CreateResource(service, "Practitioner", PractitionerJson(username, name)));
  FOVEA_ASSIGN_OR_RETURN(std::string role, CreateResource(service, "PractitionerRole",
                                                          PractitionerRoleJson(practitioner, roles)));
  fhir::auth::UserAccount user;
  user.username = username;
  user.password_hash = fhir::auth::HashPassword(password);
  user.fhir_user = "Practitioner/" + practitioner;
  user.roles = roles;
  FOVEA_RETURN_IF_ERROR(auth.AddUser(user));
  return StaffAccount{user.fhir_user, "PractitionerRole/" + role};
}

namespace {

// fovea user disable|enable|passwd --username U
int ChangeUser(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err) {
  auto flags = ParseFlags(args, 1, {"--username"}, {"--password-stdin"});
  if (!flags.has_value()) return Fail(err, flags.error().message());
  std::string username = flags->Get("--username");
  if (username.empty()) return Fail(err, "--username is required");
  std::string hash;
  if (args[0] == "passwd") {
    std::string password = ReadPassword(in, out, flags->Has("--password-stdin"));
    if (password.size() < kMinPasswordLength) {
      return Fail(err, "the password must have at least " + std::to_string(kMinPasswordLength) +
                           " characters");
    }
    hash = fhir::auth::HashPassword(password);
  }
  AdminSession session;
  if (auto st = session.Open(flags->rest); !st.ok()) return Fail(err, st.message());
  auto user = session.auth().FindUser(username);
  if (!user.has_value()) return Fail(err, "no user '" + username + "'");
  bool disabled = args[0] == "disable" || (args[0] == "passwd" && user->disabled);
  if (auto st = session.auth().UpdateUser(username, disabled, hash); !st.ok()) {
    return Fail(err, st.message());
  }
  out << (args[0] == "passwd" ? "password changed for " : args[0] + "d user ") << username
      << (disabled ? "; refresh tokens revoked, access tokens expire within 10 minutes" : "")
      << "\n";
  return 0;
}

}  // namespace

int RunUserCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  if (!args.empty() && (args[0] == "disable" || args[0] == "enable" || args[0] == "passwd")) {
    return ChangeUser(args, in, out, err);
  }
  if (args.empty() || args[0] != "add") {
    return Fail(err, "usage: fovea user add --username U --role ROLE --name \"Full Name\" "
                     "[--password-stdin] | user disable|enable|passwd --username U");
  }
  auto flags = ParseFlags(args, 1, {"--username", "--role", "--name"}, {"--password-stdin"});
  if (!flags.has_value()) return Fail(err, flags.error().message());
  std::string username = flags->Get("--username");
  std::string name = flags->Get("--name");
  std::vector<std::string> roles = flags->All("--role");
  if (username.empty() || name.empty()) return Fail(err, "--username and --name are required");
  if (auto st = CheckRoles(roles); !st.ok()) return Fail(err, st.message());
  for (const std::string& role : roles) {
    if (role == "ehr-system") return Fail(err, "ehr-system is a role for clients, not staff");
  }
  std::string password = ReadPassword(in, out, flags->Has("--password-stdin"));
  if (password.size() < kMinPasswordLength) {
    return Fail(err, "the password must have at least " + std::to_string(kMinPasswordLength) +
                         " characters");
  }

  AdminSession session;
  if (auto st = session.Open(flags->rest); !st.ok()) return Fail(err, st.message());
  fhir::store::pg::PgResourceStore store(session.pool());
  fhir::search::pg::PgSearchBackend backend(session.pool());
  common::SystemClock clock;
  fhir::rest::FhirService service(fhir::definitions::Definitions::R4(), store, clock, {},
                                  {LoadRegistry(backend), &backend, nullptr});
  auto account = AddStaffAccount(service, session.auth(), username, name, roles, password);
  if (!account.has_value()) return Fail(err, account.error().message());
  out << "added user " << username << " (" << account->fhir_user << ", "
      << account->practitioner_role << ")\n";
  return 0;
}

int RunClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && (args[0] == "disable" || args[0] == "enable")) {
    auto flags = ParseFlags(args, 1, {"--client-id"}, {});
    if (!flags.has_value() || flags->Get("--client-id").empty()) {
      return Fail(err, "usage: fovea client disable|enable --client-id ID");
    }
    AdminSession session;
    if (auto st = session.Open(flags->rest); !st.ok()) return Fail(err, st.message());
    std::string id = flags->Get("--client-id");
    if (auto st = session.auth().SetClientDisabled(id, args[0] == "disable"); !st.ok()) {
      return Fail(err, st.code() == common::StatusCode::kNotFound ? "no client '" + id + "'"
                                                                  : st.message());
    }
    out << args[0] << "d client " << id << "\n";
    return 0;
  }
  if (args.empty() || args[0] != "add") {
    return Fail(err, "usage: fovea client add --client-id ID (--jwks FILE | --public "
                     "--redirect-uri URI) [--role ROLE] [--name NAME] [--first-party]");
  }
  auto flags = ParseFlags(args, 1,
                          {"--client-id", "--jwks", "--jwks-url", "--role", "--name", "--redirect-uri"},
                          {"--public", "--first-party"});
  if (!flags.has_value()) return Fail(err, flags.error().message());
  fhir::auth::ClientRegistration client;
  client.client_id = flags->Get("--client-id");
  client.name = flags->Get("--name").empty() ? client.client_id : flags->Get("--name");
  client.roles = flags->All("--role");
  client.redirect_uris = flags->All("--redirect-uri");
  client.first_party = flags->Has("--first-party");
  if (client.client_id.empty()) return Fail(err, "--client-id is required");
  if (!flags->Has("--public") && flags->Get("--jwks").empty() && flags->Get("--jwks-url").empty()) {
    return Fail(err, "a backend client needs --jwks FILE or --jwks-url URL (its public keys)");
  }
  if (flags->Has("--public")) {
    client.kind = fhir::auth::ClientRegistration::Kind::kPublic;
    if (client.redirect_uris.empty()) return Fail(err, "a --public client needs --redirect-uri");
    if (!flags->Get("--jwks").empty()) return Fail(err, "a --public client has no --jwks");
  } else {
    client.kind = fhir::auth::ClientRegistration::Kind::kBackend;
    client.jwks_url = flags->Get("--jwks-url");
    // FetchJwks enforces the same rule each time it fetches.
    if (!client.jwks_url.empty() && client.jwks_url.rfind("https://", 0) != 0 &&
        client.jwks_url.rfind("http://127.", 0) != 0 &&
        client.jwks_url.rfind("http://localhost", 0) != 0) {
      return Fail(err, "--jwks-url must be an https:// URL (http:// only on loopback)");
    }
    if (client.roles.empty()) client.roles = {"ehr-system"};
  }
  if (!flags->Has("--public") && !flags->Get("--jwks").empty()) {
    std::string path = flags->Get("--jwks");
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    if (!file) return Fail(err, "cannot read " + path);
    auto jwks = common::ParseJson(text.str());
    if (!jwks.has_value()) return Fail(err, path + " is not JSON: " + jwks.error().message());
    auto keys = fhir::auth::ParseJwks(*jwks);
    if (!keys.has_value() || keys->empty()) {
      return Fail(err, path + " has no usable signature key (RS256/RS384/ES256/ES384)");
    }
    // Re-serialised from the parsed keys: only public halves are ever stored, whatever the file
    // held.
    client.jwks_json = fhir::auth::JwksJson(*keys);
    if (client.roles.empty()) client.roles = {"ehr-system"};
  }
  if (!client.roles.empty()) {
    if (auto st = CheckRoles(client.roles); !st.ok()) return Fail(err, st.message());
  }
  AdminSession session;
  if (auto st = session.Open(flags->rest); !st.ok()) return Fail(err, st.message());
  if (auto st = session.auth().AddClient(client); !st.ok()) return Fail(err, st.message());
  out << "added " << (flags->Has("--public") ? "public" : "backend") << " client "
      << client.client_id << "\n";
  return 0;
}

namespace {

// `fovea key new-encryption-key FILE`: a fresh key-encryption key, readable by its owner only.
int NewEncryptionKey(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() != 2) return Fail(err, "usage: fovea key new-encryption-key FILE");
  const std::string& path = args[1];
  fhir::auth::KeyEncryptionKey kek = fhir::auth::KeyEncryptionKey::Generate();
  if (auto st = WriteFileAtomically(path, kek.ToText() + "\n", 0600, ExistingFile::kKeep); !st.ok()) {
    return Fail(err, st.message());
  }
  out << "wrote key-encryption key " << kek.fingerprint() << " to " << path
      << "; keep a copy apart from the database backups: without it the signing keys are lost\n";
  return 0;
}

}  // namespace

int RunKeyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (!args.empty() && args[0] == "new-encryption-key") return NewEncryptionKey(args, out, err);
  if (args.empty() || args[0] != "rotate") {
    return Fail(err, "usage: fovea key rotate [--key-encryption-key-file FILE] | "
                     "fovea key new-encryption-key FILE");
  }
  auto flags = ParseFlags(args, 1, {"--key-encryption-key-file"}, {});
  if (!flags.has_value()) return Fail(err, flags.error().message());
  std::string kek_file = flags->Get("--key-encryption-key-file");
  if (kek_file.empty()) {
    if (const char* v = std::getenv("FOVEA_KEY_ENCRYPTION_KEY_FILE")) kek_file = v;
  }
  std::shared_ptr<const fhir::auth::KeyEncryptionKey> kek;
  if (!kek_file.empty()) {
    auto loaded = fhir::auth::KeyEncryptionKey::FromFile(kek_file);
    if (!loaded.has_value()) return Fail(err, loaded.error().message());
    kek = std::make_shared<const fhir::auth::KeyEncryptionKey>(std::move(loaded).value());
  }
  AdminSession session;
  if (auto st = session.Open(flags->rest); !st.ok()) return Fail(err, st.message());
  common::SystemClock clock;
  fhir::auth::KeyRing keys(session.auth(), clock, kek);
  // Loading first refuses a sealed key ring without its key-encryption key, rather than adding
  // a key the servers could not read beside keys this command cannot.
  if (auto st = keys.Load(/*create_first=*/false); !st.ok()) return Fail(err, st.message());
  if (auto st = keys.Rotate(); !st.ok()) return Fail(err, st.message());
  out << "new signing key " << keys.Signing()->kid() << (kek ? " (stored encrypted)" : "")
      << "; running servers sign with it within a minute\n";
  return 0;
}

}  // namespace server
