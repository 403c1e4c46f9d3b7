#include "fhir/rest/transaction.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "common/log.h"
#include "common/url.h"
#include "fhir/audit/derived_provenance.h"
#include "fhir/format/json_format.h"
#include "fhir/model/ids.h"
#include "fhir/model/issues.h"
#include "fhir/rest/outcome.h"
#include "fhir/rest/patching.h"
#include "fhir/rest/reference_rewriting.h"
#include "fhir/search/index_extractor.h"
#include "fhir/validation/validator.h"

namespace fhir::rest {

using auth::Permission;
using auth::Reach;
using common::JsonValue;
using common::Result;
using common::Status;
using common::StatusCode;
using model::Element;

namespace {

enum class Action { kCreate, kUpdate, kDelete, kPatch, kRead };

// The spec's processing order (http.html#trules): DELETE, POST, PUT/PATCH, then GET/HEAD.
int Phase(Action a) {
  switch (a) {
    case Action::kDelete: return 0;
    case Action::kCreate: return 1;
    case Action::kUpdate:
    case Action::kPatch: return 2;
    case Action::kRead: return 3;
  }
  return 3;
}

Permission PermissionFor(Action a) {
  switch (a) {
    case Action::kCreate: return Permission::kCreate;
    case Action::kDelete: return Permission::kDelete;
    case Action::kRead: return Permission::kRead;
    default: return Permission::kUpdate;
  }
}

// One entry of the Bundle: what the request asks (fixed), and what this attempt decided.
struct Entry {
  std::size_t index = 0;
  std::string full_url;
  EntryRequest request;
  Action action = Action::kRead;
  std::string type;
  std::string url_id;            // the id in the URL, when it names one
  std::string criteria;          // canonical criteria of a conditional PUT/DELETE/PATCH
  std::string if_none_exist;     // canonical criteria of a conditional create
  int if_match = 0;
  const JsonValue* resource_json = nullptr;
  std::optional<Element> parsed;  // the resource sent (POST, PUT)

  // Decided per attempt.
  std::string id;
  bool skip = false;  // nothing to write (a conditional create that matched, ...)
  int status = 0;
  const Entry* same_as = nullptr;  // a conditional create answered by an earlier entry
  std::optional<search::SearchMatch> found;
  store::PlannedWrite write;        // being planned; then moved to writes_
  std::optional<std::size_t> write_at;  // its index in writes_
};

// A failed entry: the whole transaction fails with this. kWholeBundle: no entry in particular.
constexpr std::size_t kWholeBundle = std::numeric_limits<std::size_t>::max();
struct EntryError {
  std::size_t index;
  Status status;
  std::vector<model::Issue> issues;  // validation problems, located in the Bundle
};

class Transaction {
 public:
  Transaction(const JsonValue& bundle, const TransactionContext& c) : bundle_(bundle), c_(c) {}

  TransactionResult Run() {
    if (auto error = Prepare()) return Failed(*error);
    for (int attempt = 0; attempt < kMaxWriteAttempts; ++attempt) {
      bool retry = false;
      if (auto error = PlanAndCommit(retry)) return Failed(*error);
      if (!retry) return Succeeded();
      written_.clear();
    }
    return Failed({kWholeBundle, Status(StatusCode::kVersionConflict,
                                           "The resources of this transaction are being "
                                           "changed by others too often; retry"),
                   {}});
  }

 private:
  // --- the envelope -------------------------------------------------------------------------

