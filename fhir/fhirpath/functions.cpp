// The FHIRPath function library (hl7.org/fhirpath/N1/#functions) and the FHIR additions
// (hl7.org/fhir/R4/fhirpath.html#functions). Each function gets its input collection and its
// unevaluated argument nodes: criteria and projections are evaluated per item, the others once
// in the caller's frame.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <string>

#include "common/hex.h"
#include "fhir/fhirpath/evaluator.h"
#include "fhir/fhirpath/parser.h"
#include "fhir/fhirpath/units.h"
#include "fhir/format/json_format.h"

namespace fhir::fhirpath::detail {

using common::Result;
using model::Element;
using K = Value::Kind;

namespace {

Collection Bool(bool b) { return Collection{Value::Boolean(b)}; }

Result<Collection> Arg(Evaluator& ev, const Node& call, std::size_t i, const Frame& frame) {
  if (i >= call.args.size()) return Collection{};
  return ev.Eval(*call.args[i], frame);
}

// The single input item as a System value: nullopt for an empty input; kInvalid for several.
Result<std::optional<Value>> Single(const Collection& input, const Node& call) {
  if (input.empty()) return std::optional<Value>();
  if (input.size() > 1) {
    return EvalError(call.name + "() expects a single item, got " + std::to_string(input.size()));
  }
  return ToSystem(input[0]);
}

Result<std::optional<Value>> SingleArg(Evaluator& ev, const Node& call, std::size_t i,
                                       const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection c, Arg(ev, call, i, frame));
  return Single(c, call);
}

Result<std::optional<std::string>> StringArg(Evaluator& ev, const Node& call, std::size_t i,
                                             const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, SingleArg(ev, call, i, frame));
  if (!v) return std::optional<std::string>();
  if (v->kind() != K::kString) return EvalError(call.name + "() expects a string argument");
  return std::optional<std::string>(v->text());
}

Result<std::optional<long long>> IntegerArg(Evaluator& ev, const Node& call, std::size_t i,
                                            const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, SingleArg(ev, call, i, frame));
  if (!v) return std::optional<long long>();
  if (v->kind() != K::kInteger) return EvalError(call.name + "() expects an integer argument");
  return std::optional<long long>(v->integer());
}

// The single input as a string (String-valued items only).
Result<std::optional<std::string>> StringInput(const Collection& input, const Node& call) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return std::optional<std::string>();
  if (v->kind() != K::kString) return EvalError(call.name + "() expects a string input");
  return std::optional<std::string>(v->text());
}

bool Contains(const Collection& c, const Value& v) {
  auto sv = ToSystem(v);
  for (const Value& o : c) {
    auto so = ToSystem(o);
    if (!sv || !so) {
      if (!sv && !so && o.kind() == K::kElement && v.kind() == K::kElement &&
          o.element() == v.element()) {
        return true;
      }
      continue;
    }
    auto eq = ValuesEqual(*sv, *so);
    if (eq && *eq) return true;
  }
  return false;
}

Collection Distinct(const Collection& c) {
  Collection out;
  for (const Value& v : c) {
    if (!Contains(out, v)) out.push_back(v);
  }
  return out;
}

// ---- existence ----

Result<Collection> FnEmpty(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return Bool(input.empty());
}

Result<Collection> FnExists(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  if (call.args.empty()) return Bool(!input.empty());
  for (std::size_t i = 0; i < input.size(); ++i) {
    FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*call.args[0], input[i], static_cast<long long>(i), frame));
    FOVEA_ASSIGN_OR_RETURN(std::optional<bool> b, SingletonBoolean(r, "exists"));
    if (b && *b) return Bool(true);
  }
  return Bool(false);
}

Result<Collection> FnAll(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  for (std::size_t i = 0; i < input.size(); ++i) {
    FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*call.args[0], input[i], static_cast<long long>(i), frame));
    FOVEA_ASSIGN_OR_RETURN(std::optional<bool> b, SingletonBoolean(r, "all"));
    if (!b || !*b) return Bool(false);
  }
  return Bool(true);
}

// allTrue/anyTrue/allFalse/anyFalse: every item must be a Boolean.
Result<Collection> BooleanAggregate(const Collection& input, const Node& call, bool want, bool all) {
  for (const Value& v : input) {
    auto s = ToSystem(v);
    if (!s) continue;
    if (s->kind() != K::kBoolean) return EvalError(call.name + "() expects booleans");
    if (all && s->boolean() != want) return Bool(false);
    if (!all && s->boolean() == want) return Bool(true);
  }
  return Bool(all);
}
Result<Collection> FnAllTrue(Evaluator&, const Node& c, const Collection& in, const Frame&) {
  return BooleanAggregate(in, c, true, true);
}
Result<Collection> FnAnyTrue(Evaluator&, const Node& c, const Collection& in, const Frame&) {
  return BooleanAggregate(in, c, true, false);
}
Result<Collection> FnAllFalse(Evaluator&, const Node& c, const Collection& in, const Frame&) {
  return BooleanAggregate(in, c, false, true);
}
Result<Collection> FnAnyFalse(Evaluator&, const Node& c, const Collection& in, const Frame&) {
  return BooleanAggregate(in, c, false, false);
}

Result<Collection> FnSubsetOf(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection other, Arg(ev, call, 0, frame));
  for (const Value& v : input) {
    if (!Contains(other, v)) return Bool(false);
  }
  return Bool(true);
}

Result<Collection> FnSupersetOf(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection other, Arg(ev, call, 0, frame));
  for (const Value& v : other) {
    if (!Contains(input, v)) return Bool(false);
  }
  return Bool(true);
}

Result<Collection> FnCount(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return Collection{Value::Integer(static_cast<long long>(input.size()))};
}

Result<Collection> FnDistinct(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return Distinct(input);
}

Result<Collection> FnIsDistinct(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return Bool(Distinct(input).size() == input.size());
}

// ---- filtering and projection ----

