#ifndef FOVEA_FHIR_REST_HTTP_PARSER_H_
#define FOVEA_FHIR_REST_HTTP_PARSER_H_

// HTTP/1.1 message framing (RFC 9112) for Fovea's own connection handler: request heads,
// chunked bodies, and response serialisation into one buffer (one write per response).
// Pure functions over byte buffers: no sockets, so they are unit-tested directly.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir/rest/http_types.h"

namespace fhir::rest {

struct HttpRequestHead {
  std::string method;
  std::string target;  // as sent: /fhir/R4/Patient/1?x=y
  int minor_version = 1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::size_t head_size = 0;  // bytes up to and including the blank line

  std::string_view Header(std::string_view name) const;  // case-insensitive
  bool keep_alive() const;   // HTTP/1.1 default on; "Connection: close" off; 1.0 needs keep-alive
  bool chunked() const;      // Transfer-Encoding: chunked
  bool expects_continue() const;
};

enum class ParseState { kIncomplete, kComplete, kError };

// Parses the request line and headers at the start of `buffer`. kIncomplete until the blank
// line has arrived; kError (with `error` set) for malformed input.
ParseState ParseRequestHead(std::string_view buffer, HttpRequestHead& head, std::string& error);

// Decodes a chunked body from `buffer`. On kComplete, `body` holds the payload and `consumed`
// the bytes used (trailers included). kError when malformed or over `max_body` bytes.
ParseState DecodeChunkedBody(std::string_view buffer, std::size_t max_body, std::string& body,
                             std::size_t& consumed, std::string& error);

// Splits a request target into a percent-decoded path and the raw query string.
void SplitTarget(std::string_view target, std::string& path, std::string& raw_query);

// Appends a full HTTP/1.1 response (status line, headers, body) to `out`.
// `date` is an IMF-fixdate; `include_body` is false for HEAD.
void SerializeResponse(const RestResponse& response, bool keep_alive, bool include_body,
                       std::string_view date, std::string& out);

std::string_view ReasonPhrase(int status);

}  // namespace fhir::rest

#endif  // FOVEA_FHIR_REST_HTTP_PARSER_H_