  std::optional<EntryError> Prepare() {
    const JsonValue* list = bundle_.Find("entry");
    if (list == nullptr) return std::nullopt;  // an empty transaction is a valid no-op
    if (!list->is_array()) return Whole(common::InvalidError("Bundle.entry must be an array"));
    if (list->items().size() > c_.max_entries) {
      return Whole(Status(StatusCode::kTooLarge,
                          "The transaction has " + std::to_string(list->items().size()) +
                              " entries; this server takes at most " +
                              std::to_string(c_.max_entries) + " per Bundle: split it"));
    }
    model::OperationOutcomeSink issues;
    std::set<std::string> full_urls;
    entries_.reserve(list->items().size());
    for (std::size_t i = 0; i < list->items().size(); ++i) {
      Entry e;
      e.index = i;
      if (auto error = PrepareEntry(list->items()[i], e, issues)) return error;
      if (!e.full_url.empty() && !full_urls.insert(e.full_url).second) {
        return EntryError{i, common::InvalidError("fullUrl " + e.full_url +
                                                  " is used by an earlier entry too"), {}};
      }
      entries_.push_back(std::move(e));
    }
    if (issues.HasErrors()) {
      return EntryError{FirstEntryWithIssues(issues.issues()),
                        common::InvalidError(InvalidBecause(issues.issues())), issues.issues()};
    }
    return std::nullopt;
  }

  std::optional<EntryError> PrepareEntry(const JsonValue& json, Entry& e,
                                         model::OperationOutcomeSink& issues) {
    auto fail = [&](Status st) { return EntryError{e.index, std::move(st), {}}; };
    if (!json.is_object()) return fail(common::InvalidError("the entry is not a JSON object"));
    if (const JsonValue* f = json.Find("fullUrl"); f != nullptr && f->is_string()) {
      e.full_url = f->scalar();
    }
    auto request = ParseEntryRequest(json, c_.request.base_url);
    if (!request.has_value()) return fail(request.error());
    e.request = std::move(request).value();
    std::vector<std::string_view> segments = e.request.Segments();
    e.type = std::string(segments.front());
    bool known_type = c_.defs.FindResource(e.type) != nullptr;
    bool conditional = segments.size() == 1 && !e.request.query.empty();
    bool by_id = segments.size() == 2 && segments[1].front() != '$' && segments[1].front() != '_';
    switch (e.request.method) {
      case EntryMethod::kGet:
      case EntryMethod::kHead:
        e.action = Action::kRead;
        return std::nullopt;  // runs as a request of its own after the commit
      case EntryMethod::kPost:
        e.action = Action::kCreate;
        if (segments.size() != 1 || !e.request.query.empty()) {
          return fail(common::InvalidError(
              "POST " + e.request.path +
              " is not supported in a transaction: POST creates, with url [type]"));
        }
        break;
      case EntryMethod::kPut:
        e.action = Action::kUpdate;
        break;
      case EntryMethod::kDelete:
        e.action = Action::kDelete;
        break;
      case EntryMethod::kPatch:
        e.action = Action::kPatch;
        break;
    }
    if (!known_type) {
      return fail(common::InvalidError("Unknown resource type '" + e.type + "' in request.url"));
    }
    if (e.action != Action::kCreate) {
      if (!conditional && !by_id) {
        return fail(common::InvalidError(
            std::string(EntryMethodName(e.request.method)) + " needs a url [type]/[id] or " +
            "[type]?[criteria], not '" + e.request.path + "'"));
      }
      if (conditional) {
        e.criteria = CanonicalCriteria(e.type, e.request.query);
      } else {
        auto id = model::LogicalId::Parse(segments[1]);
        if (!id.has_value()) return fail(id.error());
        e.url_id = id->value();
        if (e.type == "Provenance" && audit::IsReservedProvenanceId(e.url_id)) {
          return fail(audit::ReservedProvenanceIdWrite());
        }
      }
    }
    if (!e.request.if_none_exist.empty()) {
      if (e.action != Action::kCreate) {
        return fail(common::InvalidError("ifNoneExist applies to POST only"));
      }
      e.if_none_exist =
          CanonicalCriteria(e.type, common::ParseQueryString(e.request.if_none_exist));
    }
    if (!e.request.if_match.empty()) {
      e.if_match = model::ParseETagVersion(e.request.if_match);
      if (e.if_match <= 0) {
        return fail(common::InvalidError("ifMatch '" + e.request.if_match +
                                         "' is not an ETag such as W/\"3\""));
      }
    }
    if (Status st = c_.access.Require(e.type, PermissionFor(e.action)); !st.ok()) return fail(st);
    e.resource_json = json.Find("resource");
    bool needs_resource = e.action == Action::kCreate || e.action == Action::kUpdate ||
                          e.action == Action::kPatch;
    if (needs_resource && (e.resource_json == nullptr || !e.resource_json->is_object())) {
      return fail(common::InvalidError(std::string(EntryMethodName(e.request.method)) +
                                       " needs the entry's resource"));
    }
    if (e.action == Action::kCreate || e.action == Action::kUpdate) {
      return ParseResource(e, issues);
    }
    return std::nullopt;
  }