Result<Collection> FnWhere(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  Collection out;
  for (std::size_t i = 0; i < input.size(); ++i) {
    FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*call.args[0], input[i], static_cast<long long>(i), frame));
    FOVEA_ASSIGN_OR_RETURN(std::optional<bool> b, SingletonBoolean(r, "where"));
    if (b && *b) out.push_back(input[i]);
  }
  return out;
}

Result<Collection> FnSelect(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  Collection out;
  for (std::size_t i = 0; i < input.size(); ++i) {
    FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*call.args[0], input[i], static_cast<long long>(i), frame));
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

Result<Collection> FnRepeat(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  Collection out;
  Collection pending = input;
  // Bounded so that a projection producing ever-new values cannot run forever.
  for (int round = 0; !pending.empty() && round < 10000; ++round) {
    Collection next;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*call.args[0], pending[i], static_cast<long long>(i), frame));
      for (const Value& v : r) {
        if (Contains(out, v)) continue;
        out.push_back(v);
        next.push_back(v);
      }
    }
    pending = std::move(next);
  }
  return out;
}

Result<std::string> TypeArg(const Node& call) {
  std::string name = call.args.empty() ? std::string() : TypeSpecifierName(*call.args[0]);
  if (name.empty()) return EvalError(call.name + "() expects a type name");
  return name;
}

Result<Collection> FnOfType(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::string type, TypeArg(call));
  return FilterByType(input, type);
}

Result<Collection> FnIs(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::string type, TypeArg(call));
  if (input.empty()) return Collection{};
  if (input.size() > 1) return EvalError("is() on a collection of several items");
  auto m = MatchesType(input[0], type, false);
  if (!m) return EvalError("unknown type '" + type + "'");
  return Bool(*m);
}

Result<Collection> FnAs(Evaluator& ev, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::string type, TypeArg(call));
  if (input.empty()) return Collection{};
  if (input.size() > 1) {
    if (ev.context().as_filters_collections) return FilterByType(input, type);
    return EvalError("as() on a collection of several items");
  }
  auto m = MatchesType(input[0], type, true);
  if (!m) return EvalError("unknown type '" + type + "'");
  return *m ? input : Collection{};
}

Result<Collection> FnType(Evaluator&, const Node&, const Collection& input, const Frame&) {
  Collection out;
  for (const Value& v : input) {
    if (v.kind() == K::kElement) {
      out.push_back(Value::TypeInfo("FHIR", std::string(ElementTypeName(*v.element()))));
    } else {
      out.push_back(Value::TypeInfo("System", std::string(v.type_name())));
    }
  }
  return out;
}

// ---- subsetting ----

Result<Collection> FnSingle(Evaluator&, const Node&, const Collection& input, const Frame&) {
  if (input.size() > 1) return EvalError("single() on " + std::to_string(input.size()) + " items");
  return input;
}
Result<Collection> FnFirst(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return input.empty() ? Collection{} : Collection{input.front()};
}
Result<Collection> FnLast(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return input.empty() ? Collection{} : Collection{input.back()};
}
Result<Collection> FnTail(Evaluator&, const Node&, const Collection& input, const Frame&) {
  return input.size() <= 1 ? Collection{} : Collection(input.begin() + 1, input.end());
}
Result<Collection> FnSkip(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<long long> n, IntegerArg(ev, call, 0, frame));
  if (!n) return Collection{};
  if (*n <= 0) return input;
  if (static_cast<std::size_t>(*n) >= input.size()) return Collection{};
  return Collection(input.begin() + *n, input.end());
}
Result<Collection> FnTake(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<long long> n, IntegerArg(ev, call, 0, frame));
  if (!n || *n <= 0) return Collection{};
  if (static_cast<std::size_t>(*n) >= input.size()) return input;
  return Collection(input.begin(), input.begin() + *n);
}
Result<Collection> FnIntersect(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection other, Arg(ev, call, 0, frame));
  Collection out;
  for (const Value& v : input) {
    if (Contains(other, v) && !Contains(out, v)) out.push_back(v);
  }
  return out;
}
Result<Collection> FnExclude(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection other, Arg(ev, call, 0, frame));
  Collection out;
  for (const Value& v : input) {
    if (!Contains(other, v)) out.push_back(v);
  }
  return out;
}
Result<Collection> FnUnion(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection other, Arg(ev, call, 0, frame));
  Collection all = input;
  all.insert(all.end(), other.begin(), other.end());
  return Distinct(all);
}
Result<Collection> FnCombine(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(Collection other, Arg(ev, call, 0, frame));
  Collection all = input;
  all.insert(all.end(), other.begin(), other.end());
  return all;
}

Result<Collection> FnIif(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  if (input.size() > 1) return EvalError("iif() on a collection of several items");
  // Invoked on a collection (`x.iif(...)`), the arguments see that item as $this.
  Frame inner = frame;
  if (!input.empty()) inner.this_collection = &input;
  if (call.args.size() < 2) return EvalError("iif() needs a criterion and a result");
  FOVEA_ASSIGN_OR_RETURN(Collection c, ev.Eval(*call.args[0], inner));
  if (c.size() > 1) return EvalError("iif() criterion must be a single boolean");
  std::optional<bool> b;
  if (c.size() == 1) {
    auto v = ToSystem(c[0]);
    if (v && v->kind() != K::kBoolean) return EvalError("iif() criterion must be a boolean");
    if (v) b = v->boolean();
  }
  if (b && *b) return ev.Eval(*call.args[1], inner);
  if (call.args.size() > 2) return ev.Eval(*call.args[2], inner);
  return Collection{};
}

// ---- conversion ----

