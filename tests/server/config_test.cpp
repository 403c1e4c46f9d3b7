// server/config: the transport flags and the plain-HTTP-on-loopback-only rule.

#include "server/config.h"

#include <boost/test/unit_test.hpp>

BOOST_AUTO_TEST_SUITE(ConfigTransport)

BOOST_AUTO_TEST_CASE(TlsFlagsAreRead) {
  auto c = server::ParseConfig({"serve", "--tls-cert", "c.pem", "--tls-key", "k.pem"});
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->tls_cert == "c.pem");
  BOOST_TEST(c->tls_key == "k.pem");
}

BOOST_AUTO_TEST_CASE(PlainHttpServesOnlyOnLoopback) {
  BOOST_TEST(server::ParseConfig({"serve"}).has_value());  // default 127.0.0.1
  BOOST_TEST(server::ParseConfig({"serve", "--bind", "::1"}).has_value());
  BOOST_TEST(server::ParseConfig({"serve", "--bind", "localhost"}).has_value());
  auto refused = server::ParseConfig({"serve", "--bind", "0.0.0.0"});
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message().find("--tls-cert") != std::string::npos);
  BOOST_TEST(!server::ParseConfig({"--bind", "192.168.1.10"}).has_value());  // serve by default
}

BOOST_AUTO_TEST_CASE(TlsServesOnAnyAddress) {
  BOOST_TEST(server::ParseConfig(
                 {"serve", "--bind", "0.0.0.0", "--tls-cert", "c.pem", "--tls-key", "k.pem"})
                 .has_value());
}

BOOST_AUTO_TEST_CASE(OtherCommandsDoNotCareAboutTheBindAddress) {
  BOOST_TEST(server::ParseConfig({"migrate", "--bind", "0.0.0.0"}).has_value());
}

BOOST_AUTO_TEST_CASE(CertificateAndKeyGoTogether) {
  BOOST_TEST(!server::ParseConfig({"serve", "--tls-cert", "c.pem"}).has_value());
  BOOST_TEST(!server::ParseConfig({"serve", "--tls-key", "k.pem"}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(BundleAndConditionalDeleteLimits) {
  auto c = server::ParseConfig({"serve", "--max-bundle-entries", "500", "--conditional-delete-max", "20",
                                "--strict-xml"});
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->max_bundle_entries == 500u);
  BOOST_TEST(c->max_conditional_deletes == 20u);
  BOOST_TEST(c->strict_xml);
  auto defaults = server::ParseConfig({"serve"});
  BOOST_TEST(defaults->max_bundle_entries == 10000u);
  BOOST_TEST(defaults->max_conditional_deletes == 1u);
  BOOST_TEST(!server::ParseConfig({"serve", "--conditional-delete-max", "0"}).has_value());
  BOOST_TEST(!server::ParseConfig({"serve", "--max-bundle-entries", "lots"}).has_value());
}

BOOST_AUTO_TEST_CASE(RestHookDeliverySettings) {
  auto c = server::ParseConfig({"serve", "--rest-hook-workers", "4", "--rest-hook-max-attempts", "3"});
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->rest_hook_workers == 4);
  BOOST_TEST(c->rest_hook_max_attempts == 3);
  auto defaults = server::ParseConfig({"serve"});
  BOOST_TEST(defaults->rest_hook_workers == 2);
  BOOST_TEST(defaults->rest_hook_max_attempts == 16);
  BOOST_TEST(!server::ParseConfig({"serve", "--rest-hook-workers", "0"}).has_value());
  BOOST_TEST(!server::ParseConfig({"serve", "--rest-hook-max-attempts", "never"}).has_value());
}

BOOST_AUTO_TEST_CASE(ProvenanceStorage) {
  BOOST_TEST(server::ParseConfig({"serve"})->provenance_from_audit_trail);  // the default
  BOOST_TEST(server::ParseConfig({"serve", "--provenance", "audit-trail"})->provenance_from_audit_trail);
  BOOST_TEST(!server::ParseConfig({"serve", "--provenance", "resource"})->provenance_from_audit_trail);
  BOOST_TEST(!server::ParseConfig({"serve", "--provenance", "derived"}).has_value());
}

BOOST_AUTO_TEST_CASE(StepAlertLimits) {
  auto c = server::ParseConfig({"serve", "--alert-wait-minutes", "5", "--alert-run-minutes", "0"});
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->alert_wait_minutes == 5);
  BOOST_TEST(c->alert_run_minutes == 0);
  auto defaults = server::ParseConfig({"serve"});
  BOOST_TEST(defaults->alert_wait_minutes == 15);
  BOOST_TEST(defaults->alert_run_minutes == 30);
  BOOST_TEST(!server::ParseConfig({"serve", "--alert-wait-minutes", "-1"}).has_value());
}

BOOST_AUTO_TEST_SUITE(ConfigConsole)

BOOST_AUTO_TEST_CASE(DemoDataOnlyForTheEmbeddedDefaultUnlessAsked) {
  using DemoData = server::Config::DemoData;
  BOOST_TEST((server::ParseConfig({"serve"})->demo_data == DemoData::kEmbeddedOnly));
  BOOST_TEST((server::ParseConfig({"serve", "--demo-data"})->demo_data == DemoData::kLoad));
  BOOST_TEST((server::ParseConfig({"serve", "--no-demo-data"})->demo_data == DemoData::kNever));
  BOOST_TEST((server::ParseConfig({"serve", "--demo-data", "--no-demo-data"})->demo_data ==
              DemoData::kNever));  // the last flag wins
}

BOOST_AUTO_TEST_CASE(ConsoleDirectoryMustExist) {
  auto c = server::ParseConfig({"serve", "--console-dir", FOVEA_SOURCE_DIR "/web"});
  BOOST_REQUIRE(c.has_value());
  BOOST_TEST(c->console_dir == FOVEA_SOURCE_DIR "/web");
  auto missing = server::ParseConfig({"serve", "--console-dir", "/nonexistent/console"});
  BOOST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().message().find("not a directory") != std::string::npos);
  BOOST_TEST(!server::ParseConfig({"serve", "--console-dir"}).has_value());  // needs a value
}

BOOST_AUTO_TEST_SUITE_END()