  std::optional<EntryError> ParseResource(Entry& e, model::OperationOutcomeSink& issues) {
    model::OperationOutcomeSink own;
    auto parsed = format::ResourceFromJson(*e.resource_json, c_.defs, own);
    if (!parsed.has_value()) return EntryError{e.index, parsed.error(), {}};
    const std::string prefix = ResourcePath(e.index);
    for (model::Issue issue : own.issues()) {
      // "Patient.name[0]" -> "Bundle.entry[3].resource.name[0]"
      std::size_t dot = issue.location.find('.');
      issue.location = prefix + (dot == std::string::npos ? "" : issue.location.substr(dot));
      issues.Report(std::move(issue));
    }
    Element root = std::move(parsed).value();
    if (root.type()->name != e.type) {
      return EntryError{e.index,
                        common::InvalidError("The resource is a " + root.type()->name +
                                             " but request.url is for " + e.type),
                        {}};
    }
    if (e.action == Action::kCreate) root.RemoveChildren("id");  // the server assigns it
    if (e.action == Action::kUpdate && !e.url_id.empty()) {
      const Element* id = root.Child("id");
      if (id == nullptr || !id->has_value() || id->value() != e.url_id) {
        return EntryError{e.index,
                          common::InvalidError("The resource's id must be the id in request.url (" +
                                               e.url_id + ")"),
                          {}};
      }
    }
    e.parsed = std::move(root);
    return std::nullopt;
  }

  // --- one attempt: decide, then write -------------------------------------------------------

  std::optional<EntryError> PlanAndCommit(bool& retry) {
    for (Entry& e : entries_) {
      e.id.clear();
      e.skip = false;
      e.status = 0;
      e.same_as = nullptr;
      e.found.reset();
      e.write = {};
      e.write_at.reset();
    }
    targets_.clear();
    // Conditional entries and references decide under their locks until the commit.
    std::unique_ptr<store::ResourceStore::Guard> guard;
    std::vector<std::int64_t> keys = CriteriaKeys();
    if (!keys.empty()) {
      auto locked = c_.store.LockCriteria(keys);
      if (!locked.has_value()) return Whole(locked.error());
      guard = std::move(locked).value();
    }
    std::vector<Entry*> order = InProcessingOrder();
    for (Entry* e : order) {
      if (auto error = Identify(*e)) return error;
    }
    for (Entry* e : order) {
      if (!e->full_url.empty() && !e->id.empty()) targets_[e->full_url] = e->type + "/" + e->id;
    }
    if (auto error = ResolveConditionalReferences()) return error;
    if (auto error = CheckDistinctTargets(order)) return error;
    now_ = c_.clock.Now();
    writes_.clear();
    effects_.clear();
    for (Entry* e : order) {
      if (e->action == Action::kRead || e->skip) continue;
      if (auto error = PlanWrite(*e)) return error;
      if (e->skip) continue;
      e->write_at = writes_.size();
      writes_.push_back(std::move(e->write));
    }
    if (auto error = AddEffects()) return error;
    return Commit(writes_, order, retry);
  }