std::optional<Value> ConvertToBoolean(const Value& v) {
  switch (v.kind()) {
    case K::kBoolean: return v;
    case K::kInteger:
      if (v.integer() == 0 || v.integer() == 1) return Value::Boolean(v.integer() == 1);
      return std::nullopt;
    case K::kDecimal: {
      auto d = Decimal::Parse(v.text());
      if (d && Compare(*d, Decimal::FromInteger(1)) == 0) return Value::Boolean(true);
      if (d && d->is_zero()) return Value::Boolean(false);
      return std::nullopt;
    }
    case K::kString: {
      std::string s = v.text();
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
      if (s == "true" || s == "t" || s == "yes" || s == "y" || s == "1" || s == "1.0") return Value::Boolean(true);
      if (s == "false" || s == "f" || s == "no" || s == "n" || s == "0" || s == "0.0") return Value::Boolean(false);
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

bool IsIntegerLexeme(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i >= s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::optional<Value> ConvertToInteger(const Value& v) {
  switch (v.kind()) {
    case K::kInteger: return v;
    case K::kBoolean: return Value::Integer(v.boolean() ? 1 : 0);
    case K::kString: {
      if (!IsIntegerLexeme(v.text())) return std::nullopt;
      errno = 0;
      long long i = std::strtoll(v.text().c_str(), nullptr, 10);
      if (errno != 0) return std::nullopt;
      return Value::Integer(i);
    }
    default: return std::nullopt;
  }
}

bool IsDecimalLexeme(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (digits == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t frac = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac;
    if (frac == 0) return false;
  }
  return i == s.size();
}

std::optional<Value> ConvertToDecimal(const Value& v) {
  switch (v.kind()) {
    case K::kDecimal: return v;
    case K::kInteger: return Value::Decimal(std::to_string(v.integer()));
    case K::kBoolean: return Value::Decimal(v.boolean() ? "1.0" : "0.0");
    case K::kString: {
      if (!IsDecimalLexeme(v.text())) return std::nullopt;
      auto d = Decimal::Parse(v.text());
      if (!d) return std::nullopt;
      return Value::Decimal(d->ToString());
    }
    default: return std::nullopt;
  }
}

std::optional<Value> ConvertToQuantity(const Value& v) {
  switch (v.kind()) {
    case K::kQuantity: return v;
    case K::kInteger: return Value::OfQuantity({std::to_string(v.integer()), "1"});
    case K::kDecimal: return Value::OfQuantity({v.text(), "1"});
    case K::kBoolean: return Value::OfQuantity({v.boolean() ? "1.0" : "0.0", "1"});
    case K::kString: {
      // number, optional space, then 'ucum' or a calendar keyword
      const std::string& s = v.text();
      std::size_t i = 0;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      std::string number = s.substr(0, i);
      if (!IsDecimalLexeme(number)) return std::nullopt;
      while (i < s.size() && s[i] == ' ') ++i;
      std::string rest = s.substr(i);
      if (rest.empty()) return Value::OfQuantity({number, "1"});
      if (rest.size() >= 2 && rest.front() == '\'' && rest.back() == '\'') {
        return Value::OfQuantity({number, rest.substr(1, rest.size() - 2)});
      }
      if (IsCalendarUnit(rest)) return Value::OfQuantity({number, CanonicalCalendarUnit(rest)});
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

std::optional<Value> ConvertToString(const Value& v) {
  auto s = ToStringValue(v);
  if (!s) return std::nullopt;
  return Value::String(*s);
}

std::optional<Value> ConvertToTemporal(const Value& v, TemporalKind kind) {
  auto make = [kind](std::string text) {
    return kind == TemporalKind::kDate ? Value::Date(std::move(text))
           : kind == TemporalKind::kDateTime ? Value::DateTime(std::move(text))
                                              : Value::Time(std::move(text));
  };
  K want = kind == TemporalKind::kDate ? K::kDate : kind == TemporalKind::kDateTime ? K::kDateTime : K::kTime;
  if (v.kind() == want) return v;
  if (kind == TemporalKind::kDate && v.kind() == K::kDateTime) {
    auto t = Temporal::Parse(TemporalKind::kDateTime, v.text());
    if (!t) return std::nullopt;
    t->kind = TemporalKind::kDate;
    t->precision = std::min(t->precision, static_cast<int>(kDay));
    return make(t->ToString());
  }
  if (kind == TemporalKind::kDateTime && v.kind() == K::kDate) return make(v.text());
  if (v.kind() != K::kString) return std::nullopt;
  std::string text = v.text();
  if (kind == TemporalKind::kTime && !text.empty() && text[0] == 'T') text.erase(0, 1);
  auto t = Temporal::Parse(kind, text);
  if (!t) return std::nullopt;
  return make(t->ToString());
}

template <std::optional<Value> (*Convert)(const Value&)>
Result<Collection> FnTo(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return Collection{};
  auto r = Convert(*v);
  return r ? Collection{*r} : Collection{};
}

template <std::optional<Value> (*Convert)(const Value&)>
Result<Collection> FnConvertsTo(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return Collection{};
  return Bool(Convert(*v).has_value());
}

std::optional<Value> ToDateValue(const Value& v) { return ConvertToTemporal(v, TemporalKind::kDate); }
std::optional<Value> ToDateTimeValue(const Value& v) { return ConvertToTemporal(v, TemporalKind::kDateTime); }
std::optional<Value> ToTimeValue(const Value& v) { return ConvertToTemporal(v, TemporalKind::kTime); }

Result<Collection> FnToQuantity(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return Collection{};
  auto q = ConvertToQuantity(*v);
  if (!q) return Collection{};
  if (call.args.empty()) return Collection{*q};
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> unit, StringArg(ev, call, 0, frame));
  if (!unit) return Collection{};
  if (q->quantity().unit == *unit) return Collection{*q};
  auto value = Decimal::Parse(q->quantity().value);
  if (!value) return Collection{};
  Normalized from = Normalize(*value, q->quantity().unit);
  Normalized to = Normalize(Decimal::FromInteger(1), *unit);
  if (from.dimension != to.dimension) return Collection{};
  auto converted = Divide(from.value, to.value);
  if (!converted) return Collection{};
  return Collection{Value::OfQuantity({converted->ToString(), *unit})};
}

// ---- strings ----

Result<Collection> FnIndexOf(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> sub, StringArg(ev, call, 0, frame));
  if (!s || !sub) return Collection{};
  auto pos = s->find(*sub);
  return Collection{Value::Integer(pos == std::string::npos ? -1 : static_cast<long long>(pos))};
}

Result<Collection> FnSubstring(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<long long> start, IntegerArg(ev, call, 0, frame));
  if (!s || !start) return Collection{};
  if (*start < 0 || static_cast<std::size_t>(*start) >= s->size()) return Collection{};
  std::size_t len = std::string::npos;
  if (call.args.size() > 1) {
    FOVEA_ASSIGN_OR_RETURN(std::optional<long long> l, IntegerArg(ev, call, 1, frame));
    if (l) len = *l < 0 ? 0 : static_cast<std::size_t>(*l);
  }
  return Collection{Value::String(s->substr(static_cast<std::size_t>(*start), len))};
}

template <int kMode>  // 0 startsWith, 1 endsWith, 2 contains
Result<Collection> FnStringTest(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> arg, StringArg(ev, call, 0, frame));
  if (!s || !arg) return Collection{};
  if (kMode == 0) return Bool(s->rfind(*arg, 0) == 0);
  if (kMode == 1) return Bool(s->size() >= arg->size() && s->compare(s->size() - arg->size(), arg->size(), *arg) == 0);
  return Bool(s->find(*arg) != std::string::npos);
}

template <bool kUpper>
Result<Collection> FnCase(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  if (!s) return Collection{};
  for (char& c : *s) {
    c = static_cast<char>(kUpper ? std::toupper(static_cast<unsigned char>(c))
                                 : std::tolower(static_cast<unsigned char>(c)));
  }
  return Collection{Value::String(*s)};
}

Result<Collection> FnReplace(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> pattern, StringArg(ev, call, 0, frame));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> with, StringArg(ev, call, 1, frame));
  if (!s || !pattern || !with) return Collection{};
  std::string out;
  if (pattern->empty()) {
    // Inserts the substitution around every character.
    out = *with;
    for (char c : *s) {
      out += c;
      out += *with;
    }
    return Collection{Value::String(out)};
  }
  std::size_t pos = 0;
  while (true) {
    std::size_t hit = s->find(*pattern, pos);
    if (hit == std::string::npos) break;
    out.append(*s, pos, hit - pos);
    out += *with;
    pos = hit + pattern->size();
  }
  out.append(*s, pos);
  return Collection{Value::String(out)};
}

// FHIRPath regexes run in single-line mode ('.' matches a newline too), which ECMAScript
// regexes lack: an unescaped '.' outside a class becomes [\s\S].
std::string SingleLineMode(const std::string& pattern) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      out += c;
      out += pattern[++i];
      continue;
    }
    if (c == '[') in_class = true;
    if (c == ']') in_class = false;
    if (c == '.' && !in_class) {
      out += "[\\s\\S]";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::regex> MakeRegex(const std::string& pattern) {
  try {
    return std::regex(SingleLineMode(pattern), std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return EvalError("invalid regular expression");
  }
}

template <bool kFull>
Result<Collection> FnMatches(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> pattern, StringArg(ev, call, 0, frame));
  if (!s || !pattern) return Collection{};
  FOVEA_ASSIGN_OR_RETURN(std::regex re, MakeRegex(*pattern));
  return Bool(kFull ? std::regex_match(*s, re) : std::regex_search(*s, re));
}

Result<Collection> FnReplaceMatches(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> pattern, StringArg(ev, call, 0, frame));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> with, StringArg(ev, call, 1, frame));
  if (!s || !pattern || !with) return Collection{};
  if (pattern->empty()) return Collection{Value::String(*s)};
  FOVEA_ASSIGN_OR_RETURN(std::regex re, MakeRegex(*pattern));
  return Collection{Value::String(std::regex_replace(*s, re, *with))};
}

