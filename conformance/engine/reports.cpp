#include "conformance/engine/reports.h"

#include <cstdio>
#include <sstream>

#include "common/json.h"

namespace conformance::engine {

namespace {

constexpr std::size_t kBodyShown = 2000;

std::string Clip(const std::string& s, std::size_t n = kBodyShown) {
  if (s.size() <= n) return s;
  return s.substr(0, n) + "\n... (" + std::to_string(s.size() - n) + " more bytes)";
}

std::string Tag(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "PASS";
    case Outcome::kFail: return "FAIL";
    case Outcome::kWarning: return "WARN";
    case Outcome::kSkip: return "SKIP";
    case Outcome::kError: return "ERROR";
  }
  return "?";
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fs", s);
  return buf;
}

std::string Counts(const ScriptResult& r) {
  return std::to_string(r.Count(Outcome::kPass)) + " passed, " +
         std::to_string(r.Count(Outcome::kFail)) + " failed, " +
         std::to_string(r.Count(Outcome::kWarning)) + " warnings, " +
         std::to_string(r.Count(Outcome::kSkip)) + " skipped, " +
         std::to_string(r.Count(Outcome::kError)) + " errors";
}

std::string HeadersText(const HeaderList& headers) {
  std::string out;
  for (const auto& [k, v] : headers) {
    // Credentials never go into a report.
    bool secret = k == "Authorization" || k == "authorization";
    out += k + ": " + (secret ? std::string("(hidden)") : v) + "\n";
  }
  return out;
}

std::string ExchangeText(const Exchange& ex, const std::string& indent) {
  std::string out;
  auto add = [&](const std::string& block) {
    std::stringstream ss(block);
    for (std::string line; std::getline(ss, line);) out += indent + line + "\n";
  };
  add("request: " + ex.request.method + " " + ex.request.url);
  if (!ex.request.body.empty()) add(Clip(ex.request.body, 800));
  add("response: " + std::to_string(ex.response.status) + " " + ex.response.reason);
  add(HeadersText(ex.response.headers));
  if (!ex.response.body.empty()) add(Clip(ex.response.body));
  return out;
}

void WriteSection(const SectionResult& s, std::ostream& out, bool verbose) {
  out << "  " << Tag(s.outcome) << "  " << s.name;
  if (!s.message.empty() && s.outcome != Outcome::kPass) out << " — " << s.message;
  out << "\n";
  for (const ActionResult& a : s.actions) {
    bool interesting = a.outcome != Outcome::kPass;
    if (!verbose && !interesting) continue;
    if (!verbose && a.outcome == Outcome::kSkip && s.outcome == Outcome::kSkip) continue;
    out << "      " << Tag(a.outcome) << "  " << (a.is_operation ? "[op] " : "") << a.label;
    if (!a.message.empty()) out << ": " << a.message;
    out << "\n";
    if ((a.outcome == Outcome::kFail || a.outcome == Outcome::kError) && a.exchange) {
      out << ExchangeText(*a.exchange, "            ");
    }
  }
}

std::string Xml(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += "?";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string_view ReportResult(Outcome o) {
  // TestReport.setup.action.assert.result: pass | skip | fail | warning | error
  return OutcomeName(o);
}

void AppendActions(std::string& out, const SectionResult& s, bool teardown) {
  out += "\"action\":[";
  bool first = true;
  for (const ActionResult& a : s.actions) {
    if (teardown && !a.is_operation) continue;
    if (!first) out += ",";
    first = false;
    out += a.is_operation ? "{\"operation\":{" : "{\"assert\":{";
    out += "\"result\":\"";
    Outcome o = a.outcome;
    if (teardown && o == Outcome::kFail) o = Outcome::kError;
    out += ReportResult(o);
    out += "\"";
    std::string message = a.label + (a.message.empty() ? "" : ": " + a.message);
    out += ",\"message\":";
    common::AppendJsonString(out, message);
    out += "}}";
  }
  out += "]";
}

bool HasActions(const SectionResult& s, bool teardown) {
  for (const ActionResult& a : s.actions) {
    if (!teardown || a.is_operation) return true;
  }
  return false;
}

}  // namespace

void WriteConsole(const std::vector<ScriptResult>& results, std::ostream& out, bool verbose) {
  int passed = 0, failed = 0, skipped = 0, errors = 0;
  for (const ScriptResult& r : results) {
    out << "== " << Tag(r.outcome) << "  " << r.name << "  (" << r.file << ")  " << Counts(r)
        << ", " << Seconds(r.seconds) << "\n";
    if (!r.message.empty() && r.outcome != Outcome::kPass) out << "   " << r.message << "\n";
    if (r.setup) WriteSection(*r.setup, out, verbose);
    for (const auto& t : r.tests) WriteSection(t, out, verbose);
    if (r.teardown && (verbose || r.teardown->outcome != Outcome::kPass)) {
      WriteSection(*r.teardown, out, verbose);
    }
    switch (r.outcome) {
      case Outcome::kPass: ++passed; break;
      case Outcome::kFail: case Outcome::kWarning: ++failed; break;
      case Outcome::kSkip: ++skipped; break;
      case Outcome::kError: ++errors; break;
    }
  }
  if (results.size() == 1) return;
  out << "\n" << results.size() << " script(s): " << passed << " passed, " << failed
      << " failed, " << skipped << " skipped, " << errors << " errors\n";
}

std::string TestReportJson(const ScriptResult& r) {
  std::string out = "{\"resourceType\":\"TestReport\",\"status\":\"completed\"";
  out += ",\"name\":";
  common::AppendJsonString(out, r.name);
  out += ",\"testScript\":{";
  if (!r.url.empty()) {
    out += "\"reference\":";
    common::AppendJsonString(out, r.url);
    out += ",";
  }
  out += "\"display\":";
  common::AppendJsonString(out, r.name);
  out += "}";
  out += ",\"result\":\"";
  out += r.outcome == Outcome::kPass ? "pass" : r.outcome == Outcome::kSkip ? "pending" : "fail";
  out += "\"";
  int total = r.Count(Outcome::kPass) + r.Count(Outcome::kFail) + r.Count(Outcome::kError) +
              r.Count(Outcome::kWarning) + r.Count(Outcome::kSkip);
  if (total > 0) {
    char score[32];
    std::snprintf(score, sizeof score, "%.1f",
                  100.0 * (r.Count(Outcome::kPass) + r.Count(Outcome::kWarning)) / total);
    out += ",\"score\":";
    out += score;
  }
  out += ",\"tester\":\"Fovea conformance runner\",\"issued\":";
  common::AppendJsonString(out, r.started);
  if (r.setup && HasActions(*r.setup, false)) {
    out += ",\"setup\":{";
    AppendActions(out, *r.setup, false);
    out += "}";
  }
  bool any_test = false;
  for (const SectionResult& t : r.tests) {
    if (!HasActions(t, false)) continue;
    out += any_test ? "," : ",\"test\":[";
    any_test = true;
    out += "{\"name\":";
    common::AppendJsonString(out, t.name);
    if (!t.description.empty()) {
      out += ",\"description\":";
      common::AppendJsonString(out, t.description);
    }
    out += ",";
    AppendActions(out, t, false);
    out += "}";
  }
  if (any_test) out += "]";
  if (r.teardown && HasActions(*r.teardown, true)) {
    out += ",\"teardown\":{";
    AppendActions(out, *r.teardown, true);
    out += "}";
  }
  out += "}";
  return out;
}

std::string JUnitXml(const std::vector<ScriptResult>& results) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"fovea conformance\">\n";
  for (const ScriptResult& r : results) {
    std::vector<const SectionResult*> cases;
    if (r.setup && r.setup->outcome != Outcome::kPass) cases.push_back(&*r.setup);
    for (const auto& t : r.tests) cases.push_back(&t);
    int failures = 0, errors = 0, skipped = 0;
    for (const SectionResult* c : cases) {
      failures += c->outcome == Outcome::kFail;
      errors += c->outcome == Outcome::kError;
      skipped += c->outcome == Outcome::kSkip;
    }
    if (r.outcome == Outcome::kError && cases.empty()) ++errors;
    out += "  <testsuite name=\"" + Xml(r.name) + "\" tests=\"" + std::to_string(cases.size()) +
           "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(errors) +
           "\" skipped=\"" + std::to_string(skipped) + "\" time=\"" + Seconds(r.seconds).substr(0, Seconds(r.seconds).size() - 1) +
           "\" timestamp=\"" + Xml(r.started) + "\" file=\"" + Xml(r.file) + "\">\n";
    for (const SectionResult* c : cases) {
      out += "    <testcase classname=\"" + Xml(r.name) + "\" name=\"" + Xml(c->name) + "\"";
      if (c->outcome == Outcome::kPass) {
        out += "/>\n";
        continue;
      }
      out += ">\n";
      std::string detail;
      for (const ActionResult& a : c->actions) {
        if (a.outcome == Outcome::kPass) continue;
        detail += Tag(a.outcome) + " " + a.label + (a.message.empty() ? "" : ": " + a.message) + "\n";
        if ((a.outcome == Outcome::kFail || a.outcome == Outcome::kError) && a.exchange) {
          detail += ExchangeText(*a.exchange, "  ");
        }
      }
      const char* element = c->outcome == Outcome::kFail    ? "failure"
                            : c->outcome == Outcome::kError ? "error"
                                                            : "skipped";
      out += std::string("      <") + element + " message=\"" + Xml(c->message) + "\">" +
             Xml(detail) + "</" + element + ">\n";
      out += "    </testcase>\n";
    }
    if (r.outcome == Outcome::kError && cases.empty()) {
      out += "    <testcase classname=\"" + Xml(r.name) + "\" name=\"script\"><error message=\"" +
             Xml(r.message) + "\"/></testcase>\n";
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

std::string HtmlReport(const std::vector<ScriptResult>& results, const std::string& base) {
  int passed = 0, other = 0;
  for (const auto& r : results) (r.outcome == Outcome::kPass ? passed : other)++;
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Fovea conformance report</title><style>"
      "body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}"
      "h1{font-size:1.5em}.pass{color:#146c2e}.fail,.error{color:#b3261e}.warning{color:#8a5a00}"
      ".skip{color:#666}.tag{display:inline-block;min-width:4.5em;font-weight:bold}"
      "section{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.5em 1em}"
      "section>h2{font-size:1.1em;margin:.3em 0}ul{list-style:none;padding-left:1em}"
      "li{margin:.15em 0}pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:12px;"
      "white-space:pre-wrap}details>summary{cursor:pointer}.meta{color:#666;font-size:.9em}"
      "</style></head><body>\n";
  out += "<h1>Fovea conformance report</h1><p class=\"meta\">Server: " + Xml(base) + " &middot; " +
         std::to_string(results.size()) + " script(s): <span class=\"pass\">" +
         std::to_string(passed) + " passed</span>, <span class=\"fail\">" +
         std::to_string(other) + " not passed</span></p>\n";
  for (const ScriptResult& r : results) {
    std::string cls(OutcomeName(r.outcome));
    out += "<section><h2><span class=\"tag " + cls + "\">" + Tag(r.outcome) + "</span> " +
           Xml(r.name) + "</h2><p class=\"meta\">" + Xml(r.file) + " &middot; " + Xml(Counts(r)) +
           " &middot; " + Seconds(r.seconds) + "</p>";
    if (!r.message.empty() && r.outcome != Outcome::kPass) {
      out += "<p class=\"" + cls + "\">" + Xml(r.message) + "</p>";
    }
    std::vector<const SectionResult*> sections;
    if (r.setup) sections.push_back(&*r.setup);
    for (const auto& t : r.tests) sections.push_back(&t);
    if (r.teardown) sections.push_back(&*r.teardown);
    for (const SectionResult* s : sections) {
      std::string scls(OutcomeName(s->outcome));
      out += std::string("<details") + (s->outcome == Outcome::kPass ? "" : " open") +
             "><summary><span class=\"tag " + scls + "\">" + Tag(s->outcome) + "</span> " +
             Xml(s->name) + (s->message.empty() || s->outcome == Outcome::kPass
                                 ? ""
                                 : " &mdash; " + Xml(s->message)) +
             "</summary><ul>";
      for (const ActionResult& a : s->actions) {
        std::string acls(OutcomeName(a.outcome));
        out += "<li><span class=\"tag " + acls + "\">" + Tag(a.outcome) + "</span> " +
               (a.is_operation ? "<em>operation</em> " : "") + Xml(a.label) +
               (a.message.empty() ? "" : ": " + Xml(a.message));
        if ((a.outcome == Outcome::kFail || a.outcome == Outcome::kError) && a.exchange) {
          out += "<pre>" + Xml(ExchangeText(*a.exchange, "")) + "</pre>";
        }
        out += "</li>";
      }
      out += "</ul></details>";
    }
    out += "</section>\n";
  }
  out += "</body></html>\n";
  return out;
}

}  // namespace conformance::engine
