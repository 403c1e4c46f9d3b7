#include "fhir/search/index_extractor.h"

#include <mutex>
#include <unordered_map>

#include "fhir/definitions/definitions.h"
#include "fhir/fhirpath/fhirpath.h"
#include "fhir/model/ids.h"
#include "fhir/search/ranges.h"
#include "fhir/search/search_query.h"

namespace fhir::search {

using model::Element;

namespace {

std::string_view ChildValue(const Element& e, std::string_view name) {
  const Element* c = e.Child(name);
  return c != nullptr && c->has_value() ? std::string_view(c->value()) : std::string_view();
}

// resolve() during extraction only needs the referenced type (R4 expressions such as
// `subject.where(resolve() is Patient)`): answer with an empty resource of that type.
const Element* TypeStub(std::string_view reference) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::unique_ptr<Element>> stubs;
  std::string_view path = model::WithoutHistory(reference);
  std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return nullptr;
  std::size_t type_start = path.rfind('/', slash - 1);
  std::string type(path.substr(type_start == std::string_view::npos ? 0 : type_start + 1,
                               slash - (type_start == std::string_view::npos ? 0 : type_start + 1)));
  const model::TypeDef* def = definitions::Definitions::R4().FindResource(type);
  if (def == nullptr) return nullptr;
  std::lock_guard lock(mu);
  auto& stub = stubs[type];
  if (!stub) stub = std::make_unique<Element>(nullptr, def);
  return stub.get();
}

class Extractor {
 public:
  // `wanted` (null: all) decides the rows derived under another name ("agent:identifier");
  // the parameter's own rows are the caller's to decide, by evaluating it or not.
  Extractor(const SearchParameter& p, IndexRows& rows, const ParameterFilter* wanted = nullptr)
      : p_(p), rows_(rows), wanted_(wanted) {}

  void Add(const fhirpath::Value& v) {
    if (v.kind() != fhirpath::Value::Kind::kElement) {
      AddScalar(v.type_name(), v.text());
      return;
    }
    const Element& e = *v.element();
    if (e.type()->is_primitive()) {
      if (e.has_value()) AddScalar(e.type()->name, e.value());
      return;
    }
    AddComplex(e);
  }

 private:
  bool Wants(const std::string& derived_param) const {
    return wanted_ == nullptr || (*wanted_)(derived_param);
  }

  void AddScalar(std::string_view type, const std::string& text) {
    switch (p_.type) {
      case ParamType::kString: String(text); break;
      case ParamType::kToken: Token("", false, text, ""); break;
      case ParamType::kUri: rows_.uris.push_back({p_.code, Truncated(text, kMaxIndexedUriLength)}); break;
      case ParamType::kReference: ReferenceText(text); break;
      case ParamType::kDate: Date(text); break;
      case ParamType::kNumber: Number(text); break;
      default: break;
    }
    (void)type;
  }