Result<Collection> FnLength(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  if (!s) return Collection{};
  return Collection{Value::Integer(static_cast<long long>(s->size()))};
}

Result<Collection> FnToChars(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  if (!s) return Collection{};
  Collection out;
  for (char c : *s) out.push_back(Value::String(std::string(1, c)));
  return out;
}

Result<Collection> FnSplit(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> sep, StringArg(ev, call, 0, frame));
  if (!s || !sep) return Collection{};
  Collection out;
  if (sep->empty()) {
    for (char c : *s) out.push_back(Value::String(std::string(1, c)));
    return out;
  }
  std::size_t pos = 0;
  while (true) {
    std::size_t hit = s->find(*sep, pos);
    out.push_back(Value::String(s->substr(pos, hit == std::string::npos ? std::string::npos : hit - pos)));
    if (hit == std::string::npos) break;
    pos = hit + sep->size();
  }
  return out;
}

Result<Collection> FnJoin(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  std::string sep;
  if (!call.args.empty()) {
    FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringArg(ev, call, 0, frame));
    if (s) sep = *s;
  }
  std::string out;
  bool first = true;
  for (const Value& v : input) {
    auto s = ToSystem(v);
    if (!s) continue;
    if (s->kind() != K::kString) return EvalError("join() expects strings");
    if (!first) out += sep;
    out += s->text();
    first = false;
  }
  return Collection{Value::String(out)};
}

Result<Collection> FnTrim(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  if (!s) return Collection{};
  std::size_t b = 0;
  std::size_t e = s->size();
  while (b < e && std::isspace(static_cast<unsigned char>((*s)[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>((*s)[e - 1]))) --e;
  return Collection{Value::String(s->substr(b, e - b))};
}

constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64Encode(std::string_view in, bool url) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int k = 3; k >= 0; --k) out += kBase64[(v >> (6 * k)) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  if (url) {
    for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    if (c == '-') c = '+';
    if (c == '_') c = '/';
    auto p = kBase64.find(c);
    if (p == std::string_view::npos) return std::nullopt;
    buf = (buf << 6) | static_cast<unsigned>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buf >> bits) & 0xFF);
    }
  }
  return out;
}