  // The writes plan_write added (the next workflow step made ready) join the transaction,
  // unless an entry writes the same resource: then the Bundle contradicts the workflow.
  std::optional<EntryError> AddEffects() {
    for (auto& [index, effect] : effects_) {
      const std::string target = effect.version.type + "/" + effect.version.id;
      for (const store::PlannedWrite& w : writes_) {
        if (w.version.type + "/" + w.version.id == target) {
          return EntryError{index,
                            Status(StatusCode::kConflict,
                                   "This entry also changes " + target +
                                       " (the workflow updates it in the same transaction); "
                                       "send that change separately"),
                            {}};
        }
      }
      writes_.push_back(std::move(effect));
    }
    return std::nullopt;
  }

  std::vector<std::int64_t> CriteriaKeys() {
    std::vector<std::int64_t> keys;
    for (const Entry& e : entries_) {
      if (!e.criteria.empty()) keys.push_back(CriteriaLockKey(e.criteria));
      if (!e.if_none_exist.empty()) keys.push_back(CriteriaLockKey(e.if_none_exist));
    }
    for (Entry& e : entries_) {
      if (!e.parsed) continue;
      ForEachReference(*e.parsed, [&](std::string& reference) {
        std::string type, criteria;
        if (IsConditionalReference(reference, &type, &criteria)) {
          keys.push_back(CriteriaLockKey(CanonicalCriteria(type, common::ParseQueryString(criteria))));
        }
      });
    }
    return keys;
  }

  std::vector<Entry*> InProcessingOrder() {
    std::vector<Entry*> order;
    order.reserve(entries_.size());
    for (Entry& e : entries_) order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
      return Phase(a->action) < Phase(b->action);
    });
    return order;
  }

  Result<std::vector<search::SearchMatch>> Matches(const std::string& type,
                                                   const Params& criteria) {
    if (!c_.match) {
      return Status(StatusCode::kNotSupported, "Conditional operations need search");
    }
    return c_.match(type, criteria);
  }

  // Which resource the entry concerns (its id), deciding its conditional parts.
  std::optional<EntryError> Identify(Entry& e) {
    auto fail = [&](Status st) { return EntryError{e.index, std::move(st), {}}; };
    switch (e.action) {
      case Action::kRead:
        return std::nullopt;
      case Action::kCreate:
        if (!e.if_none_exist.empty()) {
          // The same question asked by an earlier entry has that entry's answer.
          for (const Entry& other : entries_) {
            if (&other == &e) break;
            if (other.action == Action::kCreate && other.if_none_exist == e.if_none_exist) {
              e.id = other.id;
              e.skip = true;
              e.status = 200;
              e.same_as = other.same_as != nullptr ? other.same_as : &other;
              return std::nullopt;
            }
          }
          auto matches = Matches(e.type, common::ParseQueryString(e.request.if_none_exist));
          if (!matches.has_value()) return fail(matches.error());
          if (matches->size() > 1) {
            return fail(Status(StatusCode::kPreconditionFailed,
                               "ifNoneExist matches more than one " + e.type +
                                   "; make the criteria more selective"));
          }
          if (matches->size() == 1) {
            e.found = matches->front();
            e.id = e.found->id;
            e.skip = true;
            e.status = 200;
            return std::nullopt;
          }
        }
        e.id = model::LogicalId::Generate().value();
        return std::nullopt;
      case Action::kUpdate:
      case Action::kDelete:
      case Action::kPatch:
        break;
    }
    if (e.criteria.empty()) {
      e.id = e.url_id;
      return std::nullopt;
    }
    auto matches = Matches(e.type, e.request.query);
    if (!matches.has_value()) return fail(matches.error());
    if (matches->size() > 1) {
      return fail(Status(StatusCode::kPreconditionFailed,
                         "The criteria match more than one " + e.type +
                             "; make them more selective"));
    }
    if (matches->size() == 1) {
      e.id = matches->front().id;
      if (e.action == Action::kUpdate) {
        const Element* body_id = e.parsed->Child("id");
        if (body_id != nullptr && body_id->has_value() && body_id->value() != e.id) {
          return fail(common::InvalidError("The resource id '" + body_id->value() +
                                           "' is not the id of the resource the criteria match"));
        }
      }
      return std::nullopt;
    }
    switch (e.action) {
      case Action::kDelete:  // nothing to delete
        e.skip = true;
        e.status = 204;
        return std::nullopt;
      case Action::kPatch:
        return fail(Status(StatusCode::kNotFound, "The criteria match no " + e.type + " to patch"));
      default: {  // a conditional update that matches nothing creates
        const Element* body_id = e.parsed->Child("id");
        e.id = body_id != nullptr && body_id->has_value() ? body_id->value()
                                                          : model::LogicalId::Generate().value();
        return std::nullopt;
      }
    }
  }