  void AddComplex(const Element& e) {
    const std::string& t = e.type()->name;
    switch (p_.type) {
      case ParamType::kString:
        if (t == "HumanName") {
          for (const char* part : {"family", "given", "prefix", "suffix", "text"}) StringParts(e, part);
        } else if (t == "Address") {
          for (const char* part : {"line", "city", "district", "state", "postalCode", "country", "text"})
            StringParts(e, part);
        } else {
          StringParts(e, "text");
        }
        break;
      case ParamType::kToken:
        if (t == "CodeableConcept") {
          std::string text(ChildValue(e, "text"));
          for (const Element& c : e.children()) {
            if (c.name() == "coding") Coding(c, text);
          }
          if (e.Child("coding") == nullptr && !text.empty()) {
            // A CodeableConcept with only text still matches :text.
            rows_.tokens.push_back({p_.code, "", false, "", Truncated(text)});
          }
        } else if (t == "Coding") {
          Coding(e, "");
        } else if (t == "Identifier") {
          const Element* type = e.Child("type");
          std::string text = type != nullptr ? std::string(ChildValue(*type, "text")) : "";
          std::string_view system = ChildValue(e, "system");
          std::string value(ChildValue(e, "value"));
          Token(std::string(system), e.Child("system") != nullptr, value, text);
          // :of-type matches type-system|type-code|value: rows under "code:of-type" whose code
          // is "type-code|value".
          if (type != nullptr && !value.empty() && Wants(p_.code + ":of-type")) {
            for (const Element& coding : type->children()) {
              if (coding.name() != "coding") continue;
              rows_.tokens.push_back({p_.code + ":of-type",
                                      Truncated(ChildValue(coding, "system"), kMaxIndexedUriLength),
                                      coding.Child("system") != nullptr,
                                      Truncated(std::string(ChildValue(coding, "code")) + "|" + value),
                                      ""});
            }
          }
        } else if (t == "ContactPoint") {
          Token(std::string(ChildValue(e, "system")), false, std::string(ChildValue(e, "value")), "");
        }
        break;
      case ParamType::kReference:
        if (t == "Reference") {
          std::string_view ref = ChildValue(e, "reference");
          if (!ref.empty()) ReferenceText(std::string(ref));
          // Reference.identifier serves `param:identifier=system|value`: a token row under the
          // modifier-qualified name.
          const Element* identifier = e.Child("identifier");
          if (identifier != nullptr && Wants(p_.code + ":identifier")) {
            rows_.tokens.push_back({p_.code + ":identifier",
                                    Truncated(ChildValue(*identifier, "system"), kMaxIndexedUriLength),
                                    identifier->Child("system") != nullptr,
                                    Truncated(ChildValue(*identifier, "value")), ""});
          }
        }
        break;
      case ParamType::kDate:
        if (t == "Period") {
          common::TimePoint lo = common::TimePoint::min(), hi = common::TimePoint::max(), ignore;
          std::string_view start = ChildValue(e, "start"), end = ChildValue(e, "end");
          if (!start.empty() && !DateRange(start, lo, ignore)) return;
          if (!end.empty() && !DateRange(end, ignore, hi)) return;
          if (start.empty() && end.empty()) return;
          rows_.dates.push_back({p_.code, lo, hi});
        } else if (t == "Timing") {
          for (const Element& c : e.children()) {
            if (c.name() == "event" && c.has_value()) Date(c.value());
          }
        }
        break;
      case ParamType::kQuantity:
        if (t == "Quantity" || t == "Age" || t == "Duration" || t == "Distance" || t == "Count" ||
            t == "Money") {
          std::string_view value = ChildValue(e, "value");
          std::string low, high;
          if (value.empty() || !DecimalRange(value, low, high)) return;
          QuantityRow row{p_.code, std::string(value), low, high,
                          Truncated(ChildValue(e, "system"), kMaxIndexedUriLength),
                          Truncated(t == "Money" ? ChildValue(e, "currency") : ChildValue(e, "code")),
                          Truncated(ChildValue(e, "unit")), "", ""};
          long double factor = 0;
          if (t != "Money" && UcumFactor(row.system, row.code, row.dimension, factor)) {
            row.canonical = ScaledDecimal(value, factor);
          }
          rows_.quantities.push_back(std::move(row));
        }
        break;
      default:
        break;
    }
  }

  void StringParts(const Element& e, std::string_view part) {
    for (const Element& c : e.children()) {
      if (c.name() == part && c.has_value()) String(c.value());
    }
  }

  void String(const std::string& text) {
    rows_.strings.push_back({p_.code, Truncated(NormalizeString(text)), Truncated(text)});
  }

  void Token(const std::string& system, bool has_system, const std::string& code,
             const std::string& text) {
    if (code.empty() && text.empty()) return;
    rows_.tokens.push_back({p_.code, Truncated(system, kMaxIndexedUriLength), has_system,
                            Truncated(code), Truncated(text)});
  }

  // :text matches CodeableConcept.text or Coding.display: the coding's row carries the concept
  // text, and a display that differs gets a text-only row of its own.
  void Coding(const Element& coding, const std::string& concept_text) {
    std::string display(ChildValue(coding, "display"));
    std::string text = concept_text.empty() ? display : concept_text;
    Token(std::string(ChildValue(coding, "system")), coding.Child("system") != nullptr,
          std::string(ChildValue(coding, "code")), text);
    if (!display.empty() && display != text) {
      rows_.tokens.push_back({p_.code, "", false, "", Truncated(display)});
    }
  }

