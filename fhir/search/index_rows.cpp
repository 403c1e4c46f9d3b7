#include "fhir/search/index_rows.h"

#include "common/json.h"

namespace fhir::search {
namespace {

void Field(std::string& out, const char* name, std::string_view value, bool& first) {
  if (!first) out += ',';
  first = false;
  out += '"';
  out += name;
  out += "\":";
  common::AppendJsonString(out, value);
}

void NullableField(std::string& out, const char* name, std::string_view value, bool present,
                   bool& first) {
  if (present) {
    Field(out, name, value, first);
    return;
  }
  if (!first) out += ',';
  first = false;
  out += '"';
  out += name;
  out += "\":null";
}

std::string Timestamp(common::TimePoint t) {
  if (t == common::TimePoint::min()) return "-infinity";
  if (t == common::TimePoint::max()) return "infinity";
  return common::FormatInstantMicros(t);
}

template <class Row, class Fn>
void Table(std::string& out, const char* name, const std::vector<Row>& rows, bool& first_table,
           Fn write_row) {
  if (rows.empty()) return;
  if (!first_table) out += ',';
  first_table = false;
  out += '"';
  out += name;
  out += "\":[";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    out += '{';
    bool first = true;
    write_row(rows[i], first);
    out += '}';
  }
  out += ']';
}

}  // namespace

std::string IndexRows::ToJson() const {
  std::string out = "{";
  bool first = true;
  Table(out, "string", strings, first, [&](const StringRow& r, bool& f) {
    Field(out, "p", r.param, f);
    Field(out, "n", r.normalized, f);
    Field(out, "e", r.exact, f);
  });
  Table(out, "token", tokens, first, [&](const TokenRow& r, bool& f) {
    Field(out, "p", r.param, f);
    NullableField(out, "s", r.system, r.has_system, f);
    Field(out, "c", r.code, f);
    NullableField(out, "t", r.text, !r.text.empty(), f);
  });
  Table(out, "reference", references, first, [&](const ReferenceRow& r, bool& f) {
    Field(out, "p", r.param, f);
    NullableField(out, "tt", r.target_type, !r.target_type.empty(), f);
    NullableField(out, "ti", r.target_id, !r.target_id.empty(), f);
    NullableField(out, "u", r.url, !r.url.empty(), f);
  });
  Table(out, "date", dates, first, [&](const DateRow& r, bool& f) {
    Field(out, "p", r.param, f);
    Field(out, "lo", Timestamp(r.low), f);
    Field(out, "hi", Timestamp(r.high), f);
  });
  Table(out, "number", numbers, first, [&](const NumberRow& r, bool& f) {
    Field(out, "p", r.param, f);
    Field(out, "v", r.value, f);
    Field(out, "lo", r.low, f);
    Field(out, "hi", r.high, f);
  });
  Table(out, "quantity", quantities, first, [&](const QuantityRow& r, bool& f) {
    Field(out, "p", r.param, f);
    Field(out, "v", r.value, f);
    Field(out, "lo", r.low, f);
    Field(out, "hi", r.high, f);
    NullableField(out, "s", r.system, !r.system.empty(), f);
    NullableField(out, "c", r.code, !r.code.empty(), f);
    NullableField(out, "u", r.unit, !r.unit.empty(), f);
    NullableField(out, "d", r.dimension, !r.dimension.empty(), f);
    NullableField(out, "cv", r.canonical, !r.dimension.empty(), f);
  });
  Table(out, "uri", uris, first, [&](const UriRow& r, bool& f) {
    Field(out, "p", r.param, f);
    Field(out, "v", r.value, f);
  });
  auto first_component = [&](const auto& r, bool& f) {
    Field(out, "p", r.param, f);
    NullableField(out, "ts", r.first.system, r.first.has_system, f);
    Field(out, "tc", r.first.code, f);
  };
  Table(out, "composite_token", composite_tokens, first, [&](const CompositeRow<TokenRow>& r, bool& f) {
    first_component(r, f);
    NullableField(out, "s", r.second.system, r.second.has_system, f);
    Field(out, "c", r.second.code, f);
    NullableField(out, "t", r.second.text, !r.second.text.empty(), f);
  });
  Table(out, "composite_quantity", composite_quantities, first,
        [&](const CompositeRow<QuantityRow>& r, bool& f) {
          first_component(r, f);
          Field(out, "v", r.second.value, f);
          Field(out, "lo", r.second.low, f);
          Field(out, "hi", r.second.high, f);
          NullableField(out, "s", r.second.system, !r.second.system.empty(), f);
          NullableField(out, "c", r.second.code, !r.second.code.empty(), f);
          NullableField(out, "u", r.second.unit, !r.second.unit.empty(), f);
        });
  Table(out, "composite_date", composite_dates, first, [&](const CompositeRow<DateRow>& r, bool& f) {
    first_component(r, f);
    Field(out, "lo", Timestamp(r.second.low), f);
    Field(out, "hi", Timestamp(r.second.high), f);
  });
  Table(out, "composite_string", composite_strings, first,
        [&](const CompositeRow<StringRow>& r, bool& f) {
          first_component(r, f);
          Field(out, "n", r.second.normalized, f);
          Field(out, "e", r.second.exact, f);
        });
  Table(out, "composite_number", composite_numbers, first,
        [&](const CompositeNumberRow& r, bool& f) {
          first_component(r, f);
          Field(out, "v", r.second.value, f);
          Field(out, "v2", r.third.value, f);
        });
  Table(out, "composite_reference", composite_references, first,
        [&](const CompositeReferenceRow& r, bool& f) {
          Field(out, "p", r.param, f);
          NullableField(out, "tt", r.first.target_type, !r.first.target_type.empty(), f);
          NullableField(out, "ti", r.first.target_id, !r.first.target_id.empty(), f);
          NullableField(out, "u", r.first.url, !r.first.url.empty(), f);
          NullableField(out, "s", r.second.system, r.second.has_system, f);
          Field(out, "c", r.second.code, f);
          NullableField(out, "t", r.second.text, !r.second.text.empty(), f);
        });
  Table(out, "text", texts, first, [&](const TextRow& r, bool& f) {
    Field(out, "p", r.param, f);
    Field(out, "v", r.text, f);
  });
  out += '}';
  return out;
}

}  // namespace fhir::search