  // "Patient?identifier=sys|1" in a reference: the resource it names, found by search or
  // created earlier in this Bundle by a conditional create asking the same question.
  std::optional<EntryError> ResolveConditionalReferences() {
    for (Entry& e : entries_) {
      if (!e.parsed) continue;
      std::optional<EntryError> error;
      ForEachReference(*e.parsed, [&](std::string& reference) {
        std::string type, criteria;
        if (error || targets_.count(reference) != 0 ||
            !IsConditionalReference(reference, &type, &criteria)) {
          return;
        }
        if (c_.defs.FindResource(type) == nullptr) {
          error = EntryError{e.index, common::InvalidError("The conditional reference '" +
                                                           reference +
                                                           "' names an unknown resource type"),
                             {}};
          return;
        }
        Params params = common::ParseQueryString(criteria);
        std::string question = CanonicalCriteria(type, params);
        for (const Entry& other : entries_) {
          if (other.action == Action::kCreate && other.if_none_exist == question) {
            targets_[reference] = type + "/" + other.id;
            return;
          }
        }
        auto matches = Matches(type, params);
        if (!matches.has_value()) {
          error = EntryError{e.index, matches.error(), {}};
        } else if (matches->empty()) {
          error = EntryError{e.index,
                             Status(StatusCode::kNotFound, "The conditional reference '" +
                                                               reference + "' matches no " + type),
                             {}};
        } else if (matches->size() > 1) {
          error = EntryError{e.index,
                             Status(StatusCode::kPreconditionFailed,
                                    "The conditional reference '" + reference +
                                        "' matches more than one " + type),
                             {}};
        } else {
          targets_[reference] = type + "/" + matches->front().id;
        }
      });
      if (error) return error;
    }
    return std::nullopt;
  }

  std::optional<EntryError> CheckDistinctTargets(const std::vector<Entry*>& order) {
    std::map<std::string, std::size_t> seen;
    for (const Entry* e : order) {
      if (e->action == Action::kRead || e->skip) continue;
      auto [it, fresh] = seen.emplace(e->type + "/" + e->id, e->index);
      if (!fresh) {
        return EntryError{e->index,
                          common::InvalidError("This entry changes " + it->first +
                                               ", as entry " + std::to_string(it->second) +
                                               " does: a transaction changes a resource once"),
                          {}};
      }
    }
    return std::nullopt;
  }

