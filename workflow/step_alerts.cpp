#include "workflow/step_alerts.h"

#include <map>
#include <set>

#include "common/json.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/rest/audit_recording.h"
#include "fhir/rest/writes.h"
#include "fhir/search/index_extractor.h"
#include "fhir/search/search_query.h"
#include "workflow/workflow_rules.h"

namespace workflow {

using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;

namespace {

// Nodes take turns on the check (ResourceStore::LockCriteria's key space; any constant).
constexpr std::int64_t kAlertsLockKey = 7406514001;
constexpr const char* kAlertIdSystem = "https://fovea.health/fhir/alert";
// The agent of the Flags' Provenance and AuditEvents (audit on).
constexpr const char* kAlertsComponent = "Fovea step alerts";

std::string Str(const JsonValue* v, std::initializer_list<const char*> path) {
  for (const char* p : path) {
    if (v == nullptr) return "";
    v = v->Find(p);
  }
  return v != nullptr && !v->is_object() && !v->is_array() ? v->scalar() : "";
}

// The alert's identifier: one per step version and kind ("<task id>/<version>/<kind>").
std::string AlertKey(const std::string& task_id, int version, const std::string& kind) {
  return task_id + "/" + std::to_string(version) + "/" + kind;
}

}  // namespace

StepAlerts::StepAlerts(fhir::store::ResourceStore& store, fhir::search::SearchBackend& search,
                       std::shared_ptr<fhir::search::LiveRegistry> registry, const common::Clock& clock,
                       AlertOptions options)
    : store_(store), search_(search), registry_(std::move(registry)), clock_(clock), options_(options) {}

StepAlerts::~StepAlerts() { Stop(); }

void StepAlerts::Start() {
  if (options_.wait_limit.count() == 0 && options_.run_limit.count() == 0) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    common::NameThisThread("fovea-alerts");
    for (;;) {
      {
        std::unique_lock lock(mu_);
        if (wake_.wait_for(lock, options_.every, [this] { return stopping_; })) return;
      }
      auto written = CheckNow();
      if (!written.has_value()) common::LogWarning("step alerts: " + written.error().message());
    }
  });
}

void StepAlerts::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::vector<fhir::search::SearchMatch>> StepAlerts::Find(
    const std::string& type, std::vector<std::pair<std::string, std::string>> params) {
  return SearchFor(search_, *registry_->Get(), type, params);
}

Status StepAlerts::Create(const std::string& json) {
  FOVEA_ASSIGN_OR_RETURN(fhir::store::ResourceVersion v,
                         fhir::rest::VersionOfJson(json, "Flag", fhir::model::LogicalId::Generate().value(), 1,
                                                   fhir::store::Method::kCreate, clock_.Now(), registry_->Get().get()));
  return fhir::rest::WriteAsServer(store_, v, 0, kAlertsComponent, options_.audit_observer,
                                   registry_->Get().get(), options_.provenance);
}

Status StepAlerts::Revise(const fhir::search::SearchMatch& flag, const std::string& status) {
  FOVEA_ASSIGN_OR_RETURN(JsonValue json, common::ParseJson(flag.content));
  json.Set("status", JsonValue::String(status));
  const std::string at = common::FormatInstant(clock_.Now());
  for (auto& [k, v] : json.members()) {
    if (k == "period" && v.is_object()) v.Set("end", JsonValue::String(at));
  }
  FOVEA_ASSIGN_OR_RETURN(fhir::store::ResourceVersion v,
                         fhir::rest::VersionOfJson(common::ToJson(json), "Flag", flag.id, flag.version + 1,
                                                   fhir::store::Method::kUpdate, clock_.Now(), registry_->Get().get()));
  return fhir::rest::WriteAsServer(store_, v, flag.version, kAlertsComponent, options_.audit_observer,
                                   registry_->Get().get(), options_.provenance);
}

