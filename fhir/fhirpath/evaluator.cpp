#include "fhir/fhirpath/evaluator.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <unordered_set>

#include "fhir/fhirpath/parser.h"
#include "fhir/fhirpath/units.h"

namespace fhir::fhirpath::detail {

using common::Result;
using model::Element;

namespace {

bool IsQuantityType(std::string_view t) {
  return t == "Quantity" || t == "Age" || t == "Duration" || t == "Distance" || t == "Count" ||
         t == "SimpleQuantity" || t == "MoneyQuantity";
}

Value::Kind SystemKindOfPrimitive(std::string_view t) {
  if (t == "boolean") return Value::Kind::kBoolean;
  if (t == "integer" || t == "positiveInt" || t == "unsignedInt" || t == "integer64") {
    return Value::Kind::kInteger;
  }
  if (t == "decimal") return Value::Kind::kDecimal;
  if (t == "date") return Value::Kind::kDate;
  if (t == "dateTime" || t == "instant") return Value::Kind::kDateTime;
  if (t == "time") return Value::Kind::kTime;
  return Value::Kind::kString;
}

std::optional<Quantity> QuantityOfElement(const Element& e) {
  const Element* value = e.Child("value");
  if (value == nullptr || !value->has_value()) return std::nullopt;
  Quantity q;
  q.value = value->value();
  const Element* code = e.Child("code");
  const Element* unit = e.Child("unit");
  if (code != nullptr && code->has_value()) {
    q.unit = code->value();
  } else if (unit != nullptr && unit->has_value()) {
    q.unit = unit->value();
  } else {
    q.unit = "1";
  }
  return q;
}

std::string NormalizeWhitespaceLower(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool ElementsEqual(const Element& a, const Element& b) {
  if (a.type() != b.type() || a.name() != b.name()) return false;
  if (a.has_value() != b.has_value()) return false;
  if (a.has_value() && a.value() != b.value()) return false;
  if (a.children().size() != b.children().size()) return false;
  for (std::size_t i = 0; i < a.children().size(); ++i) {
    if (!ElementsEqual(a.children()[i], b.children()[i])) return false;
  }
  return true;
}

struct QuantityNumbers {
  Decimal a;
  Decimal b;
};

// Both quantities in a common unit, or nullopt when the units are not comparable.
std::optional<QuantityNumbers> CommonUnit(const Quantity& x, const Quantity& y) {
  auto dx = Decimal::Parse(x.value);
  auto dy = Decimal::Parse(y.value);
  if (!dx || !dy) return std::nullopt;
  if (x.unit == y.unit) return QuantityNumbers{*dx, *dy};
  Normalized nx = Normalize(*dx, x.unit);
  Normalized ny = Normalize(*dy, y.unit);
  if (nx.dimension != ny.dimension) return std::nullopt;
  return QuantityNumbers{nx.value, ny.value};
}

bool DecimalsEquivalent(const Decimal& a, const Decimal& b) {
  int scale = std::min(a.Trimmed().scale(), b.Trimmed().scale());
  return Compare(a.Rescaled(scale), b.Rescaled(scale)) == 0;
}

}  // namespace

Result<Collection> FilterByType(const Collection& input, std::string_view type) {
  Collection out;
  for (const Value& v : input) {
    auto m = MatchesType(v, type, true);
    if (!m) return EvalError("unknown type '" + std::string(type) + "'");
    if (*m) out.push_back(v);
  }
  return out;
}

common::Status EvalError(const std::string& message) {
  return common::InvalidError("FHIRPath evaluation error: " + message);
}

std::string_view ElementTypeName(const Element& e) {
  if (e.type() == nullptr) return {};
  // R4 declares Resource.id as System.String with the FHIR type "id" in an extension, which
  // the compact definitions drop; FHIRPath reports the FHIR type.
  static const auto* resource_ids = [] {
    auto* ids = new std::unordered_set<const model::ElementDef*>();  // immutable once built
    const auto& defs = definitions::Definitions::R4();
    for (const std::string& name : defs.resource_names()) {
      if (const model::TypeDef* t = defs.FindType(name)) {
        if (const model::ElementDef* id = t->FindElement("id")) ids->insert(id);
      }
    }
    return ids;
  }();
  if (e.def() != nullptr && e.def()->name == "id" && resource_ids->count(e.def()) != 0) return "id";
  return e.type()->name;
}

std::optional<Value> ToSystem(const Value& v) {
  if (v.kind() != Value::Kind::kElement) return v;
  const Element& e = *v.element();
  if (e.type() == nullptr) return v;
  if (e.type()->is_primitive()) {
    if (!e.has_value()) return std::nullopt;
    switch (SystemKindOfPrimitive(e.type()->name)) {
      case Value::Kind::kBoolean: return Value::Boolean(e.value() == "true");
      case Value::Kind::kInteger: {
        errno = 0;
        char* end = nullptr;
        long long i = std::strtoll(e.value().c_str(), &end, 10);
        if (errno != 0 || end == e.value().c_str() || *end != '\0') return Value::String(e.value());
        return Value::Integer(i);
      }
      case Value::Kind::kDecimal: return Value::Decimal(e.value());
      case Value::Kind::kDate: return Value::Date(e.value());
      case Value::Kind::kDateTime: return Value::DateTime(e.value());
      case Value::Kind::kTime: return Value::Time(e.value());
      default: return Value::String(e.value());
    }
  }
  if (IsQuantityType(e.type()->name)) {
    if (auto q = QuantityOfElement(e)) return Value::OfQuantity(*q);
  }
  return v;
}

bool IsSystemKind(const Value& v, Value::Kind kind) {
  if (v.kind() != Value::Kind::kElement) return v.kind() == kind;
  const Element& e = *v.element();
  if (e.type() == nullptr) return false;
  if (e.type()->is_primitive()) return SystemKindOfPrimitive(e.type()->name) == kind;
  return kind == Value::Kind::kQuantity && IsQuantityType(e.type()->name);
}

std::optional<Decimal> AsDecimal(const Value& v) {
  if (v.kind() == Value::Kind::kInteger) return Decimal::FromInteger(v.integer());
  if (v.kind() == Value::Kind::kDecimal) return Decimal::Parse(v.text());
  return std::nullopt;
}

std::optional<Temporal> AsTemporal(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kDate: return Temporal::Parse(TemporalKind::kDate, v.text());
    case Value::Kind::kDateTime: return Temporal::Parse(TemporalKind::kDateTime, v.text());
    case Value::Kind::kTime: return Temporal::Parse(TemporalKind::kTime, v.text());
    default: return std::nullopt;
  }
}

namespace {

bool IsTemporal(const Value& v) {
  return v.kind() == Value::Kind::kDate || v.kind() == Value::Kind::kDateTime ||
         v.kind() == Value::Kind::kTime;
}
bool IsNumber(const Value& v) {
  return v.kind() == Value::Kind::kInteger || v.kind() == Value::Kind::kDecimal;
}

}  // namespace

std::optional<bool> ValuesEqual(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    if (a.kind() == Value::Kind::kInteger && b.kind() == Value::Kind::kInteger) {
      return a.integer() == b.integer();
    }
    auto x = AsDecimal(a);
    auto y = AsDecimal(b);
    if (!x || !y) return false;
    return Compare(*x, *y) == 0;
  }
  if (IsTemporal(a) && IsTemporal(b)) {
    if ((a.kind() == Value::Kind::kTime) != (b.kind() == Value::Kind::kTime)) return false;
    auto x = AsTemporal(a);
    auto y = AsTemporal(b);
    if (!x || !y) return a.text() == b.text();
    auto c = CompareTemporal(*x, *y);
    if (!c) return std::nullopt;
    return *c == 0;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kBoolean: return a.boolean() == b.boolean();
    case Value::Kind::kString: return a.text() == b.text();
    case Value::Kind::kQuantity: {
      auto n = CommonUnit(a.quantity(), b.quantity());
      if (!n) return std::nullopt;
      return Compare(n->a, n->b) == 0;
    }
    case Value::Kind::kElement: return ElementsEqual(*a.element(), *b.element());
    default: return false;
  }
}