  // The version an entry writes: references rewritten, validated, checked against the current
  // version (preconditions, reach), stamped and indexed.
  std::optional<EntryError> PlanWrite(Entry& e) {
    auto fail = [&](Status st) { return EntryError{e.index, std::move(st), {}}; };
    store::ResourceVersion& v = e.write.version;
    v.type = e.type;
    v.id = e.id;
    v.last_updated = now_;
    int current = 0;
    bool exists = false;
    std::optional<store::ResourceVersion> stored;
    if (e.action != Action::kCreate) {
      auto read = c_.store.Read(e.type, e.id);
      if (!read.has_value() && read.error().code() != StatusCode::kNotFound) {
        return fail(read.error());
      }
      if (read.has_value()) {
        current = read->version;
        exists = !read->deleted;
        stored = std::move(read).value();
      }
      if (exists && !Reachable(*stored, PermissionFor(e.action))) {
        return fail(Status(StatusCode::kForbidden,
                           "Access denied: this token may only change resources of its own "
                           "patient"));
      }
      if (e.if_match != 0 && (!exists || e.if_match != current)) {
        return fail(Status(StatusCode::kPreconditionFailed,
                           "ifMatch " + e.request.if_match + " is not the current version of " +
                               e.type + "/" + e.id +
                               (exists ? " (W/\"" + std::to_string(current) + "\")" : "")));
      }
    }
    e.write.expected_version = current;
    v.version = current + 1;
    switch (e.action) {
      case Action::kDelete:
        if (!exists) {  // deleted already, or never there (R4 http.html#delete): nothing changes
          e.skip = true;
          e.status = 204;
          return std::nullopt;
        }
        if (c_.before_delete) {
          if (Status st = c_.before_delete(e.type, e.id, c_.access); !st.ok()) return fail(st);
        }
        v.deleted = true;
        v.method = store::Method::kDelete;
        e.status = 204;
        return std::nullopt;
      case Action::kPatch: {
        if (!stored) return fail(Status(StatusCode::kNotFound, e.type + "/" + e.id + " does not exist"));
        if (!exists) return fail(Status(StatusCode::kGone, e.type + "/" + e.id + " was deleted"));
        auto patched = Patched(e, stored->content);
        if (!patched.has_value()) return fail(patched.error());
        e.parsed = std::move(patched).value();
        v.method = store::Method::kUpdate;
        e.status = 200;
        break;
      }
      case Action::kUpdate:
        if (!exists) {
          if (Status st = c_.access.Require(e.type, Permission::kCreate); !st.ok()) return fail(st);
        }
        v.method = store::Method::kUpdate;
        e.status = exists ? 200 : 201;
        break;
      case Action::kCreate:
        v.method = store::Method::kCreate;
        e.status = 201;
        break;
      case Action::kRead:
        return std::nullopt;
    }
    Element root = *e.parsed;
    std::vector<std::string> dangling = RewriteReferences(root, targets_);
    if (!dangling.empty()) {
      return fail(common::InvalidError("The reference '" + dangling.front() +
                                       "' names no entry of this transaction (no fullUrl matches)"));
    }
    if (c_.before_write) {
      if (Status st = c_.before_write(root); !st.ok()) return fail(st);
    }
    if (c_.plan_write) {
      auto effects = c_.plan_write(root, e.id, exists ? current : 0, c_.access);
      if (!effects.has_value()) return fail(effects.error());
      for (store::PlannedWrite& w : *effects) effects_.push_back({e.index, std::move(w)});
    }
    StampResource(root, e.id, v.version, now_);
    model::OperationOutcomeSink issues;
    validation::ValidateResource(root, model::IssueScope(issues, ResourcePath(e.index)));
    if (issues.HasErrors()) {
      return EntryError{e.index, common::InvalidError(InvalidBecause(issues.issues())),
                        issues.issues()};
    }
    v.content = format::WriteResourceJson(root);
    if (c_.access.ReachFor(e.type, PermissionFor(e.action)) != Reach::kAll &&
        !c_.access.MayAccess(e.type, PermissionFor(e.action), v.content)) {
      return fail(Status(StatusCode::kForbidden,
                         "Access denied: this token may only write resources of its own patient"));
    }
    if (c_.registry != nullptr) v.index_rows_json = search::ExtractIndex(root, *c_.registry).ToJson();
    return std::nullopt;
  }

  bool Reachable(const store::ResourceVersion& v, Permission permission) const {
    if (c_.access.ReachFor(v.type, permission) == Reach::kAll) return true;
    return !v.deleted && c_.access.MayAccess(v.type, permission, v.content);
  }

