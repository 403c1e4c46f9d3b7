#ifndef FOVEA_FHIR_STORE_RESOURCE_STORE_H_
#define FOVEA_FHIR_STORE_RESOURCE_STORE_H_

// The storage seam: versioned resources and their history. Implementations: PgResourceStore
// (fhir/store/pg, the product) and InMemoryResourceStore (tests, and the reference semantics).
// The store never parses resources: it keeps the canonical JSON bytes it is given.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace fhir::store {

enum class Method { kCreate, kUpdate, kDelete };
std::string_view MethodName(Method m);  // "POST", "PUT", "DELETE" (Bundle.entry.request.method)

struct ResourceVersion {
  std::string type;
  std::string id;
  int version = 0;
  common::TimePoint last_updated;
  bool deleted = false;
  Method method = Method::kCreate;
  std::string content;  // canonical JSON; empty for a deletion
  // The version's search-index rows (search::IndexRows::ToJson()); empty: none. They replace
  // the previous version's rows in the same transaction.
  std::string index_rows_json;
  std::int64_t seq = 0; // position in the change log (history order); set by the store
};

struct CurrentState {
  int version = 0;
  bool deleted = false;
};

struct HistoryQuery {
  std::optional<std::string> type;  // null: system history
  std::optional<std::string> id;    // set: instance history (type must be set too)
  std::optional<common::TimePoint> since;
  std::optional<std::int64_t> before_seq;  // page cursor: entries older than this
  int count = 50;
};

struct HistoryPage {
  std::vector<ResourceVersion> entries;  // newest first
  std::optional<std::int64_t> next_before_seq;
};

// One write of WriteAll: `version` appended if the resource's current version is
// `expected_version` (0: it must not exist; `version` is then its version 1).
struct PlannedWrite {
  ResourceVersion version;
  int expected_version = 0;
};

// OK when every version of `resources` is a new resource as WriteWith and CreateAll require:
// non-empty type, id and content, version 1, method kCreate, not deleted. Else kInvalid (a
// programming error of the caller, checked before anything is written).
common::Status CheckNewResources(const std::vector<ResourceVersion>& resources);
// OK when every write of `writes` is well formed as WriteAll requires; else kInvalid.
common::Status CheckPlannedWrites(const std::vector<PlannedWrite>& writes);

// Implementations are thread-safe.
class ResourceStore {
 public:
  virtual ~ResourceStore() = default;

  // The current version and deleted flag. kNotFound when the resource never existed.
  virtual common::Result<CurrentState> Head(const std::string& type, const std::string& id) = 0;
  // The current version (check `deleted`). kNotFound when it never existed.
  virtual common::Result<ResourceVersion> Read(const std::string& type, const std::string& id) = 0;
  // One version. kNotFound when that version does not exist.
  virtual common::Result<ResourceVersion> ReadVersion(const std::string& type,
                                                      const std::string& id, int version) = 0;
  // Appends `v` as the next version, atomically with its history row and its change-log event,
  // if and only if the current version is `expected_version` (0: the resource must not exist).
  // kVersionConflict when another writer got there first; nothing is written then.
  virtual common::Status Write(const ResourceVersion& v, int expected_version) = 0;
  // Write, plus each of `companions` created and the AuditEvent rows of `audit_rows_json`
  // appended in the same transaction: everything commits or nothing does. A version conflict
  // on `v` writes no companion and no audit row; a companion whose (type, id) already exists
  // (or appears twice) fails the whole call with kVersionConflict and writes nothing, not even
  // `v`. Companions are new resources (CheckNewResources): version 1, method kCreate, not
  // deleted, with content and a fresh id; each gets its history row, change-log event and index
  // rows like any create (the Provenance of a write). `audit_rows_json` is a JSON array of
  // AuditEvent rows as fhir/audit's AuditRowsJson makes them (the store passes it through; its
  // shape is in fhir/store/pg/queries.h); empty: none. One that is not a JSON array of such
  // objects is a caller's bug: the call fails (kInvalid, or kInternal for an object without the
  // required keys) and writes nothing. With neither companions nor audit rows this is Write.
  //
  //   store.WriteWith(v, expected, {provenance}, audit::AuditRowsJson({audit::WriteAuditRowFor(r)}));
  virtual common::Status WriteWith(const ResourceVersion& v, int expected_version,
                                   const std::vector<ResourceVersion>& companions,
                                   const std::string& audit_rows_json) = 0;
  // Every write of `writes` (each a compare-and-set as in Write, in the order given, each with
  // its history row, change-log event and index rows), `companions` created and the audit rows
  // appended, in one transaction: everything commits or nothing does (a FHIR transaction
  // Bundle). The writes name distinct resources. kVersionConflict when a write's expected
  // version is not current or a created resource exists already; nothing is written then, and
  // `conflict_index` (when given) is set to the index of the write concerned, or to
  // writes.size() when the store cannot tell which. kInvalid for a malformed write (a first
  // version that is not version 1 with content, a version not expected + 1).
  virtual common::Status WriteAll(const std::vector<PlannedWrite>& writes,
                                  const std::vector<ResourceVersion>& companions,
                                  const std::string& audit_rows_json,
                                  std::size_t* conflict_index = nullptr) = 0;
  // Creates every resource of `batch` (each as CheckNewResources requires) in one transaction:
  // all or none. kVersionConflict when one of them exists already (or appears twice); nothing
  // is written then. An empty batch is OK and writes nothing.
  common::Status CreateAll(const std::vector<ResourceVersion>& batch);
  virtual common::Result<HistoryPage> History(const HistoryQuery& query) = 0;
  // OK when the backing store answers.
  virtual common::Status Ping() = 0;

  // Serialises the writers that decide on the same search criteria (a conditional create:
  // "create unless one matches"), on every node sharing the store, until the guard is
  // destroyed. Each key is a hash of normalised criteria; a collision only serialises
  // unrelated writers. Several keys (a transaction's conditional entries) are taken together,
  // in one order for every caller, so two callers never deadlock.
  class Guard {
   public:
    virtual ~Guard() = default;
  };
  virtual common::Result<std::unique_ptr<Guard>> LockCriteria(
      const std::vector<std::int64_t>& keys) = 0;
};

}  // namespace fhir::store

#endif  // FOVEA_FHIR_STORE_RESOURCE_STORE_H_