template <bool kEncode>
Result<Collection> FnEncode(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> format, StringArg(ev, call, 0, frame));
  if (!s || !format) return Collection{};
  if (*format == "base64" || *format == "urlbase64") {
    if (kEncode) return Collection{Value::String(Base64Encode(*s, *format == "urlbase64"))};
    auto d = Base64Decode(*s);
    return d ? Collection{Value::String(*d)} : Collection{};
  }
  if (*format == "hex") {
    if (kEncode) return Collection{Value::String(common::HexEncode(*s))};
    auto d = common::HexDecode(*s);  // not hex: empty, as for base64
    return d ? Collection{Value::String(*d)} : Collection{};
  }
  return Collection{};
}

template <bool kEscape>
Result<Collection> FnEscape(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> s, StringInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> format, StringArg(ev, call, 0, frame));
  if (!s || !format) return Collection{};
  static constexpr std::pair<std::string_view, std::string_view> kHtml[] = {
      {"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}, {"'", "&#39;"}};
  static constexpr std::pair<std::string_view, std::string_view> kJson[] = {
      {"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}, {"\r", "\\r"}, {"\t", "\\t"}};
  auto table = *format == "html" ? std::begin(kHtml) : *format == "json" ? std::begin(kJson) : nullptr;
  auto table_end = *format == "html" ? std::end(kHtml) : std::end(kJson);
  if (table == nullptr) return Collection{};
  std::string out;
  for (std::size_t i = 0; i < s->size();) {
    bool done = false;
    for (auto it = table; it != table_end && !done; ++it) {
      std::string_view from = kEscape ? it->first : it->second;
      std::string_view to = kEscape ? it->second : it->first;
      if (std::string_view(*s).substr(i, from.size()) == from) {
        out += to;
        i += from.size();
        done = true;
      }
    }
    if (!done) out += (*s)[i++];
  }
  return Collection{Value::String(out)};
}

// ---- math ----

Result<std::optional<Value>> NumberInput(const Collection& input, const Node& call) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return v;
  if (v->kind() != K::kInteger && v->kind() != K::kDecimal && v->kind() != K::kQuantity) {
    return EvalError(call.name + "() expects a number");
  }
  return v;
}

Result<Collection> FnAbs(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, NumberInput(input, call));
  if (!v) return Collection{};
  if (v->kind() == K::kInteger) return Collection{Value::Integer(v->integer() < 0 ? -v->integer() : v->integer())};
  if (v->kind() == K::kQuantity) {
    auto d = Decimal::Parse(v->quantity().value);
    if (!d) return Collection{};
    return Collection{Value::OfQuantity({d->Abs().ToString(), v->quantity().unit})};
  }
  auto d = AsDecimal(*v);
  if (!d) return Collection{};
  return Collection{Value::Decimal(d->Abs().ToString())};
}

template <int kMode>  // 0 ceiling, 1 floor, 2 truncate
Result<Collection> FnRounding(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, NumberInput(input, call));
  if (!v) return Collection{};
  if (v->kind() == K::kInteger) return Collection{*v};
  auto d = AsDecimal(*v);
  if (!d) return EvalError(call.name + "() expects a number");
  Decimal r = kMode == 0 ? d->Ceiling(0) : kMode == 1 ? d->Floor(0) : (d->negative() ? d->Ceiling(0) : d->Floor(0));
  auto i = r.TruncatedInteger();
  if (!i) return Collection{};
  return Collection{Value::Integer(*i)};
}

Result<Collection> FnRound(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, NumberInput(input, call));
  if (!v) return Collection{};
  long long precision = 0;
  if (!call.args.empty()) {
    FOVEA_ASSIGN_OR_RETURN(std::optional<long long> p, IntegerArg(ev, call, 0, frame));
    if (!p) return Collection{};
    if (*p < 0) return EvalError("round() precision must not be negative");
    precision = *p;
  }
  auto d = AsDecimal(*v);
  if (!d) return EvalError("round() expects a number");
  return Collection{Value::Decimal(d->Rescaled(static_cast<int>(std::min(precision, 28LL))).ToString())};
}

// exp, ln, sqrt: through long double, rounded to kDivisionScale digits.
template <int kMode>  // 0 exp, 1 ln, 2 sqrt
Result<Collection> FnTranscendental(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, NumberInput(input, call));
  if (!v) return Collection{};
  auto d = AsDecimal(*v);
  if (!d) return EvalError(call.name + "() expects a number");
  long double x = d->ToLongDouble();
  long double r = kMode == 0 ? std::exp(x) : kMode == 1 ? std::log(x) : std::sqrt(x);
  auto out = Decimal::FromLongDouble(r, Decimal::kDivisionScale, 1);
  if (!out) return Collection{};
  return Collection{Value::Decimal(out->ToString())};
}

Result<Collection> FnLog(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, NumberInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> base, SingleArg(ev, call, 0, frame));
  if (!v || !base) return Collection{};
  auto x = AsDecimal(*v);
  auto b = AsDecimal(*base);
  if (!x || !b) return EvalError("log() expects numbers");
  long double r = std::log(x->ToLongDouble()) / std::log(b->ToLongDouble());
  auto out = Decimal::FromLongDouble(r, Decimal::kDivisionScale, 1);
  if (!out) return Collection{};
  return Collection{Value::Decimal(out->ToString())};
}