  // The current content with the entry's patch applied (a Binary holding a JSON Patch, or a
  // FHIRPath Patch's Parameters).
  Result<Element> Patched(const Entry& e, const std::string& current) {
    FOVEA_ASSIGN_OR_RETURN(PatchDocument patch, PatchOfEntry(*e.resource_json));
    FOVEA_ASSIGN_OR_RETURN(std::string json,
                           ApplyPatch(patch, current, e.type, e.id, c_.defs, c_.max_json_depth));
    model::OperationOutcomeSink issues;
    FOVEA_ASSIGN_OR_RETURN(Element root, format::ParseResourceJson(json, c_.defs, issues));
    if (issues.HasErrors()) {
      return common::InvalidError("The patched resource is invalid: " +
                                  issues.issues().front().location + ": " +
                                  issues.issues().front().diagnostics);
    }
    return root;
  }

  std::optional<EntryError> Commit(const std::vector<store::PlannedWrite>& writes,
                                   const std::vector<Entry*>& order, bool& retry) {
    WriteAudit audit;
    if (c_.audit && !writes.empty()) {
      auto made = c_.audit(writes);
      if (!made.has_value()) return Whole(made.error());
      audit = std::move(made).value();
    }
    std::size_t conflict = writes.size();
    Status st = c_.store.WriteAll(writes, audit.companions, audit.audit_rows_json, &conflict);
    if (st.code() == StatusCode::kVersionConflict) {
      // A version read for the plan changed meanwhile. With ifMatch the client pinned it: 412.
      if (conflict < writes.size()) {
        for (const Entry* e : order) {
          if (e->write_at == conflict && e->if_match != 0) {
            return EntryError{e->index,
                              Status(StatusCode::kPreconditionFailed,
                                     e->type + "/" + e->id + " was changed by someone else "
                                     "(ifMatch " + e->request.if_match + " is no longer current)"),
                              {}};
          }
        }
      }
      retry = true;
      return std::nullopt;
    }
    if (!st.ok()) return Whole(st);
    for (const store::PlannedWrite& w : writes) {
      written_.push_back(w.version.type + "/" + w.version.id + "/_history/" +
                         std::to_string(w.version.version));
      if (std::find(written_types_.begin(), written_types_.end(), w.version.type) ==
          written_types_.end()) {
        written_types_.push_back(w.version.type);
      }
    }
    return std::nullopt;
  }

  // --- answers ------------------------------------------------------------------------------

  TransactionResult Succeeded() {
    PreferReturn prefer = ParsePrefer(c_.request.Header("Prefer"));
    std::vector<EntryResponse> responses;
    responses.reserve(entries_.size());
    for (const Entry& e : entries_) responses.push_back(ResponseOf(e, prefer));
    TransactionResult result;
    result.status = 200;
    result.body = ResponseBundleJson("transaction-response", responses, c_.clock.Now());
    result.written = std::move(written_);
    result.written_types = std::move(written_types_);
    return result;
  }

  EntryResponse ResponseOf(const Entry& e, PreferReturn prefer) {
    EntryResponse r;
    if (e.action == Action::kRead) {
      if (!c_.run) {
        r.status = 501;
        return r;
      }
      return EntryResponseFrom(c_.run(EntryAsRestRequest(e.request, c_.request, "")),
                               c_.request.base_url);
    }
    r.status = e.status;
    const store::ResourceVersion* v = nullptr;
    std::string content;
    if (e.same_as != nullptr) {
      const Entry& first = *e.same_as;
      if (first.found) {
        r.location = e.type + "/" + first.found->id + "/_history/" +
                     std::to_string(first.found->version);
        r.etag = ETagFor(first.found->version);
        r.last_modified = first.found->last_updated;
        content = first.found->content;
      } else {
        v = first.write_at ? &writes_[*first.write_at].version : nullptr;
      }
    } else if (e.found) {
      r.location = e.type + "/" + e.found->id + "/_history/" + std::to_string(e.found->version);
      r.etag = ETagFor(e.found->version);
      r.last_modified = e.found->last_updated;
      content = e.found->content;
    } else if (e.write_at) {
      v = &writes_[*e.write_at].version;
    }
    if (v != nullptr) {
      r.etag = ETagFor(v->version);
      r.last_modified = v->last_updated;
      if (!v->deleted) {
        r.location = v->type + "/" + v->id + "/_history/" + std::to_string(v->version);
        content = v->content;
      }
    }
    if (!content.empty()) {
      if (prefer == PreferReturn::kRepresentation) r.resource = std::move(content);
      if (prefer == PreferReturn::kOperationOutcome) {
        r.outcome = InformationOutcomeJson(StatusLine(r.status) + ": " + r.location);
      }
    }
    return r;
  }

