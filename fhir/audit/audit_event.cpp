#include "fhir/audit/audit_event.h"

#include "fhir/audit/detail/resources.h"

namespace fhir::audit {

using common::JsonValue;

namespace {

// Code systems (hl7.org/fhir/R4/terminologies-systems.html, BALP's own code systems).
constexpr std::string_view kAuditEventType = "http://terminology.hl7.org/CodeSystem/audit-event-type";
constexpr std::string_view kRestfulInteraction = "http://hl7.org/fhir/restful-interaction";
constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";
constexpr std::string_view kIheEventType = "urn:ihe:event-type-code";
constexpr std::string_view kParticipationType =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
constexpr std::string_view kProvenanceParticipant =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
constexpr std::string_view kBalpUserAgentTypes =
    "https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes";
constexpr std::string_view kBalpEntityType =
    "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType";
constexpr std::string_view kSourceType = "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr std::string_view kEntityType = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";

constexpr std::string_view kDefaultObserver = "Fovea";

// Who plays which part, after BALP: the side that sends the request's data is the DICOM
// "Source Role ID". Reads have the server as source (BALP Read); searches, creates and updates
// the client (BALP Query, Create, Update: "the query parameters are flowing from the client to
// the server"); deletes name the client Application and the server Custodian (BALP Delete);
// authentication events the client Application and the authorization server (BALP IUA ITI-71).
enum class Pattern { kRead, kSend, kDelete, kAuthentication, kNotification };

Pattern PatternFor(Interaction i) {
  switch (i) {
    case Interaction::kRead:
    case Interaction::kVread:
    case Interaction::kHistoryInstance:
    case Interaction::kHistoryType:
    case Interaction::kHistorySystem:
    case Interaction::kCapabilities:
      return Pattern::kRead;
    case Interaction::kDelete:
      return Pattern::kDelete;
    case Interaction::kLogin:
    case Interaction::kLogout:
    case Interaction::kLoginFailed:
    case Interaction::kTokenIssued:
    case Interaction::kTokenRevoked:
      return Pattern::kAuthentication;
    case Interaction::kSubscriptionNotification:
      return Pattern::kNotification;
    default:
      return Pattern::kSend;
  }
}

// AuditEvent.agent.network.type (hl7.org/fhir/R4/valueset-network-type): 5 URI, 2 IP address,
// else 1 machine name.
std::string_view NetworkType(std::string_view address) {
  if (address.find("://") != std::string_view::npos) return "5";
  bool ip = !address.empty();
  bool colon = false;
  for (char c : address) {
    if (c == ':') colon = true;
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!(hex || c == '.' || c == ':')) ip = false;
  }
  // A dotted name made of hex letters only ("cafe.be") is a machine name, not an address.
  if (ip && !colon) {
    for (char c : address) {
      if (!(c >= '0' && c <= '9') && c != '.') ip = false;
    }
  }
  return ip ? "2" : "1";
}

JsonValue Network(std::string_view address) {
  JsonValue network = JsonValue::Object();
  network.Set("address", JsonValue::String(std::string(address)));
  network.Set("type", JsonValue::String(std::string(NetworkType(address))));
  return network;
}

JsonValue IdentifierReference(std::string_view value, std::string_view display = {}) {
  JsonValue ref = JsonValue::Object();
  JsonValue identifier = JsonValue::Object();
  identifier.Set("value", JsonValue::String(std::string(value)));
  ref.Set("identifier", std::move(identifier));
  if (!display.empty()) ref.Set("display", JsonValue::String(std::string(display)));
  return ref;
}

JsonValue Reference(std::string_view reference) {
  JsonValue ref = JsonValue::Object();
  ref.Set("reference", JsonValue::String(std::string(reference)));
  return ref;
}

bool HasUser(const AuditRecord& r) {
  return !r.agent_reference.empty() || !r.user_id.empty() || !r.user_name.empty();
}

JsonValue UserAgent(const AuditRecord& r, Action action, bool token_as_policy) {
  JsonValue agent = JsonValue::Object();
  // BALP: the user is the information recipient of reads and queries, and one of its
  // DataSources (author) for creates, updates and deletes.
  bool writes = action == Action::kCreate || action == Action::kUpdate || action == Action::kDelete;
  agent.Set("type", writes ? detail::CodeableConcept(kParticipationType, "AUT", "author (originator)")
                           : detail::CodeableConcept(kParticipationType, "IRCP",
                                                     "information recipient"));
  if (!r.roles.empty()) {
    JsonValue roles = JsonValue::Array();
    for (const AuditCode& role : r.roles) {
      roles.Add(detail::CodeableConcept(role.system, role.code, role.display));
    }
    agent.Set("role", std::move(roles));
  }
  JsonValue who = JsonValue::Object();
  if (!r.agent_reference.empty()) who.Set("reference", JsonValue::String(r.agent_reference));
  if (!r.user_id.empty()) {
    JsonValue identifier = JsonValue::Object();
    identifier.Set("value", JsonValue::String(r.user_id));
    who.Set("identifier", std::move(identifier));
  }
  if (!r.user_name.empty()) who.Set("display", JsonValue::String(r.user_name));
  agent.Set("who", std::move(who));
  if (!r.user_name.empty()) agent.Set("name", JsonValue::String(r.user_name));
  agent.Set("requestor", JsonValue::Bool(r.user_is_requestor));
  if (token_as_policy && !r.token_id.empty()) {
    JsonValue policy = JsonValue::Array();
    policy.Add(JsonValue::String(r.token_id));
    agent.Set("policy", std::move(policy));
  }
  return agent;
}

JsonValue ClientAgent(const AuditRecord& r, Pattern pattern, bool token_as_policy) {
  JsonValue agent = JsonValue::Object();
  switch (pattern) {
    case Pattern::kRead:
    case Pattern::kNotification:
      agent.Set("type", detail::CodeableConcept(kDicom, "110152", "Destination Role ID"));
      break;
    case Pattern::kSend:
      agent.Set("type", detail::CodeableConcept(kDicom, "110153", "Source Role ID"));
      break;
    case Pattern::kDelete:
    case Pattern::kAuthentication:
      agent.Set("type", detail::CodeableConcept(kDicom, "110150", "Application"));
      break;
  }
  if (!r.client_id.empty()) agent.Set("who", IdentifierReference(r.client_id));
  // Without a user the application acts for itself (a SMART backend service).
  bool requestor = pattern != Pattern::kNotification && !HasUser(r);
  agent.Set("requestor", JsonValue::Bool(requestor));
  if (requestor && token_as_policy && !r.token_id.empty()) {
    JsonValue policy = JsonValue::Array();
    policy.Add(JsonValue::String(r.token_id));
    agent.Set("policy", std::move(policy));
  }
  const std::string& address =
      pattern == Pattern::kNotification ? r.destination_address : r.source_address;
  if (!address.empty()) agent.Set("network", Network(address));
  return agent;
}

JsonValue ServerAgent(const AuditRecord& r, Pattern pattern) {
  JsonValue agent = JsonValue::Object();
  switch (pattern) {
    case Pattern::kRead:
    case Pattern::kNotification:
      agent.Set("type", detail::CodeableConcept(kDicom, "110153", "Source Role ID"));
      break;
    case Pattern::kSend:
      agent.Set("type", detail::CodeableConcept(kDicom, "110152", "Destination Role ID"));
      break;
    case Pattern::kDelete:
      agent.Set("type", detail::CodeableConcept(kProvenanceParticipant, "custodian", "Custodian"));
      break;
    case Pattern::kAuthentication:
      agent.Set("type", detail::CodeableConcept(kBalpUserAgentTypes, "AuthzOauthService", ""));
      break;
  }
  const std::string_view name = r.observer.empty() ? kDefaultObserver : r.observer;
  agent.Set("who", IdentifierReference(name, name));
  agent.Set("requestor", JsonValue::Bool(pattern == Pattern::kNotification));
  if (!r.server_address.empty()) agent.Set("network", Network(r.server_address));
  return agent;
}

JsonValue Entity(JsonValue what, std::string_view type_code, std::string_view type_display,
                 std::string_view role_code, std::string_view role_display) {
  JsonValue entity = JsonValue::Object();
  if (!what.is_null()) entity.Set("what", std::move(what));
  entity.Set("type", detail::Coding(kEntityType, type_code, type_display));
  if (!role_code.empty()) entity.Set("role", detail::Coding(kObjectRole, role_code, role_display));
  return entity;
}

std::string OutcomeDescription(const AuditRecord& r, Outcome outcome) {
  if (outcome == Outcome::kSuccess) return {};
  std::string text;
  if (r.http_status != 0) text = "HTTP " + std::to_string(r.http_status);
  if (!r.failure.empty()) text += (text.empty() ? "" : ": ") + r.failure;
  if (text.empty()) text = "login failed";
  return text;
}

}  // namespace

