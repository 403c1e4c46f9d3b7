#include "fhir/audit/audit_store.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "common/json.h"
#include "fhir/audit/audit_lines.h"
#include "fhir/audit/detail/resources.h"
#include "fhir/model/ids.h"

namespace fhir::audit {

namespace {

constexpr std::string_view kHistory = "/_history/";


// What every AuditEventJson begins with (resourceType first: the canonical order).
constexpr std::string_view kEventPrefix = R"({"resourceType":"AuditEvent",)";

void AppendMember(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;  // absent: NULL in the table
  out += ",\"";
  out += key;
  out += "\":";
  common::AppendJsonString(out, value);
}

void AppendStrings(std::string& out, std::string_view key, const std::vector<std::string>& values) {
  if (values.empty()) return;
  out += ",\"";
  out += key;
  out += "\":[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    common::AppendJsonString(out, values[i]);
  }
  out += ']';
}

std::string Field(const common::JsonValue& json, std::string_view key) {
  const common::JsonValue* v = json.Find(key);
  return v != nullptr && v->is_string() ? v->scalar() : std::string();
}

std::vector<std::string> Strings(const common::JsonValue& json, std::string_view key) {
  std::vector<std::string> out;
  const common::JsonValue* v = json.Find(key);
  if (v == nullptr || !v->is_array()) return out;
  for (const common::JsonValue& item : v->items()) out.push_back(item.scalar());
  return out;
}

}  // namespace

namespace detail {

// One pass of string appends: this runs for every request.
void AppendRecordDetailsJson(std::string& out, const AuditRecord& r) {
  out += "{\"i\":";
  common::AppendJsonString(out, InteractionCode(r.interaction));
  if (r.http_status != 0) out += ",\"h\":" + std::to_string(r.http_status);
  AppendMember(out, "f", r.failure);
  AppendMember(out, "u", r.user_id);
  AppendMember(out, "n", r.user_name);
  if (!r.roles.empty()) {
    out += ",\"r\":[";
    for (std::size_t i = 0; i < r.roles.size(); ++i) {
      if (i > 0) out += ',';
      out += '[';
      common::AppendJsonString(out, r.roles[i].system);
      out += ',';
      common::AppendJsonString(out, r.roles[i].code);
      out += ',';
      common::AppendJsonString(out, r.roles[i].display);
      out += ']';
    }
    out += ']';
  }
  if (!r.user_is_requestor) out += ",\"nr\":true";
  AppendMember(out, "k", r.token_id);
  AppendMember(out, "t", r.destination_address);
  AppendMember(out, "v", r.server_address);
  AppendMember(out, "o", r.observer);
  // One patient or entity is already in its column: only what the column cannot say is kept
  // (a read's ~90 bytes fewer on every row; RecordFromRow puts them back).
  if (r.patients.size() > 1 || (r.patients.size() == 1 && r.patients.front().empty())) {
    AppendStrings(out, "P", r.patients);
  }
  if (r.entities.size() > 1 || (r.entities.size() == 1 && r.entities.front().empty())) {
    AppendStrings(out, "E", r.entities);
  } else if (r.entities.size() == 1) {
    const std::string& entity = r.entities.front();
    const std::size_t at = entity.find(kHistory);
    if (at != std::string::npos && at + kHistory.size() < entity.size()) {
      // "Observation/1/_history/2": the column has "Observation/1", "V" has "2".
      AppendMember(out, "V", std::string_view(entity).substr(at + kHistory.size()));
    } else if (at != std::string::npos) {
      AppendStrings(out, "E", r.entities);  // a bare "/_history/" the column cannot rebuild
    }
  }
  AppendMember(out, "A", r.entity_actions);
  if (r.provenance_in_row) out += ",\"pv\":true";
  AppendMember(out, "Q", r.query);
  out += '}';
}

common::Status CheckAuditRows(const std::vector<AuditRow>& rows) {
  for (const AuditRow& row : rows) {
    if (row.subtype.empty() || row.content.empty()) {
      return common::InvalidError("an AuditEvent row needs a subtype and content");
    }
  }
  return common::Status::Ok();
}

bool AuditPageOrder::operator()(const AuditRow& a, const AuditRow& b) const {
  const auto ka = std::make_pair(a.recorded, a.seq);
  const auto kb = std::make_pair(b.recorded, b.seq);
  return oldest_first ? ka < kb : ka > kb;
}

AuditPage PageOf(std::vector<AuditRow> sorted, int count) {
  AuditPage page;
  const auto n = static_cast<std::size_t>(std::max(count, 0));
  if (sorted.size() > n) {
    sorted.resize(n);
    if (!sorted.empty()) page.next_after_seq = sorted.back().seq;
  }
  page.rows = std::move(sorted);
  return page;
}

}  // namespace detail

