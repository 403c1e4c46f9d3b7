#ifndef FOVEA_FHIR_SEARCH_SEARCH_PARAMETER_H_
#define FOVEA_FHIR_SEARCH_SEARCH_PARAMETER_H_

// Search parameters (hl7.org/fhir/R4/searchparameter.html) and the registry of those that apply
// to each resource type. The R4 set is compiled in from data/r4-search-parameters.json
// (scripts/gen_definitions.py). Immutable after load: thread-safe; a new registry (e.g. after a
// custom SearchParameter is created) is swapped in as a whole.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "fhir/fhirpath/fhirpath.h"

namespace fhir::search {

enum class ParamType { kString, kToken, kReference, kDate, kNumber, kQuantity, kUri, kComposite, kSpecial };

std::string_view ParamTypeName(ParamType t);

struct SearchParameter {
  struct Component {
    std::string definition;  // canonical URL of the component's SearchParameter
    std::string expression;  // relative to the composite's expression
    std::shared_ptr<const fhirpath::Expression> compiled;  // null if it does not compile
  };
  std::string url;
  std::string code;                 // the name used in queries: "subject", "birthdate"
  std::vector<std::string> base;    // resource types
  ParamType type = ParamType::kString;
  std::string expression;           // FHIRPath; empty for _text/_content/_query
  std::vector<std::string> targets; // reference parameters: allowed target types
  std::vector<Component> components;
  // `expression` compiled once at load. Expressions on the abstract Resource/DomainResource
  // ("Resource.meta.tag") are compiled without that first step ("meta.tag"), which applies to
  // every concrete resource. Null when the expression is empty or does not compile.
  std::shared_ptr<const fhirpath::Expression> compiled;
};

class SearchParameterRegistry {
 public:
  // Parses the compact JSON produced by scripts/gen_definitions.py.
  static common::Result<std::shared_ptr<const SearchParameterRegistry>> Load(std::string_view json);
  // The R4 parameters compiled into the binary; built on first use.
  static std::shared_ptr<const SearchParameterRegistry> R4();

  // A SearchParameter resource (JSON) as a parameter this registry could add: kInvalid (with
  // a message for the client) when Fovea cannot search it or its code is taken on a base.
  common::Result<SearchParameter> FromResource(const common::JsonValue& resource) const;
  // A new registry: these parameters plus the given custom ones.
  std::shared_ptr<const SearchParameterRegistry> WithCustom(
      const std::vector<SearchParameter>& custom) const;

  // The parameter `code` of `resource_type` (own, or inherited from Resource/DomainResource).
  const SearchParameter* Find(std::string_view resource_type, std::string_view code) const;
  // Every parameter that applies to `resource_type`, in code order.
  std::vector<const SearchParameter*> ForType(std::string_view resource_type) const;
  const SearchParameter* FindByUrl(std::string_view url) const;
  // The parameters that place a `resource_type` in a `compartment_type` compartment
  // (Patient/123/Observation -> subject, performer); empty when it is not a member.
  const std::vector<std::string>& CompartmentParams(std::string_view compartment_type,
                                                    std::string_view resource_type) const;
  bool IsCompartment(std::string_view type) const { return compartments_.count(type) > 0; }
  std::size_t size() const { return params_.size(); }

 private:
  void Add(std::unique_ptr<SearchParameter> p);

  std::vector<std::unique_ptr<SearchParameter>> params_;
  // type -> code -> parameter; "Resource" and "DomainResource" hold the common ones.
  std::map<std::string, std::map<std::string, const SearchParameter*, std::less<>>, std::less<>> by_type_;
  std::map<std::string, const SearchParameter*, std::less<>> by_url_;
  std::map<std::string, std::map<std::string, std::vector<std::string>, std::less<>>, std::less<>>
      compartments_;
};

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_SEARCH_PARAMETER_H_
