#include "fhir/fhirpath/parser.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "fhir/fhirpath/lexer.h"
#include "fhir/fhirpath/temporal.h"
#include "fhir/fhirpath/units.h"

namespace fhir::fhirpath::detail {

namespace {

using NodePtr = std::unique_ptr<Node>;

NodePtr MakeNode(NodeKind kind, std::size_t pos, std::string name = {}) {
  auto n = std::make_unique<Node>();
  n->kind = kind;
  n->pos = pos;
  n->name = std::move(name);
  return n;
}

NodePtr MakeBinary(std::string op, NodePtr lhs, NodePtr rhs, std::size_t pos) {
  auto n = MakeNode(NodeKind::kBinary, pos, std::move(op));
  n->args.push_back(std::move(lhs));
  n->args.push_back(std::move(rhs));
  return n;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  common::Result<NodePtr> ParseAll() {
    auto expr = Expression();
    if (!expr) return expr;
    if (Peek().kind != TokenKind::kEnd) return Error("unexpected '" + Peek().text + "'");
    return expr;
  }

 private:
  using R = common::Result<NodePtr>;

  const Token& Peek(std::size_t ahead = 0) const {
    std::size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& Next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool IsSymbol(std::string_view s, std::size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kSymbol && Peek(ahead).text == s;
  }
  // A bare (not `delimited`) identifier with this spelling: operators and keywords.
  bool IsKeyword(std::string_view s) const {
    return Peek().kind == TokenKind::kIdentifier && !Peek().delimited && Peek().text == s;
  }
  common::Status Error(const std::string& what) const {
    const Token& t = Peek();
    std::string where = t.kind == TokenKind::kEnd ? "end of expression" : "offset " + std::to_string(t.pos);
    return common::InvalidError("FHIRPath syntax error at " + where + ": " + what);
  }
  common::Status Expect(std::string_view symbol) {
    if (!IsSymbol(symbol)) return Error("expected '" + std::string(symbol) + "'");
    Next();
    return common::Status::Ok();
  }

  // Every nesting (parentheses, arguments, indexers, unary operators) passes through here:
  // bounding the depth keeps hostile input from exhausting the stack.
  R Expression() {
    if (depth_ >= kMaxDepth) return Error("expression nested deeper than " + std::to_string(kMaxDepth));
    ++depth_;
    R result = Implies();
    --depth_;
    return result;
  }

  R Implies() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, OrXor());
    while (IsKeyword("implies")) {
      std::size_t pos = Next().pos;
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, OrXor());
      lhs = MakeBinary("implies", std::move(lhs), std::move(rhs), pos);
    }
    return lhs;
  }
  R OrXor() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, And());
    while (IsKeyword("or") || IsKeyword("xor")) {
      const Token& t = Next();
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, And());
      lhs = MakeBinary(t.text, std::move(lhs), std::move(rhs), t.pos);
    }
    return lhs;
  }
  R And() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Membership());
    while (IsKeyword("and")) {
      std::size_t pos = Next().pos;
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, Membership());
      lhs = MakeBinary("and", std::move(lhs), std::move(rhs), pos);
    }
    return lhs;
  }
  R Membership() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Equality());
    while (IsKeyword("in") || IsKeyword("contains")) {
      const Token& t = Next();
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, Equality());
      lhs = MakeBinary(t.text, std::move(lhs), std::move(rhs), t.pos);
    }
    return lhs;
  }
  R Equality() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Inequality());
    while (IsSymbol("=") || IsSymbol("~") || IsSymbol("!=") || IsSymbol("!~")) {
      const Token& t = Next();
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, Inequality());
      lhs = MakeBinary(t.text, std::move(lhs), std::move(rhs), t.pos);
    }
    return lhs;
  }
  R Inequality() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Union());
    while (IsSymbol("<") || IsSymbol(">") || IsSymbol("<=") || IsSymbol(">=")) {
      const Token& t = Next();
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, Union());
      lhs = MakeBinary(t.text, std::move(lhs), std::move(rhs), t.pos);
    }
    return lhs;
  }
  R Union() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, TypeOp());
    while (IsSymbol("|")) {
      std::size_t pos = Next().pos;
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, TypeOp());
      lhs = MakeBinary("|", std::move(lhs), std::move(rhs), pos);
    }
    return lhs;
  }
  R TypeOp() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Additive());
    while (IsKeyword("is") || IsKeyword("as")) {
      const Token& t = Next();
      auto n = MakeNode(NodeKind::kTypeOp, t.pos, t.text);
      FOVEA_ASSIGN_OR_RETURN(n->type_name, QualifiedIdentifier());
      n->args.push_back(std::move(lhs));
      lhs = std::move(n);
    }
    return lhs;
  }
  common::Result<std::string> QualifiedIdentifier() {
    if (Peek().kind != TokenKind::kIdentifier) return Error("expected a type name");
    std::string name = Next().text;
    while (IsSymbol(".") && Peek(1).kind == TokenKind::kIdentifier) {
      Next();
      name += "." + Next().text;
    }
    return name;
  }
  R Additive() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Multiplicative());
    while (IsSymbol("+") || IsSymbol("-") || IsSymbol("&")) {
      const Token& t = Next();
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, Multiplicative());
      lhs = MakeBinary(t.text, std::move(lhs), std::move(rhs), t.pos);
    }
    return lhs;
  }
  R Multiplicative() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Unary());
    while (IsSymbol("*") || IsSymbol("/") || IsKeyword("div") || IsKeyword("mod")) {
      const Token& t = Next();
      FOVEA_ASSIGN_OR_RETURN(NodePtr rhs, Unary());
      lhs = MakeBinary(t.text, std::move(lhs), std::move(rhs), t.pos);
    }
    return lhs;
  }
  R Unary() {
    if (IsSymbol("-") || IsSymbol("+")) {
      const Token& t = Next();
      if (depth_ >= kMaxDepth) return Error("expression nested deeper than " + std::to_string(kMaxDepth));
      ++depth_;
      auto operand_or = Unary();
      --depth_;
      FOVEA_ASSIGN_OR_RETURN(NodePtr operand, std::move(operand_or));
      auto n = MakeNode(NodeKind::kUnary, t.pos, t.text);
      n->args.push_back(std::move(operand));
      return n;
    }
    return Postfix();
  }
  R Postfix() {
    FOVEA_ASSIGN_OR_RETURN(NodePtr lhs, Term());
    while (true) {
      if (IsSymbol(".")) {
        std::size_t pos = Next().pos;
        FOVEA_ASSIGN_OR_RETURN(NodePtr step, Invocation());
        auto n = MakeNode(NodeKind::kInvoke, pos);
        n->args.push_back(std::move(lhs));
        n->args.push_back(std::move(step));
        lhs = std::move(n);
      } else if (IsSymbol("[")) {
        std::size_t pos = Next().pos;
        FOVEA_ASSIGN_OR_RETURN(NodePtr index, Expression());
        FOVEA_RETURN_IF_ERROR(Expect("]"));
        auto n = MakeNode(NodeKind::kIndexer, pos);
        n->args.push_back(std::move(lhs));
        n->args.push_back(std::move(index));
        lhs = std::move(n);
      } else {
        return lhs;
      }
    }
  }
  // identifier | function call | $this | $index | $total
  R Invocation() {
    const Token& t = Peek();
    if (t.kind == TokenKind::kSpecial) {
      Next();
      if (t.text == "this") return MakeNode(NodeKind::kThis, t.pos);
      if (t.text == "index") return MakeNode(NodeKind::kIndex, t.pos);
      return MakeNode(NodeKind::kTotal, t.pos);
    }
    if (t.kind != TokenKind::kIdentifier) return Error("expected a name after '.'");
    Next();
    if (IsSymbol("(") && !t.delimited) {
      Next();
      auto n = MakeNode(NodeKind::kFunction, t.pos, t.text);
      if (!IsSymbol(")")) {
        while (true) {
          FOVEA_ASSIGN_OR_RETURN(NodePtr arg, Expression());
          n->args.push_back(std::move(arg));
          if (!IsSymbol(",")) break;
          Next();
        }
      }
      FOVEA_RETURN_IF_ERROR(Expect(")"));
      return n;
    }
    return MakeNode(NodeKind::kMember, t.pos, t.text);
  }
  R Term() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kNumber: {
        Next();
        return NumberOrQuantity(t);
      }
      case TokenKind::kString: {
        Next();
        auto n = MakeNode(NodeKind::kLiteral, t.pos);
        n->literal = Value::String(t.text);
        return n;
      }
      case TokenKind::kDateTime: {
        Next();
        // "@2015" and "@2015-02-04" are Dates; a 'T' (even "@2015T") makes a DateTime.
        bool has_t = t.text.find('T') != std::string::npos;
        std::string body = t.text;
        if (!body.empty() && body.back() == 'T') body.pop_back();
        TemporalKind kind = has_t ? TemporalKind::kDateTime : TemporalKind::kDate;
        auto parsed = Temporal::Parse(kind, body);
        if (!parsed && kind == TemporalKind::kDate) {
          parsed = Temporal::Parse(TemporalKind::kDateTime, body);
          kind = TemporalKind::kDateTime;
        }
        if (!parsed) return ErrorAtToken(t, "invalid date/time literal '@" + t.text + "'");
        auto n = MakeNode(NodeKind::kLiteral, t.pos);
        n->literal = kind == TemporalKind::kDate ? Value::Date(parsed->ToString())
                                                 : Value::DateTime(parsed->ToString());
        return n;
      }
      case TokenKind::kTime: {
        Next();
        auto n = MakeNode(NodeKind::kLiteral, t.pos);
        // A zone on a time literal is a grammar-level error the spec reports at evaluation.
        n->literal = Value::Time(t.text);
        return n;
      }
      case TokenKind::kVariable: {
        Next();
        return MakeNode(NodeKind::kVariable, t.pos, t.text);
      }
      case TokenKind::kSpecial:
      case TokenKind::kIdentifier: {
        if (t.kind == TokenKind::kIdentifier && !t.delimited &&
            (t.text == "true" || t.text == "false")) {
          Next();
          auto n = MakeNode(NodeKind::kLiteral, t.pos);
          n->literal = Value::Boolean(t.text == "true");
          return n;
        }
        return Invocation();
      }
      case TokenKind::kSymbol: {
        if (t.text == "(") {
          Next();
          FOVEA_ASSIGN_OR_RETURN(NodePtr inner, Expression());
          FOVEA_RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (t.text == "{") {
          Next();
          FOVEA_RETURN_IF_ERROR(Expect("}"));
          return MakeNode(NodeKind::kEmpty, t.pos);
        }
        return Error("unexpected '" + t.text + "'");
      }
      case TokenKind::kEnd:
        return Error("unexpected end of expression");
    }
    return Error("unexpected token");
  }
  common::Status ErrorAtToken(const Token& t, const std::string& what) const {
    return common::InvalidError("FHIRPath syntax error at offset " + std::to_string(t.pos) + ": " +
                                what);
  }
  R NumberOrQuantity(const Token& number) {
    auto n = MakeNode(NodeKind::kLiteral, number.pos);
    bool is_decimal = number.text.find('.') != std::string::npos;
    if (Peek().kind == TokenKind::kString) {
      n->literal = Value::OfQuantity({number.text, Next().text});
      return n;
    }
    if (Peek().kind == TokenKind::kIdentifier && !Peek().delimited && IsCalendarUnit(Peek().text)) {
      n->literal = Value::OfQuantity({number.text, CanonicalCalendarUnit(Next().text)});
      return n;
    }
    if (is_decimal) {
      n->literal = Value::Decimal(number.text);
      return n;
    }
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(number.text.c_str(), &end, 10);
    if (errno == ERANGE) {
      // Too large for Integer: FHIRPath has no big integers, so it becomes a Decimal.
      n->literal = Value::Decimal(number.text);
    } else {
      n->literal = Value::Integer(v);
    }
    return n;
  }

  std::vector<Token> tokens_;
  static constexpr int kMaxDepth = 200;
  int depth_ = 0;
  std::size_t pos_ = 0;
};

}  // namespace

common::Result<std::unique_ptr<Node>> Parse(std::string_view text) {
  FOVEA_ASSIGN_OR_RETURN(auto tokens, Tokenize(text));
  Parser parser(std::move(tokens));
  return parser.ParseAll();
}

std::string TypeSpecifierName(const Node& node) {
  if (node.kind == NodeKind::kMember) return node.name;
  if (node.kind == NodeKind::kInvoke && node.args[1]->kind == NodeKind::kMember) {
    std::string prefix = TypeSpecifierName(*node.args[0]);
    if (prefix.empty()) return {};
    return prefix + "." + node.args[1]->name;
  }
  return {};
}

}  // namespace fhir::fhirpath::detail