common::Status AuditStore::AppendLines(std::string_view lines) {
  FOVEA_ASSIGN_OR_RETURN(std::vector<AuditRow> rows, ParseAuditLines(lines));
  return Append(rows);
}

bool AuditRowMatches(const AuditRow& row, const AuditQuery& q) {
  auto same = [](const std::string& wanted, const std::string& value) {
    return wanted.empty() || wanted == value;
  };
  auto names = [&row](const std::string& entity) {
    return entity == row.entity ||
           std::find(row.targets.begin(), row.targets.end(), entity) != row.targets.end();
  };
  if (q.writes_only && row.targets.empty()) return false;
  if (!q.entity_any.empty() && std::none_of(q.entity_any.begin(), q.entity_any.end(), names)) return false;
  return (!q.recorded_from || row.recorded >= *q.recorded_from) &&
         (!q.recorded_until || row.recorded < *q.recorded_until) && (!q.seq || row.seq == *q.seq) &&
         same(q.subtype, row.subtype) && same(q.agent, row.agent) &&
         same(q.client_id, row.client_id) && same(q.patient, row.patient) &&
         (q.entity.empty() || names(q.entity)) &&
         same(q.address, row.address) &&
         (!q.action || row.action == *q.action) && (!q.outcome || row.outcome == *q.outcome);
}

namespace {

// The fields of a row computed from the record (everything but the ones copied or moved over).
AuditRow RowWithoutStrings(const AuditRecord& record) {
  AuditRow row;
  row.recorded = record.recorded;
  row.subtype = std::string(SubtypeCode(record.interaction));
  row.action = ActionCode(record.action.value_or(DefaultAction(record.interaction)));
  row.outcome = static_cast<int>(detail::RecordOutcome(record));
  // The resource, not the version: a search by resource finds the accesses to every version.
  if (!record.entities.empty()) row.entity = model::WithoutHistory(record.entities.front());
  detail::AppendRecordDetailsJson(row.content, record);
  return row;
}

}  // namespace

AuditRow AuditRowFor(const AuditRecord& record) {
  AuditRow row = RowWithoutStrings(record);
  row.agent = record.agent_reference;
  row.client_id = record.client_id;
  if (!record.patients.empty()) row.patient = record.patients.front();
  row.address = record.source_address;
  row.request_id = record.request_id;
  return row;
}

AuditRow AuditRowFor(AuditRecord&& record) {
  AuditRow row = RowWithoutStrings(record);
  row.agent = std::move(record.agent_reference);
  row.client_id = std::move(record.client_id);
  if (!record.patients.empty()) row.patient = std::move(record.patients.front());
  row.address = std::move(record.source_address);
  row.request_id = std::move(record.request_id);
  return row;
}

AuditRow WriteAuditRowFor(const AuditRecord& record) {
  AuditRow row = AuditRowFor(record);
  for (const std::string& entity : record.entities) {
    std::string target(model::WithoutHistory(entity));
    if (std::find(row.targets.begin(), row.targets.end(), target) == row.targets.end()) {
      row.targets.push_back(std::move(target));
    }
  }
  return row;
}