  static std::string ResourcePath(std::size_t index) {
    return "Bundle.entry[" + std::to_string(index) + "].resource";
  }

  // "The resource is invalid: Bundle.entry[2].resource.gender: ...": the first error, so a
  // one-line report (a log, fovea load) says what to fix.
  static std::string InvalidBecause(const std::vector<model::Issue>& issues) {
    for (const model::Issue& issue : issues) {
      if (issue.severity == model::IssueSeverity::kError ||
          issue.severity == model::IssueSeverity::kFatal) {
        return "The resource is invalid: " +
               (issue.location.empty() ? "" : issue.location + ": ") + issue.diagnostics;
      }
    }
    return "The resource is invalid";
  }

  static std::size_t FirstEntryWithIssues(const std::vector<model::Issue>& issues) {
    for (const model::Issue& issue : issues) {
      if (issue.severity != model::IssueSeverity::kError &&
          issue.severity != model::IssueSeverity::kFatal) {
        continue;
      }
      std::size_t open = issue.location.find('[');
      if (issue.location.rfind("Bundle.entry[", 0) == 0 && open != std::string::npos) {
        return static_cast<std::size_t>(std::strtoul(issue.location.c_str() + open + 1, nullptr, 10));
      }
    }
    return 0;
  }

  static EntryError Whole(Status st) { return EntryError{kWholeBundle, std::move(st), {}}; }

  TransactionResult Failed(const EntryError& error) {
    TransactionResult result;
    result.status = HttpStatusFor(error.status.code());
    std::string what;
    std::vector<model::Issue> issues;
    model::Issue head;
    head.severity = model::IssueSeverity::kError;
    head.type = IssueTypeFor(error.status.code());
    if (error.index != kWholeBundle) {
      std::string name = "Bundle.entry[" + std::to_string(error.index) + "]";
      std::string full_url = FullUrlOf(error.index);
      what = "Entry " + std::to_string(error.index) +
             (full_url.empty() ? "" : " (fullUrl " + full_url + ")") + ": ";
      head.location = name;
    }
    head.diagnostics = what + error.status.message() +
                       ". The transaction was rolled back: nothing was written.";
    issues.push_back(head);
    for (const model::Issue& issue : error.issues) issues.push_back(issue);
    result.body = OperationOutcomeJson(issues);
    result.failure = head.diagnostics;
    return result;
  }

  std::string FullUrlOf(std::size_t index) const {
    const JsonValue* list = bundle_.Find("entry");
    if (list == nullptr || !list->is_array() || index >= list->items().size()) return {};
    const JsonValue* f = list->items()[index].Find("fullUrl");
    return f != nullptr && f->is_string() ? f->scalar() : std::string();
  }

  const JsonValue& bundle_;
  const TransactionContext& c_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::string> targets_;  // fullUrl / conditional ref -> Type/id
  std::vector<store::PlannedWrite> writes_;  // this attempt's writes, in processing order
  // Writes plan_write added, with the index of the entry that caused each.
  std::vector<std::pair<std::size_t, store::PlannedWrite>> effects_;
  common::TimePoint now_;
  std::vector<std::string> written_;
  std::vector<std::string> written_types_;
};

}  // namespace

TransactionResult ExecuteTransaction(const JsonValue& bundle, const TransactionContext& context) {
  return Transaction(bundle, context).Run();
}

}  // namespace fhir::rest