Result<std::size_t> StepAlerts::CheckNow() {
  FOVEA_ASSIGN_OR_RETURN(auto turn, store_.LockCriteria({kAlertsLockKey}));
  const common::TimePoint now = clock_.Now();
  std::size_t written = 0;
  FOVEA_ASSIGN_OR_RETURN(auto open, Find("Task", {{"status", "ready,in-progress"}, {"_count", "1000"}}));
  // R4 has no Flag status search parameter: the active ones are picked here.
  FOVEA_ASSIGN_OR_RETURN(auto flags, Find("Flag", {{"identifier", std::string(kAlertIdSystem) + "|"},
                                                   {"_count", "1000"}}));
  std::map<std::string, fhir::search::SearchMatch> active;  // by alert key
  for (auto& f : flags) {
    auto json = common::ParseJson(f.content);
    if (!json.has_value() || Str(&*json, {"status"}) != "active") continue;
    const JsonValue* ids = json->Find("identifier");
    if (ids == nullptr || !ids->is_array()) continue;
    for (const JsonValue& id : ids->items()) {
      if (Str(&id, {"system"}) == kAlertIdSystem) active[Str(&id, {"value"})] = f;
    }
  }
  std::set<std::string> due;  // alert keys that should be active now
  for (const auto& m : open) {
    auto json = common::ParseJson(m.content);
    if (!json.has_value()) continue;
    TaskView t = TaskView::Of(*json);
    if (!t.is_step()) continue;
    std::string kind;
    std::string since_text;
    std::chrono::seconds limit{0};
    if (t.status == "ready" && options_.wait_limit.count() > 0) {
      kind = "step-waiting";
      since_text = Str(&*json, {"lastModified"});
      limit = options_.wait_limit;
    } else if (t.status == "in-progress" && options_.run_limit.count() > 0) {
      kind = "step-running-long";
      since_text = Str(&*json, {"executionPeriod", "start"});
      limit = options_.run_limit;
    } else {
      continue;
    }
    common::TimePoint since = m.last_updated;
    if (common::TimePoint parsed; !since_text.empty() && common::ParseInstant(since_text, parsed)) since = parsed;
    if (now - since < limit) continue;
    std::string key = AlertKey(m.id, m.version, kind);
    due.insert(key);
    if (active.count(key) != 0) continue;  // raised already
    const long minutes = std::chrono::duration_cast<std::chrono::minutes>(now - since).count();
    std::string text = t.step + (kind == "step-waiting" ? " has waited " : " has been in progress for ") +
                       std::to_string(minutes) + " min" + (kind == "step-running-long" && !t.owner.empty() ? " (" + t.owner + ")" : "");
    std::string flag = R"({"resourceType":"Flag","identifier":[{"system":)";
    common::AppendJsonString(flag, kAlertIdSystem);
    flag += R"(,"value":)";
    common::AppendJsonString(flag, key);
    flag += R"(}],"status":"active","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/flag-category","code":"admin","display":"Administrative"}]}],"code":{"coding":[{"system":)";
    common::AppendJsonString(flag, kAlertSystem);
    flag += R"(,"code":)";
    common::AppendJsonString(flag, kind);
    flag += R"(}],"text":)";
    common::AppendJsonString(flag, text);
    flag += R"(},"subject":)";
    std::string subject = Str(&*json, {"for", "reference"});
    flag += R"({"reference":)";
    common::AppendJsonString(flag, subject.empty() ? "Encounter/" + t.encounter : subject);
    flag += R"(},"period":{"start":)";
    common::AppendJsonString(flag, common::FormatInstant(now));
    flag += "}";
    if (!t.encounter.empty()) {
      flag += R"(,"encounter":{"reference":)";
      common::AppendJsonString(flag, "Encounter/" + t.encounter);
      flag += "}";
    }
    flag += "}";
    FOVEA_RETURN_IF_ERROR(Create(flag));
    ++written;
  }
  // The step moved on (claimed, completed, another version): its alert is over.
  for (const auto& [key, f] : active) {
    if (due.count(key) != 0) continue;
    Status st = Revise(f, "inactive");
    if (!st.ok() && st.code() != StatusCode::kVersionConflict) return st;
    if (st.ok()) ++written;
  }
  return written;
}

}  // namespace workflow