bool ValuesEquivalent(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    auto x = AsDecimal(a);
    auto y = AsDecimal(b);
    return x && y && DecimalsEquivalent(*x, *y);
  }
  if (IsTemporal(a) && IsTemporal(b)) {
    auto x = AsTemporal(a);
    auto y = AsTemporal(b);
    if (!x || !y) return false;
    auto c = CompareTemporal(*x, *y);
    return c && *c == 0;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kBoolean: return a.boolean() == b.boolean();
    case Value::Kind::kString:
      return NormalizeWhitespaceLower(a.text()) == NormalizeWhitespaceLower(b.text());
    case Value::Kind::kQuantity: {
      auto n = CommonUnit(a.quantity(), b.quantity());
      return n && DecimalsEquivalent(n->a, n->b);
    }
    case Value::Kind::kElement: return ElementsEqual(*a.element(), *b.element());
    default: return false;
  }
}

Result<std::optional<int>> CompareValues(const Value& a, const Value& b) {
  if (IsNumber(a) && IsNumber(b)) {
    auto x = AsDecimal(a);
    auto y = AsDecimal(b);
    if (!x || !y) return EvalError("malformed decimal");
    return std::optional<int>(Compare(*x, *y));
  }
  if (IsTemporal(a) && IsTemporal(b)) {
    auto x = AsTemporal(a);
    auto y = AsTemporal(b);
    if (!x || !y) return EvalError("malformed date/time");
    if ((a.kind() == Value::Kind::kTime) != (b.kind() == Value::Kind::kTime)) {
      return EvalError("cannot compare a Time with a Date or DateTime");
    }
    return CompareTemporal(*x, *y);
  }
  if (a.kind() == Value::Kind::kString && b.kind() == Value::Kind::kString) {
    int c = a.text().compare(b.text());
    return std::optional<int>(c < 0 ? -1 : (c > 0 ? 1 : 0));
  }
  if (a.kind() == Value::Kind::kQuantity && b.kind() == Value::Kind::kQuantity) {
    auto n = CommonUnit(a.quantity(), b.quantity());
    if (!n) return std::optional<int>();
    return std::optional<int>(Compare(n->a, n->b));
  }
  return EvalError("cannot compare " + std::string(a.type_name()) + " with " +
                   std::string(b.type_name()));
}