  void ReferenceText(const std::string& ref) {
    if (ref.empty() || ref[0] == '#') return;  // contained: not searchable by id
    std::string_view r = model::WithoutHistory(ref);
    std::size_t slash = r.rfind('/');
    bool absolute = r.find("://") != std::string_view::npos || r.rfind("urn:", 0) == 0;
    if (!absolute && slash != std::string_view::npos && slash > 0) {
      rows_.references.push_back({p_.code, Truncated(r.substr(0, slash)),
                                  Truncated(r.substr(slash + 1)), ""});
      return;
    }
    ReferenceRow row{p_.code, "", "", Truncated(ref, kMaxIndexedUriLength)};
    // An absolute URL that ends in Type/id also matches a search by Type/id.
    if (absolute && slash != std::string_view::npos) {
      std::size_t type_start = r.rfind('/', slash - 1);
      std::string_view type = r.substr(type_start + 1, slash - type_start - 1);
      if (definitions::Definitions::R4().FindResource(type) != nullptr) {
        row.target_type = std::string(type);
        row.target_id = std::string(r.substr(slash + 1));
      }
    }
    rows_.references.push_back(std::move(row));
  }

  void Date(const std::string& text) {
    common::TimePoint lo, hi;
    if (DateRange(text, lo, hi)) rows_.dates.push_back({p_.code, lo, hi});
  }

  void Number(const std::string& text) {
    std::string low, high;
    if (DecimalRange(text, low, high)) rows_.numbers.push_back({p_.code, text, low, high});
  }

  const SearchParameter& p_;
  IndexRows& rows_;
  const ParameterFilter* wanted_;
};


}  // namespace

std::string Truncated(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t end = max_bytes;
  // Back up over UTF-8 continuation bytes so no character is cut in half.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return std::string(s.substr(0, end));
}

