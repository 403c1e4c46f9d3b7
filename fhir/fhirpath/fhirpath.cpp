#include "fhir/fhirpath/fhirpath.h"

#include <mutex>
#include <unordered_map>

#include "common/json.h"
#include "fhir/fhirpath/ast.h"
#include "fhir/fhirpath/evaluator.h"
#include "fhir/fhirpath/parser.h"
#include "fhir/format/json_format.h"

namespace fhir::fhirpath {

// ---- Value ----

Value Value::OfElement(const model::Element* e) {
  Value v;
  v.kind_ = Kind::kElement;
  v.element_ = e;
  return v;
}

Value Value::Boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBoolean;
  v.boolean_ = b;
  return v;
}

Value Value::Integer(long long i) {
  Value v;
  v.kind_ = Kind::kInteger;
  v.integer_ = i;
  return v;
}

#define FOVEA_FHIRPATH_TEXT_FACTORY(Name, KindValue) \
  Value Value::Name(std::string text) {              \
    Value v;                                         \
    v.kind_ = Kind::KindValue;                       \
    v.text_ = std::move(text);                       \
    return v;                                        \
  }
FOVEA_FHIRPATH_TEXT_FACTORY(Decimal, kDecimal)
FOVEA_FHIRPATH_TEXT_FACTORY(String, kString)
FOVEA_FHIRPATH_TEXT_FACTORY(Date, kDate)
FOVEA_FHIRPATH_TEXT_FACTORY(DateTime, kDateTime)
FOVEA_FHIRPATH_TEXT_FACTORY(Time, kTime)
#undef FOVEA_FHIRPATH_TEXT_FACTORY

Value Value::OfQuantity(Quantity q) {
  Value v;
  v.kind_ = Kind::kQuantity;
  v.quantity_ = std::move(q);
  return v;
}

Value Value::TypeInfo(std::string type_namespace, std::string name) {
  Value v = String(std::move(name));
  v.type_namespace_ = std::move(type_namespace);
  return v;
}

std::string_view Value::type_name() const {
  switch (kind_) {
    case Kind::kElement: return detail::ElementTypeName(*element_);
    case Kind::kBoolean: return "Boolean";
    case Kind::kInteger: return "Integer";
    case Kind::kDecimal: return "Decimal";
    case Kind::kString: return "String";
    case Kind::kDate: return "Date";
    case Kind::kDateTime: return "DateTime";
    case Kind::kTime: return "Time";
    case Kind::kQuantity: return "Quantity";
  }
  return {};
}

const std::string& Value::text() const {
  static const std::string kEmpty;
  if (kind_ == Kind::kElement) return element_->has_value() ? element_->value() : kEmpty;
  return text_;
}

// ---- compile ----

namespace {

class CompiledExpression final : public Expression {
 public:
  CompiledExpression(std::string text, std::unique_ptr<detail::Node> root)
      : text_(std::move(text)), root_(std::move(root)) {}
  const std::string& text() const override { return text_; }
  const detail::Node& root() const { return *root_; }

 private:
  std::string text_;
  std::unique_ptr<const detail::Node> root_;
};

// Bounded: expressions come from search parameters, invariants and subscriptions (a few
// thousand at most); past the bound the cache is simply cleared, which only costs recompiles.
constexpr std::size_t kMaxCachedExpressions = 4096;

struct ExpressionCache {
  std::mutex mutex;
  std::unordered_map<std::string, std::shared_ptr<const Expression>> map;  // guarded by mutex
};

ExpressionCache& Cache() {
  static ExpressionCache* cache = new ExpressionCache();  // never destroyed: used until exit
  return *cache;
}

}  // namespace

common::Result<std::shared_ptr<const Expression>> Compile(std::string_view text) {
  FOVEA_ASSIGN_OR_RETURN(std::unique_ptr<detail::Node> root, detail::Parse(text));
  FOVEA_RETURN_IF_ERROR(detail::ResolveFunctions(*root));
  return std::shared_ptr<const Expression>(
      std::make_shared<CompiledExpression>(std::string(text), std::move(root)));
}

common::Result<std::shared_ptr<const Expression>> CompileCached(std::string_view text) {
  ExpressionCache& cache = Cache();
  std::string key(text);
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.map.find(key); it != cache.map.end()) return it->second;
  }
  // Compiled outside the lock; if two threads race, the first insert wins and both return it.
  FOVEA_ASSIGN_OR_RETURN(std::shared_ptr<const Expression> compiled, Compile(text));
  std::lock_guard<std::mutex> lock(cache.mutex);
  if (cache.map.size() >= kMaxCachedExpressions) cache.map.clear();
  auto [it, inserted] = cache.map.emplace(std::move(key), std::move(compiled));
  return it->second;
}

// ---- evaluate ----

common::Result<Collection> Evaluate(const Expression& expression, const model::Element& focus,
                                    const EvaluationContext& context) {
  const auto* compiled = dynamic_cast<const CompiledExpression*>(&expression);
  if (compiled == nullptr) return common::InternalError("expression was not made by Compile()");
  detail::Evaluator evaluator(context, focus);
  return evaluator.Run(compiled->root());
}

// ---- output ----

std::string CollectionToJson(const Collection& collection) {
  std::string out = "[";
  bool first = true;
  for (const Value& v : collection) {
    if (!first) out += ',';
    first = false;
    switch (v.kind()) {
      case Value::Kind::kElement: format::AppendElementJson(out, *v.element()); break;
      case Value::Kind::kBoolean: out += v.boolean() ? "true" : "false"; break;
      case Value::Kind::kInteger: out += std::to_string(v.integer()); break;
      case Value::Kind::kDecimal: out += v.text(); break;
      case Value::Kind::kString:
      case Value::Kind::kDate:
      case Value::Kind::kDateTime:
      case Value::Kind::kTime: common::AppendJsonString(out, v.text()); break;
      case Value::Kind::kQuantity:
        out += "{\"value\":";
        out += v.quantity().value;
        out += ",\"unit\":";
        common::AppendJsonString(out, v.quantity().unit);
        out += '}';
        break;
    }
  }
  out += ']';
  return out;
}

}  // namespace fhir::fhirpath
