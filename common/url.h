#ifndef FOVEA_COMMON_URL_H_
#define FOVEA_COMMON_URL_H_

// application/x-www-form-urlencoded and percent-encoding, shared by the FHIR API (query
// strings) and the OAuth endpoints (form bodies, redirect URLs).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace common {

// Decodes %XX escapes (either case); a '%' not followed by two hex digits stays as it is. In
// form encoding (`plus_is_space`) '+' is a space; in a URL path it is itself.
std::string PercentDecode(std::string_view s, bool plus_is_space);
// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space, as in forms).
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);
// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);
// "a=1&b=x%20y": the pairs percent-encoded and joined (ParseQueryString's inverse); empty for
// no pairs.
std::string BuildQueryString(const std::vector<std::pair<std::string, std::string>>& pairs);
// The first value of `name` among decoded pairs (a query or a form); empty when absent.
std::string_view FirstValue(const std::vector<std::pair<std::string, std::string>>& pairs,
                            std::string_view name);

}  // namespace common

#endif  // FOVEA_COMMON_URL_H_