std::optional<std::string> ToStringValue(const Value& in) {
  auto v = ToSystem(in);
  if (!v) return std::nullopt;
  switch (v->kind()) {
    case Value::Kind::kBoolean: return std::string(v->boolean() ? "true" : "false");
    case Value::Kind::kInteger: return std::to_string(v->integer());
    case Value::Kind::kDecimal:
    case Value::Kind::kString:
    case Value::Kind::kDate:
    case Value::Kind::kDateTime:
    case Value::Kind::kTime: return v->text();
    case Value::Kind::kQuantity: {
      const Quantity& q = v->quantity();
      if (IsCalendarUnit(q.unit)) return q.value + " " + q.unit;
      return q.value + " '" + q.unit + "'";
    }
    case Value::Kind::kElement: return std::nullopt;
  }
  return std::nullopt;
}

Result<std::optional<bool>> SingletonBoolean(const Collection& c, std::string_view what) {
  if (c.empty()) return std::optional<bool>();
  if (c.size() > 1) {
    return EvalError(std::string(what) + " expects a single boolean, got " +
                     std::to_string(c.size()) + " items");
  }
  auto v = ToSystem(c[0]);
  if (!v) return std::optional<bool>();
  if (v->kind() == Value::Kind::kBoolean) return std::optional<bool>(v->boolean());
  return std::optional<bool>(true);
}

// ---- types ----

namespace {

constexpr std::string_view kSystemTypes[] = {"Boolean", "Integer", "Decimal", "String", "Date",
                                             "DateTime", "Time", "Quantity"};

bool IsSystemTypeName(std::string_view n) {
  return std::find(std::begin(kSystemTypes), std::end(kSystemTypes), n) != std::end(kSystemTypes);
}

// The FHIR supertype of `name`, or empty at the top (hl7.org/fhir/R4/types.html).
std::string_view FhirParent(std::string_view name, const definitions::Definitions& defs) {
  if (name == "code" || name == "id" || name == "markdown") return "string";
  if (name == "url" || name == "canonical" || name == "oid" || name == "uuid") return "uri";
  if (name == "positiveInt" || name == "unsignedInt") return "integer";
  if (name == "Age" || name == "Distance" || name == "Duration" || name == "Count" ||
      name == "SimpleQuantity" || name == "MoneyQuantity") {
    return "Quantity";
  }
  if (name == "Element" || name == "Resource") return {};
  if (name == "DomainResource" || name == "Bundle" || name == "Binary" || name == "Parameters") {
    return "Resource";
  }
  if (name == "BackboneElement") return "Element";
  const model::TypeDef* t = defs.FindType(name);
  if (t == nullptr) return {};
  if (t->is_resource()) return "DomainResource";
  if (t->kind == model::TypeKind::kBackbone) return "BackboneElement";
  return "Element";
}

}  // namespace

