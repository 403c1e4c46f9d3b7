#include "fhir/rest/subsetting.h"

#include <algorithm>

#include "fhir/format/json_format.h"
#include "fhir/model/issues.h"

namespace fhir::rest {

using model::Element;

namespace {

constexpr const char* kSubsettedSystem = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

bool AlwaysKept(std::string_view name) { return name == "id" || name == "meta"; }

// _summary=true: elements marked isSummary, recursively through backbone elements; data types
// are kept whole.
void KeepSummary(Element& e) {
  auto& children = e.children();
  children.erase(std::remove_if(children.begin(), children.end(),
                                [](const Element& c) {
                                  return !(c.def()->summary || AlwaysKept(c.name()));
                                }),
                 children.end());
  for (Element& c : children) {
    if (c.type()->kind == model::TypeKind::kBackbone) KeepSummary(c);
  }
}

// Adds meta.tag SUBSETTED (hl7.org/fhir/R4/search.html#summary).
void MarkSubsetted(Element& root) {
  Element* tag = root.ChildOrAdd("meta")->AddRepeat("tag");
  tag->SetPrimitiveChild("system", kSubsettedSystem);
  tag->SetPrimitiveChild("code", "SUBSETTED");
  tag->SetPrimitiveChild("display", "Resource encoded in summary mode");
}

}  // namespace

common::Result<Subset> ParseSubset(const std::string& summary, const std::string& elements) {
  Subset s;
  if (summary.empty() || summary == "false" || summary == "count") {
    s.summary = Subset::Summary::kFalse;
  } else if (summary == "true") {
    s.summary = Subset::Summary::kTrue;
  } else if (summary == "text") {
    s.summary = Subset::Summary::kText;
  } else if (summary == "data") {
    s.summary = Subset::Summary::kData;
  } else {
    return common::InvalidError("_summary must be true, text, data, count or false");
  }
  std::size_t start = 0;
  while (start < elements.size()) {
    std::size_t comma = elements.find(',', start);
    std::string name = elements.substr(start, comma - start);
    // "Patient.name" is accepted as well as "name".
    if (auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
    if (!name.empty()) s.elements.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return s;
}

common::Result<std::string> ApplySubset(const std::string& stored_json, const Subset& subset,
                                        const definitions::Definitions& defs) {
  if (!subset.active()) return stored_json;
  model::FailFastSink issues;  // stored resources were validated when written
  FOVEA_ASSIGN_OR_RETURN(Element root, format::ParseResourceJson(stored_json, defs, issues));
  auto& children = root.children();
  auto drop = [&](auto predicate) {
    children.erase(std::remove_if(children.begin(), children.end(), predicate), children.end());
  };
  switch (subset.summary) {
    case Subset::Summary::kTrue:
      KeepSummary(root);
      break;
    case Subset::Summary::kText:
      // The narrative plus what may not be left out.
      drop([](const Element& c) {
        return !(c.name() == "text" || AlwaysKept(c.name()) || c.def()->min > 0);
      });
      break;
    case Subset::Summary::kData:
      drop([](const Element& c) { return c.name() == "text"; });
      break;
    case Subset::Summary::kFalse:
      break;
  }
  if (!subset.elements.empty()) {
    drop([&](const Element& c) {
      return !(AlwaysKept(c.name()) || c.def()->min > 0 ||
               std::find(subset.elements.begin(), subset.elements.end(), c.name()) !=
                   subset.elements.end());
    });
  }
  MarkSubsetted(root);
  return format::WriteResourceJson(root);
}

}  // namespace fhir::rest