std::string_view InteractionCode(Interaction i) {
  switch (i) {
    case Interaction::kRead: return "read";
    case Interaction::kVread: return "vread";
    case Interaction::kUpdate: return "update";
    case Interaction::kPatch: return "patch";
    case Interaction::kDelete: return "delete";
    case Interaction::kHistoryInstance: return "history-instance";
    case Interaction::kHistoryType: return "history-type";
    case Interaction::kHistorySystem: return "history-system";
    case Interaction::kCreate: return "create";
    case Interaction::kSearchType: return "search-type";
    case Interaction::kSearchSystem: return "search-system";
    case Interaction::kCapabilities: return "capabilities";
    case Interaction::kOperation: return "operation";
    case Interaction::kTransaction: return "transaction";
    case Interaction::kBatch: return "batch";
    case Interaction::kLogin: return "login";
    case Interaction::kLogout: return "logout";
    case Interaction::kLoginFailed: return "login-failed";
    case Interaction::kTokenIssued: return "token-issued";
    case Interaction::kTokenRevoked: return "token-revoked";
    case Interaction::kSubscriptionNotification: return "subscription-notification";
  }
  return "read";
}

bool IsSecurityEvent(Interaction i) { return PatternFor(i) == Pattern::kAuthentication; }

char ActionCode(Action a) {
  switch (a) {
    case Action::kCreate: return 'C';
    case Action::kRead: return 'R';
    case Action::kUpdate: return 'U';
    case Action::kDelete: return 'D';
    case Action::kExecute: return 'E';
  }
  return 'E';
}