std::optional<bool> MatchesType(const Value& v, std::string_view spec, bool exact) {
  const auto& defs = definitions::Definitions::R4();
  std::string_view ns;
  std::string_view name = spec;
  if (auto dot = spec.find('.'); dot != std::string_view::npos &&
                                 (spec.substr(0, dot) == "FHIR" || spec.substr(0, dot) == "System")) {
    ns = spec.substr(0, dot);
    name = spec.substr(dot + 1);
  }
  bool fhir_known = defs.FindType(name) != nullptr || name == "Resource" ||
                    name == "DomainResource" || name == "Element" || name == "BackboneElement";
  bool system_known = IsSystemTypeName(name);
  if (ns == "FHIR" && !fhir_known) return std::nullopt;
  if (ns == "System" && !system_known) {
    // System.Patient and the like are well-formed names that no value has.
    return false;
  }
  if (ns.empty() && !fhir_known && !system_known) return std::nullopt;
  if (v.kind() == Value::Kind::kElement) {
    if (ns == "System" || !fhir_known) return false;
    std::string_view t = ElementTypeName(*v.element());
    if (t == name) return true;
    if (exact && v.element()->type() != nullptr && v.element()->type()->is_primitive()) {
      return false;
    }
    for (std::string_view p = FhirParent(t, defs); !p.empty(); p = FhirParent(p, defs)) {
      if (p == name) return true;
    }
    return false;
  }
  if (ns == "FHIR" || !system_known) return false;
  return v.type_name() == name;
}

// ---- evaluator ----

Evaluator::Evaluator(const EvaluationContext& context, const Element& focus)
    : context_(context), focus_(focus), focus_collection_{Value::OfElement(&focus)} {}

const Element* Evaluator::ResourceVariable() const {
  return context_.resource != nullptr ? context_.resource : &focus_;
}

const Element* Evaluator::RootResourceVariable() const {
  return context_.root_resource != nullptr ? context_.root_resource : ResourceVariable();
}

Result<Collection> Evaluator::Run(const Node& root) {
  Frame frame;
  frame.this_collection = &focus_collection_;
  return Eval(root, frame);
}

Result<Collection> Evaluator::EvalWithItem(const Node& node, const Value& item, long long index,
                                           const Frame& outer) {
  Collection one{item};
  Frame frame;
  frame.this_collection = &one;
  frame.index = index;
  frame.total = outer.total;
  return Eval(node, frame);
}

Result<Collection> Evaluator::Eval(const Node& node, const Frame& frame) {
  switch (node.kind) {
    case NodeKind::kLiteral:
      if (node.literal.kind() == Value::Kind::kTime &&
          !Temporal::Parse(TemporalKind::kTime, node.literal.text())) {
        return EvalError("invalid time literal '@T" + node.literal.text() + "'");
      }
      return Collection{node.literal};
    case NodeKind::kEmpty: return Collection{};
    case NodeKind::kThis: return *frame.this_collection;
    case NodeKind::kIndex:
      if (frame.index < 0) return Collection{};
      return Collection{Value::Integer(frame.index)};
    case NodeKind::kTotal:
      if (frame.total == nullptr) return Collection{};
      return *frame.total;
    case NodeKind::kVariable: return Variable(node);
    case NodeKind::kMember: return Member(node, *frame.this_collection, true);
    case NodeKind::kFunction:
      return BuiltinAt(node.builtin)(*this, node, *frame.this_collection, frame);
    case NodeKind::kInvoke: {
      FOVEA_ASSIGN_OR_RETURN(Collection input, Eval(*node.args[0], frame));
      const Node& step = *node.args[1];
      switch (step.kind) {
        case NodeKind::kMember: return Member(step, input, false);
        case NodeKind::kFunction: return BuiltinAt(step.builtin)(*this, step, input, frame);
        default: {
          // `.$this` and friends: evaluated against the input as $this.
          Frame inner = frame;
          inner.this_collection = &input;
          return Eval(step, inner);
        }
      }
    }
    case NodeKind::kIndexer: {
      FOVEA_ASSIGN_OR_RETURN(Collection input, Eval(*node.args[0], frame));
      FOVEA_ASSIGN_OR_RETURN(Collection index, Eval(*node.args[1], frame));
      if (index.empty()) return Collection{};
      auto iv = index.size() == 1 ? ToSystem(index[0]) : std::nullopt;
      if (!iv || iv->kind() != Value::Kind::kInteger) return EvalError("index must be an integer");
      if (iv->integer() < 0 || static_cast<std::size_t>(iv->integer()) >= input.size()) {
        return Collection{};
      }
      return Collection{input[static_cast<std::size_t>(iv->integer())]};
    }
    case NodeKind::kUnary: {
      FOVEA_ASSIGN_OR_RETURN(Collection operand, Eval(*node.args[0], frame));
      if (node.name == "+" || operand.empty()) return operand;
      if (operand.size() > 1) return EvalError("unary '-' on a collection");
      auto v = ToSystem(operand[0]);
      if (!v) return Collection{};
      switch (v->kind()) {
        case Value::Kind::kInteger: return Collection{Value::Integer(-v->integer())};
        case Value::Kind::kDecimal: {
          auto d = Decimal::Parse(v->text());
          if (!d) return EvalError("malformed decimal");
          return Collection{Value::Decimal(d->Negated().ToString())};
        }
        case Value::Kind::kQuantity: {
          auto d = Decimal::Parse(v->quantity().value);
          if (!d) return EvalError("malformed quantity");
          return Collection{Value::OfQuantity({d->Negated().ToString(), v->quantity().unit})};
        }
        default: return EvalError("unary '-' needs a number or quantity");
      }
    }
    case NodeKind::kBinary: return Binary(node, frame);
    case NodeKind::kTypeOp: {
      FOVEA_ASSIGN_OR_RETURN(Collection operand, Eval(*node.args[0], frame));
      if (operand.empty()) return Collection{};
      if (operand.size() > 1) {
        if (node.name == "as" && context_.as_filters_collections) {
          return FilterByType(operand, node.type_name);
        }
        return EvalError("'" + node.name + "' on a collection of several items");
      }
      auto m = MatchesType(operand[0], node.type_name, node.name == "as");
      if (!m) return EvalError("unknown type '" + node.type_name + "'");
      if (node.name == "is") return Collection{Value::Boolean(*m)};
      if (*m) return operand;
      return Collection{};
    }
  }
  return EvalError("unsupported expression");
}