Result<Collection> FnPower(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, NumberInput(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> e, SingleArg(ev, call, 0, frame));
  if (!v || !e) return Collection{};
  if (v->kind() == K::kInteger && e->kind() == K::kInteger && e->integer() >= 0) {
    long long r = 1;
    for (long long i = 0; i < e->integer(); ++i) {
      if (__builtin_mul_overflow(r, v->integer(), &r)) return Collection{};
    }
    return Collection{Value::Integer(r)};
  }
  auto x = AsDecimal(*v);
  auto y = AsDecimal(*e);
  if (!x || !y) return EvalError("power() expects numbers");
  long double r = std::pow(x->ToLongDouble(), y->ToLongDouble());
  auto out = Decimal::FromLongDouble(r, Decimal::kDivisionScale, 1);
  if (!out) return Collection{};
  return Collection{Value::Decimal(out->ToString())};
}

// ---- tree navigation ----

void AppendChildren(const Value& v, Collection& out) {
  if (v.kind() != K::kElement) return;
  for (const Element& c : v.element()->children()) out.push_back(Value::OfElement(&c));
}

Result<Collection> FnChildren(Evaluator&, const Node&, const Collection& input, const Frame&) {
  Collection out;
  for (const Value& v : input) AppendChildren(v, out);
  return out;
}

Result<Collection> FnDescendants(Evaluator&, const Node&, const Collection& input, const Frame&) {
  Collection out;
  Collection level;
  for (const Value& v : input) AppendChildren(v, level);
  while (!level.empty()) {
    Collection next;
    for (const Value& v : level) {
      out.push_back(v);
      AppendChildren(v, next);
    }
    level = std::move(next);
  }
  return out;
}

// ---- utility ----

Result<Collection> FnTrace(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  // No logging sink is part of the evaluation context; the arguments are still checked.
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> name, StringArg(ev, call, 0, frame));
  (void)name;
  return input;
}

Result<Collection> FnNow(Evaluator&, const Node&, const Collection&, const Frame&) {
  return Collection{Value::DateTime(Now().ToString())};
}

Result<Collection> FnToday(Evaluator&, const Node&, const Collection&, const Frame&) {
  Temporal t = Now();
  t.kind = TemporalKind::kDate;
  t.precision = kDay;
  return Collection{Value::Date(t.ToString())};
}

Result<Collection> FnTimeOfDay(Evaluator&, const Node&, const Collection&, const Frame&) {
  Temporal t = Now();
  t.kind = TemporalKind::kTime;
  return Collection{Value::Time(t.ToString())};
}

Result<Collection> FnNot(Evaluator&, const Node&, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<bool> b, SingletonBoolean(input, "not"));
  if (!b) return Collection{};
  return Bool(!*b);
}

Result<Collection> FnAggregate(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  Collection total;
  if (call.args.size() > 1) {
    FOVEA_ASSIGN_OR_RETURN(total, Arg(ev, call, 1, frame));
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    Frame inner = frame;
    inner.total = &total;
    FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*call.args[0], input[i], static_cast<long long>(i), inner));
    total = std::move(r);
  }
  return total;
}

Result<Collection> FnSort(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  struct Keyed {
    Value item;
    std::vector<std::optional<Value>> keys;
  };
  std::vector<Keyed> rows;
  std::vector<bool> descending;
  std::vector<const Node*> key_nodes;
  for (const auto& arg : call.args) {
    bool desc = arg->kind == NodeKind::kUnary && arg->name == "-";
    descending.push_back(desc);
    key_nodes.push_back(desc ? arg->args[0].get() : arg.get());
  }
  for (std::size_t i = 0; i < input.size(); ++i) {
    Keyed row{input[i], {}};
    if (key_nodes.empty()) {
      row.keys.push_back(ToSystem(input[i]));
    }
    for (const Node* k : key_nodes) {
      FOVEA_ASSIGN_OR_RETURN(Collection r, ev.EvalWithItem(*k, input[i], static_cast<long long>(i), frame));
      if (r.size() > 1) return EvalError("sort() key must be a single value");
      row.keys.push_back(r.empty() ? std::nullopt : ToSystem(r[0]));
    }
    rows.push_back(std::move(row));
  }
  common::Status error;
  std::stable_sort(rows.begin(), rows.end(), [&](const Keyed& a, const Keyed& b) {
    for (std::size_t k = 0; k < a.keys.size(); ++k) {
      bool desc = k < descending.size() && descending[k];
      const auto& x = a.keys[k];
      const auto& y = b.keys[k];
      if (!x || !y) {
        if (x.has_value() == y.has_value()) continue;
        return !x.has_value();  // empty keys sort first in either direction
      }
      auto c = CompareValues(*x, *y);
      if (!c.has_value()) {
        error = c.error();
        return false;
      }
      if (!*c || **c == 0) continue;
      return desc ? **c > 0 : **c < 0;
    }
    return false;
  });
  if (!error.ok()) return error;
  Collection out;
  for (auto& r : rows) out.push_back(std::move(r.item));
  return out;
}

// ---- FHIR functions ----

Result<Collection> FnExtension(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> url, StringArg(ev, call, 0, frame));
  if (!url) return Collection{};
  Collection out;
  for (const Value& v : input) {
    if (v.kind() != K::kElement) continue;
    for (const Element& c : v.element()->children()) {
      if (c.name() != "extension" && c.name() != "modifierExtension") continue;
      const Element* u = c.Child("url");
      if (u != nullptr && u->has_value() && u->value() == *url) out.push_back(Value::OfElement(&c));
    }
  }
  return out;
}

Result<Collection> FnHasValue(Evaluator&, const Node&, const Collection& input, const Frame&) {
  if (input.size() != 1 || input[0].kind() != K::kElement) return Bool(false);
  const Element& e = *input[0].element();
  return Bool(e.type() != nullptr && e.type()->is_primitive() && e.has_value());
}

Result<Collection> FnGetValue(Evaluator&, const Node&, const Collection& input, const Frame&) {
  if (input.size() != 1 || input[0].kind() != K::kElement) return Collection{};
  const Element& e = *input[0].element();
  if (e.type() == nullptr || !e.type()->is_primitive() || !e.has_value()) return Collection{};
  auto v = ToSystem(input[0]);
  return v ? Collection{*v} : Collection{};
}

