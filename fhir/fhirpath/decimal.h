#ifndef FOVEA_FHIR_FHIRPATH_DECIMAL_H_
#define FOVEA_FHIR_FHIRPATH_DECIMAL_H_

// Exact decimal arithmetic for FHIRPath Decimal: a 128-bit mantissa and a decimal scale, so
// 0.1 + 0.2 = 0.3 and lexical precision ("1.50") survives addition and comparison. Division and
// the transcendental functions round to kDivisionScale digits. Internal to fhir_fhirpath.

#include <optional>
#include <string>
#include <string_view>

namespace fhir::fhirpath::detail {

class Decimal {
 public:
  static constexpr int kDivisionScale = 8;
  static constexpr int kMaxScale = 28;

  Decimal() = default;
  static Decimal FromInteger(long long v) { return Decimal(v, 0); }
  // [+-]digits[.digits] (also accepts an exponent, as FHIR decimal does); nullopt otherwise.
  static std::optional<Decimal> Parse(std::string_view text);
  // Rounds to at most `max_scale` fractional digits and drops trailing zeros beyond `min_scale`.
  static std::optional<Decimal> FromLongDouble(long double v, int max_scale = 8, int min_scale = 0);

  int scale() const { return scale_; }
  bool is_zero() const { return mantissa_ == 0; }
  bool negative() const { return mantissa_ < 0; }
  std::string ToString() const;
  long double ToLongDouble() const;
  // Integer part (toward zero) if it fits.
  std::optional<long long> TruncatedInteger() const;

  // Same value at `scale` digits: rounds half away from zero when reducing.
  Decimal Rescaled(int scale) const;
  // Rounding towards -inf / +inf at `scale` digits.
  Decimal Floor(int scale) const;
  Decimal Ceiling(int scale) const;
  Decimal Negated() const { return Decimal(-mantissa_, scale_); }
  Decimal Abs() const { return Decimal(mantissa_ < 0 ? -mantissa_ : mantissa_, scale_); }
  // Drops trailing fractional zeros down to `min_scale`.
  Decimal Trimmed(int min_scale = 0) const;

  friend Decimal operator+(const Decimal& a, const Decimal& b);
  friend Decimal operator-(const Decimal& a, const Decimal& b);
  friend Decimal operator*(const Decimal& a, const Decimal& b);
  // Null when dividing by zero.
  friend std::optional<Decimal> Divide(const Decimal& a, const Decimal& b);
  // -1, 0, 1.
  friend int Compare(const Decimal& a, const Decimal& b);

 private:
  Decimal(__int128 m, int s) : mantissa_(m), scale_(s) {}
  void Normalize();  // keeps the mantissa in range by dropping excess scale

  __int128 mantissa_ = 0;
  int scale_ = 0;
};

}  // namespace fhir::fhirpath::detail

#endif  // FOVEA_FHIR_FHIRPATH_DECIMAL_H_