Result<Collection> Evaluator::Variable(const Node& node) {
  const std::string& n = node.name;
  if (auto it = context_.variables.find(n); it != context_.variables.end()) return it->second;
  if (n == "resource") return Collection{Value::OfElement(ResourceVariable())};
  if (n == "rootResource") return Collection{Value::OfElement(RootResourceVariable())};
  if (n == "context") return focus_collection_;
  if (n == "ucum") return Collection{Value::String("http://unitsofmeasure.org")};
  if (n == "sct") return Collection{Value::String("http://snomed.info/sct")};
  if (n == "loinc") return Collection{Value::String("http://loinc.org")};
  if (n.rfind("vs-", 0) == 0) return Collection{Value::String("http://hl7.org/fhir/ValueSet/" + n.substr(3))};
  if (n.rfind("ext-", 0) == 0) {
    return Collection{Value::String("http://hl7.org/fhir/StructureDefinition/" + n.substr(4))};
  }
  return EvalError("unknown variable '%" + n + "'");
}

Result<Collection> Evaluator::Member(const Node& node, const Collection& input, bool first_step) {
  Collection out;
  const std::string& name = node.name;
  bool known_anywhere = false;
  bool saw_element = false;
  for (const Value& item : input) {
    if (item.kind() != Value::Kind::kElement) {
      if (!item.type_namespace().empty()) {
        if (name == "name") out.push_back(Value::String(item.text()));
        if (name == "namespace") out.push_back(Value::String(item.type_namespace()));
        known_anywhere = true;
      }
      continue;
    }
    const Element& e = *item.element();
    saw_element = true;
    if (first_step && e.is_resource() && ElementTypeName(e) == name) {
      out.push_back(item);
      known_anywhere = true;
      continue;
    }
    const model::TypeDef* type = e.type();
    const model::ElementDef* def = type != nullptr ? type->FindElement(name) : nullptr;
    if (def != nullptr) {
      known_anywhere = true;
      for (const Element& c : e.children()) {
        if (c.def() == def) out.push_back(Value::OfElement(&c));
      }
      continue;
    }
    if (context_.strict || type == nullptr) continue;
    // Lenient: valueQuantity names the Quantity choice of value[x].
    for (const Element& c : e.children()) {
      if (c.def() != nullptr && c.def()->choice && c.JsonName() == name) {
        out.push_back(Value::OfElement(&c));
      }
    }
  }
  if (context_.strict && saw_element && !known_anywhere) {
    return EvalError("unknown element '" + name + "'");
  }
  return out;
}