Result<Collection> FnResolve(Evaluator& ev, const Node&, const Collection& input, const Frame&) {
  Collection out;
  for (const Value& v : input) {
    std::string ref;
    if (v.kind() == K::kElement && ElementTypeName(*v.element()) == "Reference") {
      const Element* r = v.element()->Child("reference");
      if (r == nullptr || !r->has_value()) continue;
      ref = r->value();
    } else if (auto s = ToSystem(v); s && s->kind() == K::kString) {
      ref = s->text();
    } else {
      continue;
    }
    if (const Element* target = ev.Resolve(ref)) out.push_back(Value::OfElement(target));
  }
  return out;
}

Result<Collection> FnMemberOf(Evaluator&, const Node&, const Collection&, const Frame&) {
  // No terminology service: membership is unknown.
  return Collection{};
}

Result<Collection> FnConformsTo(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<std::string> url, StringArg(ev, call, 0, frame));
  if (!url || input.empty()) return Collection{};
  if (input.size() > 1) return EvalError("conformsTo() on a collection of several items");
  // Only the base specification's profiles are known here: a core type conforms to its own
  // StructureDefinition and its ancestors'. Other profiles need validation data we do not hold.
  constexpr std::string_view kCore = "http://hl7.org/fhir/StructureDefinition/";
  if (url->rfind(kCore, 0) != 0) return EvalError("unknown profile '" + *url + "'");
  std::string type = url->substr(kCore.size());
  auto m = MatchesType(input[0], "FHIR." + type, false);
  if (!m) return EvalError("unknown profile '" + *url + "'");
  return Bool(*m);
}

Result<Collection> FnHtmlChecks(Evaluator&, const Node&, const Collection&, const Frame&) {
  // Narrative is checked by the validator, not here.
  return Bool(true);
}

// ---- FHIRPath 2.1 precision functions ----

template <bool kHigh>
Result<Collection> FnBoundary(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return Collection{};
  std::optional<long long> digits;
  if (!call.args.empty()) {
    FOVEA_ASSIGN_OR_RETURN(digits, IntegerArg(ev, call, 0, frame));
    if (!digits) return Collection{};
  }
  if (auto t = AsTemporal(*v)) {
    int d = digits ? static_cast<int>(*digits) : (t->kind == TemporalKind::kDate ? 8 : t->kind == TemporalKind::kTime ? 9 : 17);
    auto b = Boundary(*t, d, kHigh);
    if (!b) return Collection{};
    std::string text = b->ToString();
    if (v->kind() == K::kDate) return Collection{Value::Date(text)};
    if (v->kind() == K::kTime) return Collection{Value::Time(text)};
    return Collection{Value::DateTime(text)};
  }
  std::optional<Decimal> d;
  std::string unit;
  if (v->kind() == K::kQuantity) {
    d = Decimal::Parse(v->quantity().value);
    unit = v->quantity().unit;
  } else {
    d = AsDecimal(*v);
  }
  if (!d) return EvalError(call.name + "() expects a number, date or time");
  int scale = digits ? static_cast<int>(*digits) : 8;
  if (scale < 0 || scale > 28) return Collection{};
  // The value stands for the interval of +/- half a unit in its last digit (an Integer: of 1);
  // the boundary is that edge, exact when more digits are asked for, else rounded outward.
  int own = v->kind() == K::kInteger ? 0 : d->scale();
  Decimal half = *Decimal::Parse("0." + std::string(static_cast<std::size_t>(own), '0') + "5");
  Decimal edge = kHigh ? *d + half : *d - half;
  Decimal r = scale > own ? edge.Rescaled(scale) : (kHigh ? edge.Ceiling(scale) : edge.Floor(scale));
  if (!unit.empty()) return Collection{Value::OfQuantity({r.ToString(), unit})};
  return Collection{Value::Decimal(r.ToString())};
}

Result<Collection> FnPrecision(Evaluator&, const Node& call, const Collection& input, const Frame&) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  if (!v) return Collection{};
  if (auto t = AsTemporal(*v)) return Collection{Value::Integer(t->DigitCount())};
  if (v->kind() == K::kDecimal) {
    auto d = Decimal::Parse(v->text());
    if (!d) return Collection{};
    return Collection{Value::Integer(d->scale())};
  }
  if (v->kind() == K::kInteger) return Collection{Value::Integer(0)};
  return Collection{};
}

Result<Collection> FnComparable(Evaluator& ev, const Node& call, const Collection& input, const Frame& frame) {
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> v, Single(input, call));
  FOVEA_ASSIGN_OR_RETURN(std::optional<Value> o, SingleArg(ev, call, 0, frame));
  if (!v || !o) return Collection{};
  if (v->kind() != K::kQuantity || o->kind() != K::kQuantity) return EvalError("comparable() expects quantities");
  return Bool(LookupUnit(v->quantity().unit).dimension == LookupUnit(o->quantity().unit).dimension);
}

struct Entry {
  std::string_view name;
  int min_args;
  int max_args;
  Builtin fn;
};

