#include "fhir/fhirpath/decimal.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace fhir::fhirpath::detail {

namespace {

__int128 Pow10(int n) {
  __int128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

// 10^36: beyond this the mantissa gives up fractional digits rather than overflow.
const __int128 kMantissaLimit = Pow10(36);

__int128 Abs128(__int128 v) { return v < 0 ? -v : v; }

// Divides by 10^n rounding half away from zero.
__int128 DivRound(__int128 m, int n) {
  if (n <= 0) return m * Pow10(-n);
  // |m| < 10^38 always, so dividing by 10^39 or more rounds to zero; 10^n would overflow.
  if (n > 38) return 0;
  __int128 p = Pow10(n);
  __int128 q = m / p;
  __int128 r = Abs128(m % p);
  if (r * 2 >= p) q += m < 0 ? -1 : 1;
  return q;
}

}  // namespace

std::optional<Decimal> Decimal::Parse(std::string_view text) {
  std::size_t i = 0;
  bool neg = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
  __int128 m = 0;
  int scale = 0;
  int digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (Abs128(m) < kMantissaLimit) {
      m = m * 10 + (text[i] - '0');
    } else {
      --scale;  // too many integer digits: keep the magnitude, lose precision
    }
    ++digits;
    ++i;
  }
  if (digits == 0) return std::nullopt;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int frac = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (Abs128(m) < kMantissaLimit) {
        m = m * 10 + (text[i] - '0');
        ++scale;
      }
      ++frac;
      ++i;
    }
    if (frac == 0) return std::nullopt;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
    int e = 0;
    int edigits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && e < 1000) {
      e = e * 10 + (text[i++] - '0');
      ++edigits;
    }
    if (edigits == 0) return std::nullopt;
    scale += eneg ? e : -e;
  }
  if (i != text.size()) return std::nullopt;
  if (scale < 0) {
    if (-scale > 36) return std::nullopt;
    m *= Pow10(-scale);
    scale = 0;
  }
  Decimal d(neg ? -m : m, scale);
  if (d.scale_ > kMaxScale) d = d.Rescaled(kMaxScale);
  return d;
}

std::optional<Decimal> Decimal::FromLongDouble(long double v, int max_scale, int min_scale) {
  if (!std::isfinite(v)) return std::nullopt;
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.*Lf", max_scale, v);
  auto d = Parse(buf);
  if (!d) return std::nullopt;
  return d->Trimmed(min_scale);
}

std::string Decimal::ToString() const {
  // Digits least significant first, padded so that there is one before the point.
  std::string reversed;
  __int128 a = Abs128(mantissa_);
  do {
    reversed += static_cast<char>('0' + static_cast<int>(a % 10));
    a /= 10;
  } while (a != 0);
  while (static_cast<int>(reversed.size()) <= scale_) reversed += '0';
  std::string out;
  out.reserve(reversed.size() + 2);
  if (mantissa_ < 0) out += '-';
  for (std::size_t i = reversed.size(); i-- > 0;) {
    out += reversed[i];
    if (scale_ > 0 && i == static_cast<std::size_t>(scale_)) out += '.';
  }
  return out;
}

long double Decimal::ToLongDouble() const {
  return static_cast<long double>(mantissa_) / std::pow(10.0L, static_cast<long double>(scale_));
}

std::optional<long long> Decimal::TruncatedInteger() const {
  __int128 q = mantissa_ / Pow10(scale_);
  if (q > static_cast<__int128>(9223372036854775807LL) ||
      q < -static_cast<__int128>(9223372036854775807LL)) {
    return std::nullopt;
  }
  return static_cast<long long>(q);
}

Decimal Decimal::Rescaled(int scale) const {
  if (scale >= scale_) {
    Decimal d(mantissa_ * Pow10(scale - scale_), scale);
    return d;
  }
  return Decimal(DivRound(mantissa_, scale_ - scale), scale);
}

Decimal Decimal::Floor(int scale) const {
  if (scale >= scale_) return Rescaled(scale);
  __int128 p = Pow10(scale_ - scale);
  __int128 q = mantissa_ / p;
  if (mantissa_ % p != 0 && mantissa_ < 0) --q;
  return Decimal(q, scale);
}

Decimal Decimal::Ceiling(int scale) const {
  if (scale >= scale_) return Rescaled(scale);
  __int128 p = Pow10(scale_ - scale);
  __int128 q = mantissa_ / p;
  if (mantissa_ % p != 0 && mantissa_ > 0) ++q;
  return Decimal(q, scale);
}

Decimal Decimal::Trimmed(int min_scale) const {
  Decimal d = *this;
  while (d.scale_ > min_scale && d.mantissa_ % 10 == 0) {
    d.mantissa_ /= 10;
    --d.scale_;
  }
  return d;
}

void Decimal::Normalize() {
  while (Abs128(mantissa_) >= kMantissaLimit && scale_ > 0) {
    mantissa_ = DivRound(mantissa_, 1);
    --scale_;
  }
  if (scale_ > kMaxScale) *this = Rescaled(kMaxScale);
}

Decimal operator+(const Decimal& a, const Decimal& b) {
  int s = std::max(a.scale_, b.scale_);
  Decimal r(a.Rescaled(s).mantissa_ + b.Rescaled(s).mantissa_, s);
  r.Normalize();
  return r;
}

Decimal operator-(const Decimal& a, const Decimal& b) { return a + b.Negated(); }

Decimal operator*(const Decimal& a, const Decimal& b) {
  Decimal x = a.Trimmed();
  Decimal y = b.Trimmed();
  // Keeps the product inside 128 bits: drop fractional digits of the larger operand first.
  while ((Abs128(x.mantissa_) > Pow10(18) || Abs128(y.mantissa_) > Pow10(18)) &&
         (x.scale_ > 0 || y.scale_ > 0)) {
    Decimal& big = Abs128(x.mantissa_) >= Abs128(y.mantissa_) && x.scale_ > 0 ? x : y;
    big = big.Rescaled(big.scale_ - 1);
  }
  Decimal r(x.mantissa_ * y.mantissa_, x.scale_ + y.scale_);
  r.Normalize();
  int keep = std::max(a.scale_, b.scale_);
  return r.scale_ < keep ? r.Rescaled(keep) : r;
}

std::optional<Decimal> Divide(const Decimal& a, const Decimal& b) {
  if (b.mantissa_ == 0) return std::nullopt;
  // a/b at kDivisionScale digits: (a.m * 10^k) / b.m with scale a.s - b.s + k.
  int target = Decimal::kDivisionScale;
  int k = target - a.scale_ + b.scale_;
  __int128 num = a.mantissa_;
  __int128 den = b.mantissa_;
  if (k >= 0) {
    // One extra digit for rounding.
    num *= Pow10(k + 1);
  } else {
    den *= Pow10(-k - 1);
  }
  __int128 q = num / den;
  __int128 r10 = q % 10;
  q /= 10;
  if (Abs128(r10) >= 5) q += (q < 0 || (q == 0 && r10 < 0)) ? -1 : 1;
  Decimal d(q, target);
  return d.Trimmed(std::min(target, std::max(a.scale_, b.scale_)));
}

int Compare(const Decimal& a, const Decimal& b) {
  int s = std::max(a.scale_, b.scale_);
  __int128 x = a.Rescaled(s).mantissa_;
  __int128 y = b.Rescaled(s).mantissa_;
  return x < y ? -1 : (x > y ? 1 : 0);
}

}  // namespace fhir::fhirpath::detail
