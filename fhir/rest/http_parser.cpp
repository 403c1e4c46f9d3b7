#include "fhir/rest/http_parser.h"

#include <strings.h>

#include <charconv>

#include "common/hex.h"
#include "common/url.h"

namespace fhir::rest {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool IContains(std::string_view haystack, std::string_view needle) {
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (IEquals(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string_view HttpRequestHead::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

bool HttpRequestHead::keep_alive() const {
  std::string_view connection = Header("Connection");
  if (minor_version == 0) return IContains(connection, "keep-alive");
  return !IContains(connection, "close");
}

bool HttpRequestHead::chunked() const { return IContains(Header("Transfer-Encoding"), "chunked"); }

bool HttpRequestHead::expects_continue() const {
  return IEquals(Trim(Header("Expect")), "100-continue");
}

namespace {

// ParseRequestHead once the blank line is in `buffer` at `end`; `fields` counts the headers
// written into head.headers (from the front, over what is there).
ParseState ParseCompleteHead(std::string_view buffer, std::size_t end, HttpRequestHead& head,
                             std::size_t& fields, std::string& error) {
  head.method.clear();
  head.target.clear();
  head.minor_version = 1;
  head.head_size = end + 4;
  std::string_view text = buffer.substr(0, end + 2);
  std::size_t line_end = text.find("\r\n");
  std::string_view line = text.substr(0, line_end);
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0) {
    error = "Malformed HTTP request line";
    return ParseState::kError;
  }
  std::string_view method = line.substr(0, sp1);
  for (char c : method) {
    if (!IsTokenChar(c)) {
      error = "Malformed HTTP method";
      return ParseState::kError;
    }
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version == "HTTP/1.1") {
    head.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    head.minor_version = 0;
  } else {
    error = "Unsupported HTTP version";
    return ParseState::kError;
  }
  head.method.assign(method);
  head.target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (head.target.empty() || head.target[0] != '/') {
    error = "The request target must be an absolute path";
    return ParseState::kError;
  }
  std::size_t pos = line_end + 2;
  while (pos < text.size()) {
    std::size_t eol = text.find("\r\n", pos);
    std::string_view field = text.substr(pos, eol - pos);
    pos = eol + 2;
    std::size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error = "Malformed HTTP header";
      return ParseState::kError;
    }
    std::string_view name = field.substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) {
        error = "Malformed HTTP header name";
        return ParseState::kError;
      }
    }
    if (fields == head.headers.size()) head.headers.emplace_back();
    head.headers[fields].first.assign(name);
    head.headers[fields].second.assign(Trim(field.substr(colon + 1)));
    ++fields;
  }
  return ParseState::kComplete;
}

}  // namespace

ParseState ParseRequestHead(std::string_view buffer, HttpRequestHead& head, std::string& error) {
  std::size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) return ParseState::kIncomplete;
  // `head` may be the previous request's on a kept-alive connection: its strings are written
  // over, not freed and allocated again. A bearer token is over a kilobyte, past glibc's
  // per-thread cache: allocating one per request took the allocator's slow path (arena lock,
  // consolidation) on every request (docs/PERFORMANCE.md, security).
  std::size_t fields = 0;
  ParseState state = ParseCompleteHead(buffer, end, head, fields, error);
  head.headers.resize(state == ParseState::kComplete ? fields : 0);
  return state;
}

ParseState DecodeChunkedBody(std::string_view buffer, std::size_t max_body, std::string& body,
                             std::size_t& consumed, std::string& error) {
  body.clear();
  std::size_t pos = 0;
  while (true) {
    std::size_t eol = buffer.find("\r\n", pos);
    if (eol == std::string_view::npos) return ParseState::kIncomplete;
    std::string_view size_text = buffer.substr(pos, eol - pos);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions are ignored
    size_text = Trim(size_text);
    std::size_t size = 0;
    if (size_text.empty() || size_text.size() > 15) {
      error = "Malformed chunk size";
      return ParseState::kError;
    }
    for (char c : size_text) {
      int h = common::HexDigitValue(c);
      if (h < 0) {
        error = "Malformed chunk size";
        return ParseState::kError;
      }
      size = size * 16 + static_cast<std::size_t>(h);
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields, then the final CRLF.
      while (true) {
        std::size_t t = buffer.find("\r\n", pos);
        if (t == std::string_view::npos) return ParseState::kIncomplete;
        bool blank = t == pos;
        pos = t + 2;
        if (blank) break;
      }
      consumed = pos;
      return ParseState::kComplete;
    }
    if (body.size() + size > max_body) {
      error = "body too large";
      return ParseState::kError;
    }
    if (buffer.size() < pos + size + 2) return ParseState::kIncomplete;
    body.append(buffer.data() + pos, size);
    pos += size;
    if (buffer.substr(pos, 2) != "\r\n") {
      error = "Malformed chunk";
      return ParseState::kError;
    }
    pos += 2;
  }
}

void SplitTarget(std::string_view target, std::string& path, std::string& raw_query) {
  std::size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  raw_query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  std::size_t hash = raw_query.find('#');
  if (hash != std::string::npos) raw_query.resize(hash);
  path = common::PercentDecode(raw_path, false);  // in a path, '+' is itself
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

void SerializeResponse(const RestResponse& response, bool keep_alive, bool include_body,
                       std::string_view date, std::string& out) {
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += ReasonPhrase(response.status);
  out += "\r\nDate: ";
  out += date;
  out += "\r\nServer: Fovea\r\n";
  bool bodiless = response.status == 204 || response.status == 304 || response.status < 200;
  if (!bodiless) {
    if (!response.content_type.empty()) {
      out += "Content-Type: ";
      out += response.content_type;
      out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(response.body.size());
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  for (const auto& [k, v] : response.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  out += "\r\n";
  if (include_body && !bodiless) out += response.body;
}

}  // namespace fhir::rest
