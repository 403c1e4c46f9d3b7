#ifndef FOVEA_FHIR_DEFINITIONS_DEFINITIONS_H_
#define FOVEA_FHIR_DEFINITIONS_DEFINITIONS_H_

// The FHIR R4 type system, loaded once from the compact definitions compiled into the binary
// (fhir/definitions/data/r4.json, generated from the official StructureDefinitions by
// scripts/gen_definitions.py). Immutable after construction: thread-safe.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "fhir/model/type_def.h"

namespace fhir::definitions {

class Definitions {
 public:
  // Parses compact definitions JSON (see scripts/gen_definitions.py for the format).
  static common::Result<std::unique_ptr<Definitions>> Load(std::string_view json);
  // The R4 4.0.1 definitions compiled into the binary; built on first use.
  static const Definitions& R4();

  Definitions(const Definitions&) = delete;
  Definitions& operator=(const Definitions&) = delete;

  const std::string& fhir_version() const { return fhir_version_; }
  // Any type by name: "Patient", "HumanName", "string", "Patient.contact".
  const model::TypeDef* FindType(std::string_view name) const;
  // A concrete (non-abstract) resource type, or null.
  const model::TypeDef* FindResource(std::string_view name) const;
  // The codes of a value set shipped with the definitions (required bindings that can be
  // enumerated offline), sorted; null when Fovea does not have it.
  const std::vector<std::string>* ValueSetCodes(std::string_view url) const;
  // Whether a shipped code system has a hierarchy (concepts nested, or `subsumedBy`).
  bool HasHierarchy(std::string_view system) const;
  // Token :below/:above (hl7.org/fhir/R4/search.html#token): `code` and every code it subsumes
  // (below) or that subsume it (above) in `system`, sorted; empty when the system has no
  // hierarchy Fovea ships or the code is not in it.
  std::vector<std::string> Subsumed(std::string_view system, std::string_view code) const;
  std::vector<std::string> Subsuming(std::string_view system, std::string_view code) const;
  // The shipped hierarchical code systems that define `code` (for a token searched without a
  // system), sorted.
  std::vector<std::string> HierarchiesWithCode(std::string_view code) const;
  // Every concrete resource type name, sorted.
  const std::vector<std::string>& resource_names() const { return resource_names_; }

 private:
  Definitions() = default;

  std::string fhir_version_;
  std::unordered_map<std::string, std::unique_ptr<model::TypeDef>> types_;
  std::map<std::string, std::vector<std::string>, std::less<>> value_sets_;
  std::vector<std::string> resource_names_;
  // Per hierarchical code system: each code's parents.
  std::map<std::string, std::map<std::string, std::vector<std::string>, std::less<>>, std::less<>> parents_;
};

}  // namespace fhir::definitions

#endif  // FOVEA_FHIR_DEFINITIONS_DEFINITIONS_H_
