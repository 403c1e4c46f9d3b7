#ifndef FOVEA_FHIR_SEARCH_INDEX_ROWS_H_
#define FOVEA_FHIR_SEARCH_INDEX_ROWS_H_

// The search-index rows of one resource version, one vector per sp_* table
// (fhir/store/pg/migrations/0002_search_index.sql, 0012_composite_number.sql). Extracted at
// write time and written in the same statement as the version itself. Thread-compatible value
// type.

#include <string>
#include <vector>

#include "common/clock.h"

namespace fhir::search {

struct StringRow {
  std::string param;
  std::string normalized;  // lower-cased, for the default (starts-with) and :contains matches
  std::string exact;       // as written, for :exact
};

struct TokenRow {
  std::string param;
  std::string system;      // empty: no system
  bool has_system = false;
  std::string code;
  std::string text;        // display / CodeableConcept.text / Identifier.type.text, for :text
};

struct ReferenceRow {
  std::string param;
  std::string target_type;  // local references: "Patient"
  std::string target_id;    // local references: "123"
  std::string url;          // absolute or canonical references, as written
};

struct DateRow {
  std::string param;
  common::TimePoint low;   // inclusive; TimePoint::min() for an open start
  common::TimePoint high;  // inclusive; TimePoint::max() for an open end
};

struct NumberRow {
  std::string param;
  std::string value;  // decimal text
  std::string low;    // implicit range from the significant figures
  std::string high;
};

struct QuantityRow {
  std::string param;
  std::string value;
  std::string low;
  std::string high;
  std::string system;
  std::string code;
  std::string unit;
  std::string dimension;  // UCUM units Fovea converts ("mass"): else empty
  std::string canonical;  // the value in the dimension's base unit
};

struct UriRow {
  std::string param;
  std::string value;
};

// Full-text input for _text (the narrative's words) and _content (all the resource's text).
struct TextRow {
  std::string param;
  std::string text;
};

// A composite parameter's row: the first component is a token; the second is one of the
// simple rows (its `param` field unused).
template <class Second>
struct CompositeRow {
  std::string param;
  TokenRow first;
  Second second;
};

// A token$number$number composite's row (MolecularSequence's coordinates: chromosome, start,
// end), the three values taken from one element (one `variant`).
struct CompositeNumberRow {
  std::string param;
  TokenRow first;
  NumberRow second;
  NumberRow third;
};

// A reference$token composite's row (DocumentReference `relationship`: relatesTo.target with
// the same relatesTo's code).
struct CompositeReferenceRow {
  std::string param;
  ReferenceRow first;
  TokenRow second;
};

struct IndexRows {
  std::vector<StringRow> strings;
  std::vector<TokenRow> tokens;
  std::vector<ReferenceRow> references;
  std::vector<DateRow> dates;
  std::vector<NumberRow> numbers;
  std::vector<QuantityRow> quantities;
  std::vector<UriRow> uris;
  std::vector<CompositeRow<TokenRow>> composite_tokens;
  std::vector<CompositeRow<QuantityRow>> composite_quantities;
  std::vector<CompositeRow<DateRow>> composite_dates;
  std::vector<CompositeRow<StringRow>> composite_strings;
  std::vector<CompositeNumberRow> composite_numbers;
  std::vector<CompositeReferenceRow> composite_references;
  std::vector<TextRow> texts;

  std::size_t size() const {
    return strings.size() + tokens.size() + references.size() + dates.size() + numbers.size() +
           quantities.size() + uris.size() + composite_tokens.size() +
           composite_quantities.size() + composite_dates.size() + composite_strings.size() +
           composite_numbers.size() + composite_references.size() + texts.size();
  }
  // One JSON document {"string":[...],"token":[...],...} that the write statement unpacks with
  // jsonb_to_recordset: every row travels as a bound parameter, in one round trip.
  std::string ToJson() const;
};

}  // namespace fhir::search

#endif  // FOVEA_FHIR_SEARCH_INDEX_ROWS_H_
