#ifndef FOVEA_FHIR_AUDIT_AUDIT_EVENT_H_
#define FOVEA_FHIR_AUDIT_AUDIT_EVENT_H_

// What happened, to what, by whom, from where, with which outcome: one AuditRecord per
// interaction, turned into an R4 AuditEvent following the IHE Basic Audit Log Patterns
// (BALP, profiles.ihe.net/ITI/BALP/). docs/AUDIT.md maps every field to the AuditEvent element it
// fills and says where Fovea had to choose. The record is plain data filled by the REST and auth
// layers; it depends on no auth code.
//
// No PHI beyond references: a record names patients and resources by reference only, never by
// content. The query of a search is kept base64-encoded (as BALP asks) and nowhere in clear.
// Stateless functions over value types: thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace fhir::audit {

// The event audited. REST interactions use the codes of hl7.org/fhir/R4/valueset-type-restful-
// interaction (a compartment search is kSearchType); the security events are Fovea's names for
// the authentication events of DICOM (110114 User Authentication).
enum class Interaction {
  kRead,
  kVread,
  kUpdate,
  kPatch,
  kDelete,
  kHistoryInstance,
  kHistoryType,
  kHistorySystem,
  kCreate,
  kSearchType,
  kSearchSystem,
  kCapabilities,
  kOperation,
  kTransaction,
  kBatch,
  kLogin,
  kLogout,
  kLoginFailed,
  kTokenIssued,
  kTokenRevoked,
  kSubscriptionNotification,  // the server pushed a notification to a subscriber's endpoint
};

// "read", "search-type", ..., "login", "login-failed", "token-issued", "subscription-notification".
std::string_view InteractionCode(Interaction interaction);
// The inverse of InteractionCode; nullopt for an unknown code.
std::optional<Interaction> InteractionFromCode(std::string_view code);
// The code of AuditEvent.subtype for `interaction`: the restful-interaction code for REST
// calls, DICOM 110122 Login / 110123 Logout or IHE ITI-71 for security events; for a
// notification (which has no subtype) its InteractionCode. Searches on `subtype` match this.
std::string_view SubtypeCode(Interaction interaction);
// kLogin ... kTokenRevoked.
bool IsSecurityEvent(Interaction interaction);

// AuditEvent.action (hl7.org/fhir/R4/valueset-audit-event-action).
enum class Action { kCreate, kRead, kUpdate, kDelete, kExecute };
char ActionCode(Action action);  // 'C', 'R', 'U', 'D', 'E'
// BALP's choice per interaction: create C; read, vread, history, capabilities, notification R;
// update, patch U; delete D; search, operation, transaction, batch and security events E.
Action DefaultAction(Interaction interaction);

// AuditEvent.outcome (hl7.org/fhir/R4/valueset-audit-event-outcome).
enum class Outcome { kSuccess = 0, kMinorFailure = 4, kSeriousFailure = 8 };
// 0 (and any status below 400): success; 4xx: minor failure; 5xx: serious failure.
Outcome OutcomeForStatus(int http_status);

// A coded value (a role of the user, for instance).
struct AuditCode {
  std::string system;  // may be empty
  std::string code;
  std::string display;  // may be empty
};

struct AuditRecord {
  // When it happened. AuditLog::Record fills in "now" when left unset; AuditRowFor needs it set.
  common::TimePoint recorded{};
  Interaction interaction = Interaction::kRead;
  std::optional<Action> action;  // unset: DefaultAction(interaction)

  // Outcome. `http_status` 0 means "no HTTP response" (a security event that succeeded):
  // success, except for kLoginFailed, which is always at least a minor failure.
  int http_status = 0;
  // A short description of a failure (AuditEvent.outcomeDesc), safe to show a client: the
  // OperationOutcome diagnostics, never resource content, SQL or tokens.
  std::string failure;

  // Who. The user (any of the first three set) is an agent of its own; the client application
  // is another; the server a third.
  std::string agent_reference;  // the user as a FHIR resource: "Practitioner/abc" (fhirUser)
  std::string user_id;          // the user's identifier at the authorization server (sub)
  std::string user_name;        // the user's display name
  std::string client_id;        // the OAuth client (the application)
  std::vector<AuditCode> roles;  // the user's roles
  bool user_is_requestor = true;
  // The id (jti) of the access token that authorised the call (agent.policy); for kTokenIssued
  // and kTokenRevoked the token the event is about (an entity).
  std::string token_id;

  // Where.
  std::string source_address;       // the client's network address (IP), without port
  std::string destination_address;  // kSubscriptionNotification: the endpoint notified
  std::string server_address;       // this server's FHIR base URL
  std::string observer;             // this server's name (AuditEvent.source.observer)
  std::string request_id;           // X-Request-Id

  // What.
  std::vector<std::string> patients;  // patients concerned: "Patient/123"
  // Resources concerned, version-specific where known: "Observation/1/_history/2". A
  // "Subscription/..." reference in a kSubscriptionNotification is the subscriber.
  std::vector<std::string> entities;
  // A write's own action code per entity ('C', 'U', 'D', in the order of `entities`), where the
  // record's action does not say it (a transaction; an update that created). Empty otherwise:
  // the record's action applies to all. Read by DerivedProvenancesOf, not part of the AuditEvent.
  std::string entity_actions;
  // The write's Provenance is this record (--provenance audit-trail): DerivedProvenancesOf
  // rebuilds it. Unset when it was stored as a resource, so that a database whose server
  // switched modes never shows a write's Provenance twice. Not part of the AuditEvent.
  bool provenance_in_row = false;
  // The request as received, for searches, history with parameters and operations:
  // "Observation?patient=Patient/123&_count=10". Stored base64-encoded only.
  std::string query;
};

// The canonical R4 JSON of the AuditEvent for `record` (no id, no meta): resourceType first,
// elements in definition order, as format::WriteResourceJson writes it.
std::string AuditEventJson(const AuditRecord& record);

}  // namespace fhir::audit

#endif  // FOVEA_FHIR_AUDIT_AUDIT_EVENT_H_
