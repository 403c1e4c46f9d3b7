#include "fhir/audit/derived_provenance.h"

#include <array>
#include <charconv>
#include <utility>

#include "common/clock.h"

namespace fhir::audit {

namespace {

constexpr std::string_view kPrefix = "audit-";
constexpr std::string_view kProvenancePrefix = R"({"resourceType":"Provenance",)";

constexpr std::array<std::pair<ProvenanceActivity, std::string_view>, 3> kActivities = {{
    {ProvenanceActivity::kCreate, "create"},
    {ProvenanceActivity::kUpdate, "update"},
    {ProvenanceActivity::kDelete, "delete"},
}};

std::string_view ActivityName(ProvenanceActivity activity) {
  for (const auto& [a, name] : kActivities) {
    if (a == activity) return name;
  }
  return "update";
}

}  // namespace

ProvenanceActivity ActivityOfAction(char action) {
  if (action == 'C') return ProvenanceActivity::kCreate;
  if (action == 'D') return ProvenanceActivity::kDelete;
  return ProvenanceActivity::kUpdate;
}

std::string DerivedProvenanceIdString(std::int64_t seq, ProvenanceActivity activity) {
  std::string id(kPrefix);
  id += std::to_string(seq);
  id += '-';
  id += ActivityName(activity);
  return id;
}

bool IsReservedProvenanceId(std::string_view id) { return id.substr(0, kPrefix.size()) == kPrefix; }

common::Status ReservedProvenanceIdWrite() {
  return common::Status(common::StatusCode::kMethodNotAllowed,
                        "Provenance ids starting with 'audit-' are reserved for the Provenance the "
                        "server derives from its audit trail, which is read-only");
}

std::optional<DerivedProvenanceId> ParseDerivedProvenanceId(std::string_view id) {
  if (!IsReservedProvenanceId(id)) return std::nullopt;
  id.remove_prefix(kPrefix.size());
  DerivedProvenanceId out;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), out.seq);
  if (ec != std::errc() || end == id.data() || out.seq <= 0 || *id.data() == '0') return std::nullopt;
  std::string_view rest(end, static_cast<std::size_t>(id.data() + id.size() - end));
  if (rest.empty() || rest.front() != '-') return std::nullopt;
  rest.remove_prefix(1);
  for (const auto& [activity, name] : kActivities) {
    if (rest == name) {
      out.activity = activity;
      return out;
    }
  }
  return std::nullopt;
}

std::vector<DerivedProvenance> DerivedProvenancesOf(const AuditRow& row) {
  std::vector<DerivedProvenance> out;
  if (row.targets.empty()) return out;
  const AuditRecord record = RecordFromRow(row);
  if (!record.provenance_in_row) return out;  // its Provenance was stored as a resource
  // Each entity's own action where the row has several, else the row's.
  auto activity_of = [&](std::size_t i) {
    return ActivityOfAction(i < record.entity_actions.size() ? record.entity_actions[i] : row.action);
  };
  for (const auto& [activity, name] : kActivities) {
    DerivedProvenance p;
    for (std::size_t i = 0; i < record.entities.size(); ++i) {
      if (activity_of(i) == activity) p.record.targets.push_back(record.entities[i]);
    }
    if (p.record.targets.empty()) continue;
    p.id = DerivedProvenanceIdString(row.seq, activity);
    p.record.recorded = row.recorded;
    p.record.activity = activity;
    p.record.agent_reference = row.agent;
    // A change the server made on its own names its component (the AuditEvent's user name).
    if (row.agent.empty()) p.record.agent_display = record.user_name;
    p.record.client_id = row.client_id;
    p.record.request_id = row.request_id;
    out.push_back(std::move(p));
  }
  return out;
}

std::string ServedProvenanceJson(const DerivedProvenance& provenance) {
  const std::string body = ProvenanceJson(provenance.record);
  std::string out;
  out.reserve(body.size() + 112);
  out += kProvenancePrefix;
  out += "\"id\":\"";
  out += provenance.id;
  out += "\",\"meta\":{\"versionId\":\"1\",\"lastUpdated\":\"";
  out += common::FormatInstant(provenance.record.recorded);
  out += "\"},";
  out += std::string_view(body).substr(kProvenancePrefix.size());
  return out;
}

}  // namespace fhir::audit
