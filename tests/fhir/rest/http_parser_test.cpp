// fhir/rest/http_parser: HTTP/1.1 framing without sockets.

#include "fhir/rest/http_parser.h"

#include <boost/test/unit_test.hpp>

using fhir::rest::ParseState;

BOOST_AUTO_TEST_SUITE(HttpRequestHeadParse)

BOOST_AUTO_TEST_CASE(ParsesRequestLineAndHeaders) {
  fhir::rest::HttpRequestHead head;
  std::string error;
  std::string text =
      "PUT /fhir/R4/Patient/1?_format=json HTTP/1.1\r\nHost: x\r\nIf-Match:  W/\"2\" \r\n"
      "Content-Length: 5\r\n\r\nhello";
  BOOST_REQUIRE(ParseRequestHead(text, head, error) == ParseState::kComplete);
  BOOST_TEST(head.method == "PUT");
  BOOST_TEST(head.target == "/fhir/R4/Patient/1?_format=json");
  BOOST_TEST(head.Header("if-match") == "W/\"2\"");
  BOOST_TEST(head.head_size == text.size() - 5);
  BOOST_TEST(head.keep_alive());
}

BOOST_AUTO_TEST_CASE(IncompleteUntilBlankLine) {
  fhir::rest::HttpRequestHead head;
  std::string error;
  BOOST_TEST((ParseRequestHead("GET / HTTP/1.1\r\nHost: x\r\n", head, error) ==
              ParseState::kIncomplete));
}

BOOST_AUTO_TEST_CASE(KeepAliveRules) {
  fhir::rest::HttpRequestHead head;
  std::string error;
  BOOST_REQUIRE(ParseRequestHead("GET / HTTP/1.0\r\n\r\n", head, error) == ParseState::kComplete);
  BOOST_TEST(!head.keep_alive());
  BOOST_REQUIRE(ParseRequestHead("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", head, error) ==
                ParseState::kComplete);
  BOOST_TEST(head.keep_alive());
  BOOST_REQUIRE(ParseRequestHead("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", head, error) ==
                ParseState::kComplete);
  BOOST_TEST(!head.keep_alive());
}

BOOST_AUTO_TEST_CASE(RejectsMalformed) {
  fhir::rest::HttpRequestHead head;
  std::string error;
  for (const char* bad : {"GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET http://x/ HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nNo colon\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n",
                          "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"}) {
    BOOST_TEST((ParseRequestHead(bad, head, error) == ParseState::kError), bad);
    BOOST_TEST(!error.empty());
  }
}

// A kept-alive connection parses every request into the same head (its strings are reused):
// nothing of one request may show in the next, nor after a malformed one.
BOOST_AUTO_TEST_CASE(AHeadParsedOverAnotherKeepsNothingOfIt) {
  fhir::rest::HttpRequestHead head;
  std::string error;
  BOOST_REQUIRE(ParseRequestHead("POST /fhir/R4/Observation HTTP/1.0\r\nHost: a\r\n"
                                 "Authorization: Bearer first-token\r\nContent-Length: 2\r\n\r\n",
                                 head, error) == ParseState::kComplete);
  BOOST_TEST(head.headers.size() == 3u);
  BOOST_REQUIRE(ParseRequestHead("GET /x HTTP/1.1\r\nHost: b\r\n\r\n", head, error) ==
                ParseState::kComplete);
  BOOST_TEST(head.method == "GET");
  BOOST_TEST(head.target == "/x");
  BOOST_TEST(head.minor_version == 1);
  BOOST_TEST(head.headers.size() == 1u);
  BOOST_TEST(head.Header("Host") == "b");
  BOOST_TEST(head.Header("Authorization").empty());
  BOOST_TEST(head.Header("Content-Length").empty());
  BOOST_TEST((ParseRequestHead("GET / HTTP/1.1\r\nNo colon\r\n\r\n", head, error) ==
              ParseState::kError));
  BOOST_TEST(head.headers.empty());
  BOOST_REQUIRE(ParseRequestHead("GET /y HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
                                 head, error) == ParseState::kComplete);
  BOOST_TEST(head.headers.size() == 4u);
  BOOST_TEST(head.Header("d") == "4");
  BOOST_TEST(head.target == "/y");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ChunkedBody)

BOOST_AUTO_TEST_CASE(DecodesChunksExtensionsAndTrailers) {
  std::string body, error;
  std::size_t consumed = 0;
  std::string text = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: y\r\n\r\nNEXT";
  BOOST_REQUIRE(fhir::rest::DecodeChunkedBody(text, 100, body, consumed, error) ==
                ParseState::kComplete);
  BOOST_TEST(body == "Wikipedia");
  BOOST_TEST(text.substr(consumed) == "NEXT");
}

BOOST_AUTO_TEST_CASE(IncompleteTooLargeAndMalformed) {
  std::string body, error;
  std::size_t consumed = 0;
  BOOST_TEST((fhir::rest::DecodeChunkedBody("4\r\nWi", 100, body, consumed, error) ==
              ParseState::kIncomplete));
  BOOST_TEST((fhir::rest::DecodeChunkedBody("ff\r\n", 10, body, consumed, error) ==
              ParseState::kError));
  BOOST_TEST((fhir::rest::DecodeChunkedBody("zz\r\n", 10, body, consumed, error) ==
              ParseState::kError));
  BOOST_TEST((fhir::rest::DecodeChunkedBody("2\r\nabX\r\n", 10, body, consumed, error) ==
              ParseState::kError));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ResponseSerialization)

BOOST_AUTO_TEST_CASE(OneBufferWithLengthAndHeaders) {
  fhir::rest::RestResponse res;
  res.status = 201;
  res.content_type = "application/fhir+json";
  res.body = "{}";
  res.SetHeader("ETag", "W/\"1\"");
  std::string out;
  fhir::rest::SerializeResponse(res, true, true, "Sat, 28 Nov 2026 05:00:00 GMT", out);
  BOOST_TEST(out.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  BOOST_TEST(out.find("Content-Length: 2\r\n") != std::string::npos);
  BOOST_TEST(out.find("ETag: W/\"1\"\r\n") != std::string::npos);
  BOOST_TEST(out.find("Connection: close") == std::string::npos);
  BOOST_TEST(out.substr(out.size() - 6) == "\r\n\r\n{}");
}

BOOST_AUTO_TEST_CASE(NoBodyFor304AndHead) {
  fhir::rest::RestResponse res;
  res.status = 304;
  res.body = "ignored";
  std::string out;
  fhir::rest::SerializeResponse(res, false, true, "d", out);
  BOOST_TEST(out.find("Content-Length") == std::string::npos);
  BOOST_TEST(out.find("Connection: close\r\n") != std::string::npos);
  BOOST_TEST(out.substr(out.size() - 4) == "\r\n\r\n");
  res.status = 200;
  out.clear();
  fhir::rest::SerializeResponse(res, true, false, "d", out);
  BOOST_TEST(out.find("Content-Length: 7\r\n") != std::string::npos);
  BOOST_TEST(out.substr(out.size() - 4) == "\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(SplitTargetDecodesThePathOnly) {
  std::string path, query;
  fhir::rest::SplitTarget("/fhir/R4/Patient%2F1?name=a%20b#frag", path, query);
  BOOST_TEST(path == "/fhir/R4/Patient/1");
  BOOST_TEST(query == "name=a%20b");
}

BOOST_AUTO_TEST_SUITE_END()