constexpr Entry kBuiltins[] = {
    {"empty", 0, 0, FnEmpty},
    {"exists", 0, 1, FnExists},
    {"all", 1, 1, FnAll},
    {"allTrue", 0, 0, FnAllTrue},
    {"anyTrue", 0, 0, FnAnyTrue},
    {"allFalse", 0, 0, FnAllFalse},
    {"anyFalse", 0, 0, FnAnyFalse},
    {"subsetOf", 1, 1, FnSubsetOf},
    {"supersetOf", 1, 1, FnSupersetOf},
    {"count", 0, 0, FnCount},
    {"distinct", 0, 0, FnDistinct},
    {"isDistinct", 0, 0, FnIsDistinct},
    {"where", 1, 1, FnWhere},
    {"select", 1, 1, FnSelect},
    {"repeat", 1, 1, FnRepeat},
    {"ofType", 1, 1, FnOfType},
    {"is", 1, 1, FnIs},
    {"as", 1, 1, FnAs},
    {"type", 0, 0, FnType},
    {"single", 0, 0, FnSingle},
    {"first", 0, 0, FnFirst},
    {"last", 0, 0, FnLast},
    {"tail", 0, 0, FnTail},
    {"skip", 1, 1, FnSkip},
    {"take", 1, 1, FnTake},
    {"intersect", 1, 1, FnIntersect},
    {"exclude", 1, 1, FnExclude},
    {"union", 1, 1, FnUnion},
    {"combine", 1, 1, FnCombine},
    {"iif", 2, 3, FnIif},
    {"toBoolean", 0, 0, FnTo<ConvertToBoolean>},
    {"convertsToBoolean", 0, 0, FnConvertsTo<ConvertToBoolean>},
    {"toInteger", 0, 0, FnTo<ConvertToInteger>},
    {"convertsToInteger", 0, 0, FnConvertsTo<ConvertToInteger>},
    {"toDecimal", 0, 0, FnTo<ConvertToDecimal>},
    {"convertsToDecimal", 0, 0, FnConvertsTo<ConvertToDecimal>},
    {"toQuantity", 0, 1, FnToQuantity},
    {"convertsToQuantity", 0, 1, FnConvertsTo<ConvertToQuantity>},
    {"toString", 0, 0, FnTo<ConvertToString>},
    {"convertsToString", 0, 0, FnConvertsTo<ConvertToString>},
    {"toDate", 0, 0, FnTo<ToDateValue>},
    {"convertsToDate", 0, 0, FnConvertsTo<ToDateValue>},
    {"toDateTime", 0, 0, FnTo<ToDateTimeValue>},
    {"convertsToDateTime", 0, 0, FnConvertsTo<ToDateTimeValue>},
    {"toTime", 0, 0, FnTo<ToTimeValue>},
    {"convertsToTime", 0, 0, FnConvertsTo<ToTimeValue>},
    {"indexOf", 1, 1, FnIndexOf},
    {"substring", 1, 2, FnSubstring},
    {"startsWith", 1, 1, FnStringTest<0>},
    {"endsWith", 1, 1, FnStringTest<1>},
    {"contains", 1, 1, FnStringTest<2>},
    {"upper", 0, 0, FnCase<true>},
    {"lower", 0, 0, FnCase<false>},
    {"replace", 2, 2, FnReplace},
    {"matches", 1, 1, FnMatches<false>},
    {"matchesFull", 1, 1, FnMatches<true>},
    {"replaceMatches", 2, 2, FnReplaceMatches},
    {"length", 0, 0, FnLength},
    {"toChars", 0, 0, FnToChars},
    {"split", 1, 1, FnSplit},
    {"join", 0, 1, FnJoin},
    {"trim", 0, 0, FnTrim},
    {"encode", 1, 1, FnEncode<true>},
    {"decode", 1, 1, FnEncode<false>},
    {"escape", 1, 1, FnEscape<true>},
    {"unescape", 1, 1, FnEscape<false>},
    {"abs", 0, 0, FnAbs},
    {"ceiling", 0, 0, FnRounding<0>},
    {"floor", 0, 0, FnRounding<1>},
    {"truncate", 0, 0, FnRounding<2>},
    {"round", 0, 1, FnRound},
    {"exp", 0, 0, FnTranscendental<0>},
    {"ln", 0, 0, FnTranscendental<1>},
    {"sqrt", 0, 0, FnTranscendental<2>},
    {"log", 1, 1, FnLog},
    {"power", 1, 1, FnPower},
    {"children", 0, 0, FnChildren},
    {"descendants", 0, 0, FnDescendants},
    {"trace", 1, 2, FnTrace},
    {"now", 0, 0, FnNow},
    {"today", 0, 0, FnToday},
    {"timeOfDay", 0, 0, FnTimeOfDay},
    {"not", 0, 0, FnNot},
    {"aggregate", 1, 2, FnAggregate},
    {"sort", 0, 8, FnSort},
    {"extension", 1, 1, FnExtension},
    {"hasValue", 0, 0, FnHasValue},
    {"getValue", 0, 0, FnGetValue},
    {"resolve", 0, 0, FnResolve},
    {"memberOf", 1, 1, FnMemberOf},
    {"conformsTo", 1, 1, FnConformsTo},
    {"htmlChecks", 0, 0, FnHtmlChecks},
    {"lowBoundary", 0, 1, FnBoundary<false>},
    {"highBoundary", 0, 1, FnBoundary<true>},
    {"precision", 0, 0, FnPrecision},
    {"comparable", 1, 1, FnComparable},
};

}  // namespace

int FindBuiltin(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kBuiltins); ++i) {
    if (kBuiltins[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Builtin BuiltinAt(int index) { return kBuiltins[index].fn; }

common::Status ResolveFunctions(Node& node) {
  for (auto& a : node.args) FOVEA_RETURN_IF_ERROR(ResolveFunctions(*a));
  if (node.kind != NodeKind::kFunction) return common::Status::Ok();
  int i = FindBuiltin(node.name);
  if (i < 0) {
    return common::InvalidError("FHIRPath error at offset " + std::to_string(node.pos) +
                                ": unknown function '" + node.name + "'");
  }
  int n = static_cast<int>(node.args.size());
  if (n < kBuiltins[i].min_args || n > kBuiltins[i].max_args) {
    return common::InvalidError("FHIRPath error at offset " + std::to_string(node.pos) + ": " +
                                node.name + "() takes " + std::to_string(kBuiltins[i].min_args) +
                                (kBuiltins[i].max_args != kBuiltins[i].min_args
                                     ? " to " + std::to_string(kBuiltins[i].max_args)
                                     : std::string()) +
                                " arguments, got " + std::to_string(n));
  }
  node.builtin = i;
  return common::Status::Ok();
}

}  // namespace fhir::fhirpath::detail