Action DefaultAction(Interaction i) {
  switch (i) {
    case Interaction::kCreate: return Action::kCreate;
    case Interaction::kUpdate:
    case Interaction::kPatch: return Action::kUpdate;
    case Interaction::kDelete: return Action::kDelete;
    case Interaction::kRead:
    case Interaction::kVread:
    case Interaction::kHistoryInstance:
    case Interaction::kHistoryType:
    case Interaction::kHistorySystem:
    case Interaction::kCapabilities:
    case Interaction::kSubscriptionNotification: return Action::kRead;
    default: return Action::kExecute;
  }
}

Outcome OutcomeForStatus(int http_status) {
  if (http_status >= 500) return Outcome::kSeriousFailure;
  if (http_status >= 400) return Outcome::kMinorFailure;
  return Outcome::kSuccess;
}

namespace detail {

Outcome RecordOutcome(const AuditRecord& r) {
  Outcome outcome = OutcomeForStatus(r.http_status);
  if (r.interaction == Interaction::kLoginFailed && outcome == Outcome::kSuccess) {
    outcome = Outcome::kMinorFailure;
  }
  return outcome;
}

JsonValue AuditEventValue(const AuditRecord& r) {
  const Pattern pattern = PatternFor(r.interaction);
  const Action action = r.action.value_or(DefaultAction(r.interaction));
  const Outcome outcome = RecordOutcome(r);

  JsonValue event = JsonValue::Object();
  event.Set("resourceType", JsonValue::String("AuditEvent"));
  JsonValue subtypes = JsonValue::Array();
  switch (pattern) {
    case Pattern::kAuthentication:
      event.Set("type", Coding(kDicom, "110114", "User Authentication"));
      if (r.interaction == Interaction::kTokenIssued) {
        subtypes.Add(Coding(kIheEventType, SubtypeCode(r.interaction), "Get Access Token"));
      } else if (r.interaction == Interaction::kLogout ||
                 r.interaction == Interaction::kTokenRevoked) {
        subtypes.Add(Coding(kDicom, SubtypeCode(r.interaction), "Logout"));
      } else {
        subtypes.Add(Coding(kDicom, SubtypeCode(r.interaction), "Login"));
      }
      break;
    case Pattern::kNotification:
      event.Set("type", Coding(kDicom, "110106", "Export"));
      break;
    default: {
      event.Set("type", Coding(kAuditEventType, "rest", "RESTful Operation"));
      std::string_view code = InteractionCode(r.interaction);
      subtypes.Add(Coding(kRestfulInteraction, code, code));
      break;
    }
  }
  if (!subtypes.items().empty()) event.Set("subtype", std::move(subtypes));
  event.Set("action", JsonValue::String(std::string(1, ActionCode(action))));
  event.Set("recorded", JsonValue::String(common::FormatInstant(r.recorded)));
  event.Set("outcome", JsonValue::String(std::to_string(static_cast<int>(outcome))));
  if (std::string desc = OutcomeDescription(r, outcome); !desc.empty()) {
    event.Set("outcomeDesc", JsonValue::String(std::move(desc)));
  }

  // The token that authorised a REST call is the requestor's agent.policy (BALP OAuth
  // profiles); a token that an authentication event is about is an entity instead.
  const bool token_as_policy = pattern != Pattern::kAuthentication;
  JsonValue agents = JsonValue::Array();
  if (HasUser(r)) agents.Add(UserAgent(r, action, token_as_policy));
  agents.Add(ClientAgent(r, pattern, token_as_policy));
  agents.Add(ServerAgent(r, pattern));
  event.Set("agent", std::move(agents));

  JsonValue source = JsonValue::Object();
  const std::string_view observer = r.observer.empty() ? kDefaultObserver : r.observer;
  source.Set("observer", IdentifierReference(observer, observer));
  JsonValue source_types = JsonValue::Array();
  source_types.Add(Coding(kSourceType, "4", "Application Server"));
  source.Set("type", std::move(source_types));
  event.Set("source", std::move(source));

  JsonValue entities = JsonValue::Array();
  for (const std::string& patient : r.patients) {
    entities.Add(Entity(Reference(patient), "1", "Person", "1", "Patient"));
  }
  for (const std::string& entity : r.entities) {
    if (pattern == Pattern::kNotification && entity.rfind("Subscription/", 0) == 0) {
      entities.Add(Entity(Reference(entity), "2", "System Object", "9", "Subscriber"));
    } else {
      entities.Add(Entity(Reference(entity), "2", "System Object", "4", "Domain Resource"));
    }
  }
  if (!r.query.empty()) {
    JsonValue query = Entity(JsonValue(), "2", "System Object", "24", "Query");
    query.Set("query", JsonValue::String(Base64Encode(r.query)));
    entities.Add(std::move(query));
  }
  if (!token_as_policy && !r.token_id.empty()) {
    entities.Add(Entity(IdentifierReference(r.token_id), "2", "System Object", "13",
                        "Security Resource"));
  }
  if (!r.request_id.empty()) {
    // BALP entity[transaction]: type BasicAuditEntityType#XrequestId, the X-Request-Id value in
    // what.identifier.value.
    JsonValue transaction = JsonValue::Object();
    transaction.Set("what", IdentifierReference(r.request_id));
    transaction.Set("type", Coding(kBalpEntityType, "XrequestId",
                                   "transport specific unique identifier where http X-Request-Id is used"));
    entities.Add(std::move(transaction));
  }
  if (!entities.items().empty()) event.Set("entity", std::move(entities));
  return event;
}

}  // namespace detail

std::optional<Interaction> InteractionFromCode(std::string_view code) {
  for (int i = 0; i <= static_cast<int>(Interaction::kSubscriptionNotification); ++i) {
    auto interaction = static_cast<Interaction>(i);
    if (InteractionCode(interaction) == code) return interaction;
  }
  return std::nullopt;
}

std::string_view SubtypeCode(Interaction interaction) {
  switch (interaction) {
    case Interaction::kTokenIssued: return "ITI-71";  // BALP IUA: Get Access Token
    case Interaction::kLogout:
    case Interaction::kTokenRevoked: return "110123";
    case Interaction::kLogin:
    case Interaction::kLoginFailed: return "110122";
    default: return InteractionCode(interaction);
  }
}

std::string AuditEventJson(const AuditRecord& record) {
  return common::ToJson(detail::AuditEventValue(record));
}

}  // namespace fhir::audit
