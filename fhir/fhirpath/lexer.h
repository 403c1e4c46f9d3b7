#ifndef FOVEA_FHIR_FHIRPATH_LEXER_H_
#define FOVEA_FHIR_FHIRPATH_LEXER_H_

// Tokens of the FHIRPath grammar (hl7.org/fhirpath/N1/grammar.html). Internal to fhir_fhirpath.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace fhir::fhirpath::detail {

enum class TokenKind {
  kIdentifier,   // name, or a `delimited` name (text holds the unescaped name)
  kString,       // 'text' (unescaped)
  kNumber,       // 12 or 1.50 (lexeme)
  kDateTime,     // @2015-02-04T14:34 (without '@'), also @2015 and @2015T
  kTime,         // @T14:34 (without "@T")
  kVariable,     // %name or %`name` or %'name' (text without '%')
  kSpecial,      // $this, $index, $total (text without '$')
  kSymbol,       // . [ ] ( ) { } , + - * / | & = != ~ !~ < > <= >=
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  std::size_t pos = 0;  // byte offset in the expression
  bool delimited = false;  // a `backquoted` identifier: never a keyword
};

// Splits an expression into tokens; kInvalid naming the offset for a lexical error
// (unterminated string or comment, stray character).
common::Result<std::vector<Token>> Tokenize(std::string_view text);

// Decodes the escapes of a FHIRPath string or delimited identifier body
// (\' \" \` \\ \/ \f \n \r \t \uXXXX).
std::string Unescape(std::string_view body);

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_LEXER_H_