std::string NormalizeString(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

namespace {

// The rows one component parameter yields for the element a composite expression selected.
common::Status ComponentRows(const SearchParameter& component,
                             const fhirpath::Expression& expression, const Element& focus,
                             const fhirpath::EvaluationContext& context, IndexRows& rows) {
  FOVEA_ASSIGN_OR_RETURN(auto values, fhirpath::Evaluate(expression, focus, context));
  Extractor extractor(component, rows);
  for (const auto& v : values) extractor.Add(v);
  // Only the component's own values: not the rows kept for :identifier and :of-type.
  std::erase_if(rows.tokens, [&](const TokenRow& r) { return r.param != component.code; });
  return common::Status::Ok();
}

template <class Second>
void Pair(const std::string& code, const std::vector<TokenRow>& firsts,
          const std::vector<Second>& seconds, std::vector<CompositeRow<Second>>& out) {
  for (const TokenRow& a : firsts) {
    if (a.code.empty()) continue;  // text-only rows do not identify a code
    for (const Second& b : seconds) out.push_back({code, a, b});
  }
}

// Composites (IsSupportedComposite's shapes): one row per combination of component values
// found under the same element (Observation.component[i]: its code with its value, never
// another component's; MolecularSequence.variant[i]: its start with its own end).
void ExtractComposite(const SearchParameter& p, const Element& resource,
                      const SearchParameterRegistry& registry,
                      const fhirpath::EvaluationContext& context, IndexRows& rows,
                      ExtractionStats* stats) {
  std::vector<const SearchParameter*> components;
  for (const auto& c : p.components) components.push_back(registry.FindByUrl(c.definition));
  if (!IsSupportedComposite(components)) return;
  if (stats != nullptr) ++stats->parameters;
  auto fail = [&] {
    if (stats != nullptr) ++stats->failed;
  };
  if (p.compiled == nullptr) return fail();
  for (const auto& c : p.components) {
    if (c.compiled == nullptr) return fail();
  }
  auto bases = fhirpath::Evaluate(*p.compiled, resource, context);
  if (!bases.has_value()) return fail();
  for (const auto& base : *bases) {
    if (base.kind() != fhirpath::Value::Kind::kElement) continue;
    // The rows of each component, evaluated on this element only.
    std::vector<IndexRows> parts(components.size());
    for (std::size_t i = 0; i < components.size(); ++i) {
      if (!ComponentRows(*components[i], *p.components[i].compiled, *base.element(), context,
                         parts[i])
               .ok()) {
        return fail();
      }
    }
    if (components[0]->type == ParamType::kReference) {  // reference$token
      for (const ReferenceRow& ref : parts[0].references) {
        for (const TokenRow& token : parts[1].tokens) {
          if (token.code.empty()) continue;  // text-only rows do not identify a code
          rows.composite_references.push_back({p.code, ref, token});
        }
      }
      continue;
    }
    if (components.size() == 3) {  // token$number$number
      for (const TokenRow& token : parts[0].tokens) {
        if (token.code.empty()) continue;
        for (const NumberRow& second : parts[1].numbers) {
          for (const NumberRow& third : parts[2].numbers) {
            rows.composite_numbers.push_back({p.code, token, second, third});
          }
        }
      }
      continue;
    }
    const IndexRows& a = parts[0];
    const IndexRows& b = parts[1];
    switch (components[1]->type) {
      case ParamType::kToken: Pair(p.code, a.tokens, b.tokens, rows.composite_tokens); break;
      case ParamType::kQuantity: Pair(p.code, a.tokens, b.quantities, rows.composite_quantities); break;
      case ParamType::kDate: Pair(p.code, a.tokens, b.dates, rows.composite_dates); break;
      case ParamType::kString: Pair(p.code, a.tokens, b.strings, rows.composite_strings); break;
      default: break;
    }
  }
}

}  // namespace

namespace {

// Words of the narrative: the XHTML with its tags dropped.
std::string NarrativeWords(std::string_view xhtml) {
  std::string out;
  bool in_tag = false;
  for (char c : xhtml) {
    if (c == '<') {
      in_tag = true;
      out += ' ';
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out += c;
    }
  }
  return out;
}

// Every string-like value in the tree (not codes, ids or URIs), for _content.
void CollectText(const Element& e, std::string& out) {
  if (e.has_value()) {
    const std::string& t = e.type()->name;
    if (t == "string" || t == "markdown") {
      out += e.value();
      out += ' ';
    } else if (t == "xhtml") {
      out += NarrativeWords(e.value());
      out += ' ';
    }
  }
  for (const Element& c : e.children()) {
    if (out.size() >= kMaxFullTextBytes) return;
    CollectText(c, out);
  }
}

void ExtractFullText(const Element& resource, const ParameterFilter* wanted, IndexRows& rows) {
  if (wanted == nullptr || (*wanted)("_text")) {
    if (const Element* text = resource.Child("text")) {
      if (const Element* div = text->Child("div"); div != nullptr && div->has_value()) {
        rows.texts.push_back({"_text", Truncated(NarrativeWords(div->value()), kMaxFullTextBytes)});
      }
    }
  }
  if (wanted == nullptr || (*wanted)("_content")) {
    std::string content;
    CollectText(resource, content);
    if (!content.empty()) rows.texts.push_back({"_content", Truncated(content, kMaxFullTextBytes)});
  }
}

// Both ExtractIndex: every parameter when `wanted` is null.
IndexRows Extract(const Element& resource, const SearchParameterRegistry& registry,
                  const ParameterFilter* wanted, ExtractionStats* stats) {
  IndexRows rows;
  fhirpath::EvaluationContext context;
  context.resource = &resource;
  context.resolver = TypeStub;
  context.as_filters_collections = true;
  ExtractFullText(resource, wanted, rows);
  for (const SearchParameter* p : registry.ForType(resource.type()->name)) {
    // _id and _lastUpdated are columns of the resource table; specials are not indexed.
    if (p->expression.empty() || p->code == "_id" || p->code == "_lastUpdated" ||
        p->type == ParamType::kSpecial)
      continue;
    if (wanted != nullptr && !(*wanted)(p->code)) continue;
    if (p->type == ParamType::kComposite) {
      ExtractComposite(*p, resource, registry, context, rows, stats);
      continue;
    }
    if (stats != nullptr) ++stats->parameters;
    if (p->compiled == nullptr) {
      if (stats != nullptr) ++stats->failed;
      continue;
    }
    auto result = fhirpath::Evaluate(*p->compiled, resource, context);
    if (!result.has_value()) {
      if (stats != nullptr) ++stats->failed;
      continue;
    }
    Extractor extractor(*p, rows, wanted);
    for (const auto& v : *result) extractor.Add(v);
  }
  return rows;
}

}  // namespace

IndexRows ExtractIndex(const Element& resource, const SearchParameterRegistry& registry,
                       ExtractionStats* stats) {
  return Extract(resource, registry, nullptr, stats);
}

IndexRows ExtractIndex(const Element& resource, const SearchParameterRegistry& registry,
                       const ParameterFilter& wanted, ExtractionStats* stats) {
  return Extract(resource, registry, &wanted, stats);
}

}  // namespace fhir::search