AuditRecord RecordFromRow(const AuditRow& row) {
  AuditRecord r;
  r.recorded = row.recorded;
  r.interaction = Interaction::kRead;
  // "CRUDE" is the order of the Action enumerators.
  if (std::size_t a = std::string_view("CRUDE").find(row.action); a != std::string_view::npos) {
    r.action = static_cast<Action>(a);
  }
  r.agent_reference = row.agent;
  r.client_id = row.client_id;
  r.source_address = row.address;
  r.request_id = row.request_id;
  if (!row.patient.empty()) r.patients = {row.patient};
  if (!row.entity.empty()) r.entities = {row.entity};
  auto details = common::ParseJson(row.content);
  if (!details.has_value() || !details->is_object()) return r;
  if (auto interaction = InteractionFromCode(Field(*details, "i"))) r.interaction = *interaction;
  if (const common::JsonValue* h = details->Find("h")) r.http_status = std::atoi(h->scalar().c_str());
  r.failure = Field(*details, "f");
  r.user_id = Field(*details, "u");
  r.user_name = Field(*details, "n");
  if (const common::JsonValue* roles = details->Find("r"); roles != nullptr && roles->is_array()) {
    for (const common::JsonValue& role : roles->items()) {
      if (role.items().size() == 3) {
        r.roles.push_back({role.items()[0].scalar(), role.items()[1].scalar(),
                           role.items()[2].scalar()});
      }
    }
  }
  r.user_is_requestor = details->Find("nr") == nullptr;
  r.token_id = Field(*details, "k");
  r.destination_address = Field(*details, "t");
  r.server_address = Field(*details, "v");
  r.observer = Field(*details, "o");
  if (auto patients = Strings(*details, "P"); !patients.empty()) r.patients = std::move(patients);
  if (auto entities = Strings(*details, "E"); !entities.empty()) {
    r.entities = std::move(entities);
  } else if (std::string version = Field(*details, "V"); !version.empty() && !row.entity.empty()) {
    r.entities = {row.entity + std::string(kHistory) + version};
  }
  r.entity_actions = Field(*details, "A");
  r.provenance_in_row = details->Find("pv") != nullptr;
  r.query = Field(*details, "Q");
  return r;
}

std::string AuditRowsJson(const std::vector<AuditRow>& rows) {
  std::string out = "[";
  for (const AuditRow& row : rows) {
    if (out.size() > 1) out += ',';
    out += "{\"r\":";
    common::AppendJsonString(out, common::FormatInstantMicros(row.recorded));
    AppendMember(out, "s", row.subtype);
    AppendMember(out, "a", std::string_view(&row.action, 1));
    out += ",\"o\":";
    out += std::to_string(row.outcome);
    AppendMember(out, "g", row.agent);
    AppendMember(out, "c", row.client_id);
    AppendMember(out, "p", row.patient);
    AppendMember(out, "e", row.entity);
    AppendMember(out, "d", row.address);
    AppendMember(out, "q", row.request_id);
    AppendStrings(out, "t", row.targets);
    out += ",\"x\":";
    common::AppendJsonString(out, row.content);
    out += '}';
  }
  out += ']';
  return out;
}

std::string ServedAuditEventJson(const AuditRow& row) {
  const std::string event = AuditEventJson(RecordFromRow(row));
  // AuditEventJson writes resourceType first (canonical order); id and meta follow it.
  std::string out;
  out.reserve(event.size() + 96);
  out += kEventPrefix;
  out += "\"id\":\"";
  out += std::to_string(row.seq);
  out += "\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"";
  out += common::FormatInstant(row.recorded);
  out += "\"},";
  out += std::string_view(event).substr(kEventPrefix.size());
  return out;
}

}  // namespace fhir::audit