Result<Collection> Evaluator::Binary(const Node& node, const Frame& frame) {
  const std::string& op = node.name;
  // Boolean operators evaluate both sides (FHIRPath has no short-circuit guarantee) but accept
  // an empty side per the three-valued truth tables.
  if (op == "and" || op == "or" || op == "xor" || op == "implies") {
    FOVEA_ASSIGN_OR_RETURN(Collection lc, Eval(*node.args[0], frame));
    FOVEA_ASSIGN_OR_RETURN(std::optional<bool> l, SingletonBoolean(lc, op));
    if (op == "and" && l && !*l) return Collection{Value::Boolean(false)};
    if (op == "or" && l && *l) return Collection{Value::Boolean(true)};
    if (op == "implies" && l && !*l) return Collection{Value::Boolean(true)};
    FOVEA_ASSIGN_OR_RETURN(Collection rc, Eval(*node.args[1], frame));
    FOVEA_ASSIGN_OR_RETURN(std::optional<bool> r, SingletonBoolean(rc, op));
    auto result = [](std::optional<bool> b) {
      return b ? Collection{Value::Boolean(*b)} : Collection{};
    };
    if (op == "and") {
      if (r && !*r) return result(false);
      if (l && r) return result(true);
      return result(std::nullopt);
    }
    if (op == "or") {
      if (r && *r) return result(true);
      if (l && r) return result(false);
      return result(std::nullopt);
    }
    if (op == "xor") {
      if (l && r) return result(*l != *r);
      return result(std::nullopt);
    }
    // implies, with l true or unknown
    if (r && *r) return result(true);
    if (l && r) return result(false);
    return result(std::nullopt);
  }

  FOVEA_ASSIGN_OR_RETURN(Collection lhs, Eval(*node.args[0], frame));
  FOVEA_ASSIGN_OR_RETURN(Collection rhs, Eval(*node.args[1], frame));

  if (op == "|") {
    Collection out;
    for (const Collection* c : {&lhs, &rhs}) {
      for (const Value& v : *c) {
        auto sv = ToSystem(v);
        bool dup = false;
        for (const Value& o : out) {
          auto so = ToSystem(o);
          if (sv && so) {
            auto eq = ValuesEqual(*sv, *so);
            if (eq && *eq) {
              dup = true;
              break;
            }
          }
        }
        if (!dup) out.push_back(v);
      }
    }
    return out;
  }

  if (op == "in" || op == "contains") {
    const Collection& item = op == "in" ? lhs : rhs;
    const Collection& coll = op == "in" ? rhs : lhs;
    if (item.empty()) return Collection{};
    if (item.size() > 1) return EvalError("'" + op + "' needs a single item");
    auto iv = ToSystem(item[0]);
    if (!iv) return Collection{};
    for (const Value& v : coll) {
      auto sv = ToSystem(v);
      if (!sv) continue;
      auto eq = ValuesEqual(*iv, *sv);
      if (eq && *eq) return Collection{Value::Boolean(true)};
    }
    return Collection{Value::Boolean(false)};
  }

  if (op == "=" || op == "!=" || op == "~" || op == "!~") {
    bool negate = op[0] == '!';
    bool equivalence = op.back() == '~';
    if (equivalence) {
      bool eq = true;
      if (lhs.size() != rhs.size()) {
        eq = false;
      } else {
        // Order does not matter for equivalence: match each left item to an unused right one.
        std::vector<bool> used(rhs.size(), false);
        for (const Value& a : lhs) {
          auto sa = ToSystem(a);
          bool found = false;
          for (std::size_t j = 0; j < rhs.size() && !found; ++j) {
            if (used[j]) continue;
            auto sb = ToSystem(rhs[j]);
            if ((!sa && !sb) || (sa && sb && ValuesEquivalent(*sa, *sb))) {
              used[j] = true;
              found = true;
            }
          }
          if (!found) {
            eq = false;
            break;
          }
        }
      }
      return Collection{Value::Boolean(eq != negate)};
    }
    if (lhs.empty() || rhs.empty()) return Collection{};
    if (lhs.size() != rhs.size()) return Collection{Value::Boolean(negate)};
    bool all = true;
    for (std::size_t i = 0; i < lhs.size(); ++i) {
      auto a = ToSystem(lhs[i]);
      auto b = ToSystem(rhs[i]);
      if (!a || !b) return Collection{};
      auto eq = ValuesEqual(*a, *b);
      if (!eq) return Collection{};
      if (!*eq) all = false;
    }
    return Collection{Value::Boolean(all != negate)};
  }

  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    if (lhs.empty() || rhs.empty()) return Collection{};
    if (lhs.size() > 1 || rhs.size() > 1) return EvalError("'" + op + "' on a collection");
    auto a = ToSystem(lhs[0]);
    auto b = ToSystem(rhs[0]);
    if (!a || !b) return Collection{};
    FOVEA_ASSIGN_OR_RETURN(std::optional<int> c, CompareValues(*a, *b));
    if (!c) return Collection{};
    bool r = op == "<" ? *c < 0 : op == ">" ? *c > 0 : op == "<=" ? *c <= 0 : *c >= 0;
    return Collection{Value::Boolean(r)};
  }

  if (op == "&") {
    if (lhs.size() > 1 || rhs.size() > 1) return EvalError("'&' on a collection");
    std::string s;
    for (const Collection* c : {&lhs, &rhs}) {
      if (c->empty()) continue;
      auto v = ToSystem((*c)[0]);
      if (!v) continue;
      if (v->kind() != Value::Kind::kString) return EvalError("'&' needs strings");
      s += v->text();
    }
    return Collection{Value::String(std::move(s))};
  }

  // Arithmetic.
  if (lhs.empty() || rhs.empty()) return Collection{};
  if (lhs.size() > 1 || rhs.size() > 1) return EvalError("'" + op + "' on a collection");
  auto a = ToSystem(lhs[0]);
  auto b = ToSystem(rhs[0]);
  if (!a || !b) return Collection{};
  using K = Value::Kind;
  if (op == "+" && a->kind() == K::kString && b->kind() == K::kString) {
    return Collection{Value::String(a->text() + b->text())};
  }
  if ((op == "+" || op == "-") && IsTemporal(*a) && b->kind() == K::kQuantity) {
    auto t = AsTemporal(*a);
    auto amount = Decimal::Parse(b->quantity().value);
    if (!t || !amount) return EvalError("malformed date/time or quantity");
    auto r = AddDuration(*t, op == "-" ? amount->Negated() : *amount, b->quantity().unit);
    if (!r) return EvalError("cannot add '" + b->quantity().unit + "' to a date/time");
    std::string text = r->ToString();
    if (a->kind() == K::kDate) return Collection{Value::Date(text)};
    if (a->kind() == K::kDateTime) return Collection{Value::DateTime(text)};
    return Collection{Value::Time(text)};
  }
  if (a->kind() == K::kInteger && b->kind() == K::kInteger && op != "/") {
    long long x = a->integer();
    long long y = b->integer();
    long long r = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &r)) return Collection{};
    } else if (op == "-") {
      if (__builtin_sub_overflow(x, y, &r)) return Collection{};
    } else if (op == "*") {
      if (__builtin_mul_overflow(x, y, &r)) return Collection{};
    } else if (op == "div") {
      if (y == 0) return Collection{};
      r = x / y;
    } else if (op == "mod") {
      if (y == 0) return Collection{};
      r = x % y;
    } else {
      return EvalError("unknown operator " + op);
    }
    return Collection{Value::Integer(r)};
  }
  if (IsNumber(*a) && IsNumber(*b)) {
    auto x = AsDecimal(*a);
    auto y = AsDecimal(*b);
    if (!x || !y) return EvalError("malformed decimal");
    if (op == "+") return Collection{Value::Decimal((*x + *y).ToString())};
    if (op == "-") return Collection{Value::Decimal((*x - *y).ToString())};
    if (op == "*") return Collection{Value::Decimal((*x * *y).ToString())};
    if (y->is_zero()) return Collection{};
    auto q = Divide(*x, *y);
    if (!q) return Collection{};
    if (op == "/") return Collection{Value::Decimal(q->ToString())};
    // Truncation toward zero.
    Decimal whole = x->negative() != y->negative() ? q->Ceiling(0) : q->Floor(0);
    if (op == "div") {
      auto i = whole.TruncatedInteger();
      if (!i) return Collection{};
      return Collection{Value::Integer(*i)};
    }
    if (op == "mod") return Collection{Value::Decimal((*x - whole * *y).ToString())};
    return EvalError("unknown operator " + op);
  }
  if (a->kind() == K::kQuantity || b->kind() == K::kQuantity) {
    auto quantity_of = [](const Value& v) -> std::optional<Quantity> {
      if (v.kind() == K::kQuantity) return v.quantity();
      if (IsNumber(v)) return Quantity{v.kind() == K::kInteger ? std::to_string(v.integer()) : v.text(), "1"};
      return std::nullopt;
    };
    auto qa = quantity_of(*a);
    auto qb = quantity_of(*b);
    if (!qa || !qb) return EvalError("'" + op + "' on a quantity and a " + std::string(b->type_name()));
    auto x = Decimal::Parse(qa->value);
    auto y = Decimal::Parse(qb->value);
    if (!x || !y) return EvalError("malformed quantity");
    if (op == "+" || op == "-") {
      auto n = CommonUnit(*qa, *qb);
      if (!n) return Collection{};
      if (qa->unit == qb->unit) {
        return Collection{Value::OfQuantity({(op == "+" ? *x + *y : *x - *y).ToString(), qa->unit})};
      }
      // Different but compatible units: the result is in the left operand's unit.
      Normalized one = Normalize(Decimal::FromInteger(1), qa->unit);
      auto sum = op == "+" ? n->a + n->b : n->a - n->b;
      auto back = Divide(sum, one.value);
      if (!back) return Collection{};
      return Collection{Value::OfQuantity({back->ToString(), qa->unit})};
    }
    if (op == "*" || op == "/") {
      Normalized nx = Normalize(*x, qa->unit);
      Normalized ny = Normalize(*y, qb->unit);
      bool same_dim = nx.dimension == ny.dimension && nx.dimension.rfind("unit:", 0) != 0;
      Decimal vx = same_dim ? nx.value : *x;
      Decimal vy = same_dim ? ny.value : *y;
      std::string ux = qa->unit;
      std::string uy = qb->unit;
      if (same_dim) {
        // Expressed in the dimension's base unit (the first table entry: g, m, L, s).
        static constexpr std::pair<std::string_view, std::string_view> kBase[] = {
            {"mass", "g"}, {"length", "m"}, {"volume", "L"}, {"time", "s"}, {"unity", "1"}};
        for (auto [dim, base] : kBase) {
          if (nx.dimension == dim) ux = uy = std::string(base);
        }
      }
      if (op == "*") {
        std::string unit = ux == "1" ? uy : uy == "1" ? ux : (ux == uy ? ux + "2" : ux + "." + uy);
        return Collection{Value::OfQuantity({(vx * vy).ToString(), unit})};
      }
      auto q = Divide(vx, vy);
      if (!q) return Collection{};
      std::string unit = ux == uy ? "1" : uy == "1" ? ux : ux + "/" + uy;
      return Collection{Value::OfQuantity({q->ToString(), unit})};
    }
    return EvalError("'" + op + "' is not defined for quantities");
  }
  return EvalError("'" + op + "' is not defined for " + std::string(a->type_name()) + " and " +
                   std::string(b->type_name()));
}

