// fhir/rest/bind_address: which bind addresses may serve plain HTTP.

#include "fhir/rest/bind_address.h"

#include <boost/test/unit_test.hpp>
#include <string_view>

namespace {

struct Case {
  std::string_view host;
  bool loopback;
};

constexpr Case kCases[] = {
    {"127.0.0.1", true},
    {"127.0.0.53", true},
    {"127.255.255.254", true},
    {"::1", true},
    {"0:0:0:0:0:0:0:1", true},
    {"::ffff:127.0.0.1", true},
    {"localhost", true},
    {"LocalHost", true},

    {"0.0.0.0", false},
    {"::", false},
    {"", false},
    {"10.0.0.5", false},
    {"192.168.1.10", false},
    {"128.0.0.1", false},
    {"126.255.255.255", false},
    {"::2", false},
    {"::ffff:10.0.0.1", false},
    {"fe80::1", false},
    {"localhost.example.org", false},
    {"mylocalhost", false},
    {"127.0.0.1 ", false},
    {"127.1", false},
    {"[::1]", false},
    {"example.org", false},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(IsLoopbackAddress)

BOOST_AUTO_TEST_CASE(LoopbackOnly) {
  for (const Case& c : kCases) {
    BOOST_TEST_CONTEXT("host '" << c.host << "'") {
      BOOST_TEST(fhir::rest::IsLoopbackAddress(c.host) == c.loopback);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