// ---- resolve() ----

const Element* Evaluator::Resolve(std::string_view reference) const {
  if (reference.empty()) return nullptr;
  auto id_of = [](const Element& r) -> std::string_view {
    const Element* id = r.Child("id");
    return id != nullptr && id->has_value() ? std::string_view(id->value()) : std::string_view();
  };
  if (reference[0] == '#') {
    std::string_view id = reference.substr(1);
    for (const Element* root : {ResourceVariable(), RootResourceVariable(), &focus_}) {
      if (id.empty()) return root;
      for (const Element& c : root->children()) {
        if (c.name() == "contained" && id_of(c) == id) return &c;
      }
    }
    return nullptr;
  }
  const Element* root = RootResourceVariable();
  if (ElementTypeName(*root) == "Bundle") {
    for (const Element& entry : root->children()) {
      if (entry.name() != "entry") continue;
      const Element* resource = entry.Child("resource");
      if (resource == nullptr) continue;
      const Element* full_url = entry.Child("fullUrl");
      if (full_url != nullptr && full_url->has_value() && full_url->value() == reference) {
        return resource;
      }
      std::string local = std::string(ElementTypeName(*resource)) + "/" + std::string(id_of(*resource));
      if (reference == local ||
          (reference.size() > local.size() &&
           reference.substr(reference.size() - local.size()) == local &&
           reference[reference.size() - local.size() - 1] == '/')) {
        return resource;
      }
    }
  }
  if (context_.resolver) return context_.resolver(reference);
  return nullptr;
}

}  // namespace fhir::fhirpath::detail
