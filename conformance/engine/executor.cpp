#include "conformance/engine/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "common/json.h"
#include "common/url.h"
#include "conformance/engine/websocket_client.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "fhir/model/issues.h"

namespace conformance::engine {

namespace {

namespace fs = std::filesystem;
using common::JsonValue;

// A test cannot go on for a reason that is not the server's fault (a fixture file that is
// not there, a variable nobody gave a value). Caught per section.
struct SkipSection {
  std::string reason;
};

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsXmlCode(const std::string& code) { return code.find("xml") != std::string::npos; }

std::string MimeFor(const std::string& code) {
  if (code.empty() || code == "json") return "application/fhir+json";
  if (code == "xml") return "application/fhir+xml";
  if (code == "ttl") return "text/turtle";
  if (code == "json-patch") return "application/json-patch+json";
  return code;
}

struct Target {
  std::string type;
  std::string id;
  std::string version;
};

// Type/id[/_history/v] at the end of a URL or reference.
std::optional<Target> ParseLocation(std::string url) {
  if (std::size_t q = url.find('?'); q != std::string::npos) url.resize(q);
  std::vector<std::string> parts;
  std::stringstream ss(url);
  for (std::string part; std::getline(ss, part, '/');) parts.push_back(part);
  std::size_t n = parts.size();
  if (n >= 4 && parts[n - 2] == "_history") {
    return Target{parts[n - 4], parts[n - 3], parts[n - 1]};
  }
  if (n >= 2 && !parts[n - 1].empty()) return Target{parts[n - 2], parts[n - 1], ""};
  return std::nullopt;
}

std::optional<Target> TargetOfJson(const std::string& json) {
  if (json.empty()) return std::nullopt;
  auto v = common::ParseJson(json);
  if (!v.has_value() || !v->is_object()) return std::nullopt;
  const JsonValue* type = v->Find("resourceType");
  const JsonValue* id = v->Find("id");
  if (type == nullptr || id == nullptr) return std::nullopt;
  Target t{type->scalar(), id->scalar(), ""};
  if (const JsonValue* meta = v->Find("meta"); meta != nullptr) {
    if (const JsonValue* vid = meta->Find("versionId"); vid != nullptr) t.version = vid->scalar();
  }
  return t;
}

// One script's run: the state the spec gives a TestScript engine.
class ScriptRun {
 public:
  ScriptRun(HttpTransport& transport, const RunOptions& options, const TestScript& script)
      : transport_(transport), options_(options), script_(script) {
    base_ = options.base;
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    for (auto [n, url] : options.destinations) {
      while (!url.empty() && url.back() == '/') url.pop_back();
      destinations_[n] = url;
    }
  }

  ScriptResult Execute() {
    ScriptResult result;
    result.file = script_.source_file;
    result.name = script_.DisplayName();
    result.id = script_.id;
    result.url = script_.url;
    result.started = NowIso();
    auto t0 = std::chrono::steady_clock::now();
    LoadFixtures();

    SectionResult setup;
    setup.name = "setup";
    bool setup_ok = true;
    try {
      if (AutoCreate(setup)) {
        RunActions(script_.setup, setup);
      } else {
        SkipRemaining(script_.setup, 0, setup, "autocreate failed");
      }
    } catch (const SkipSection& skip) {
      setup.outcome = Outcome::kSkip;
      setup.message = skip.reason;
    }
    Finish(setup);
    setup_ok = setup.outcome == Outcome::kPass;
    if (!setup.actions.empty() || setup.outcome != Outcome::kPass) result.setup = setup;

    for (const Test& test : script_.tests) {
      SectionResult section;
      section.name = test.name;
      section.description = test.description;
      if (!setup_ok) {
        section.outcome = Outcome::kSkip;
        section.message = setup.outcome == Outcome::kSkip ? "setup was skipped: " + setup.message
                                                          : "setup did not pass";
        SkipRemaining(test.actions, 0, section, section.message);
      } else {
        try {
          RunActions(test.actions, section);
        } catch (const SkipSection& skip) {
          section.outcome = Outcome::kSkip;
          section.message = skip.reason;
        }
        Finish(section);
      }
      result.tests.push_back(std::move(section));
      if (aborted_) break;
    }

    SectionResult teardown;
    teardown.name = "teardown";
    try {
      if (!aborted_) RunActions(script_.teardown, teardown, /*teardown=*/true);
    } catch (const SkipSection& skip) {
      teardown.outcome = Outcome::kSkip;
      teardown.message = skip.reason;
    }
    if (!aborted_) AutoDelete(teardown);
    if (!teardown.actions.empty() || teardown.outcome == Outcome::kSkip) result.teardown = teardown;

    // The script's outcome: errors first, then failures, then skips.
    auto worst = [&](Outcome o) {
      if (result.setup && result.setup->outcome == o) return true;
      return std::any_of(result.tests.begin(), result.tests.end(),
                         [&](const SectionResult& s) { return s.outcome == o; });
    };
    if (aborted_ || worst(Outcome::kError)) {
      result.outcome = Outcome::kError;
      result.message = abort_reason_;
    } else if (worst(Outcome::kFail)) {
      result.outcome = Outcome::kFail;
    } else if (worst(Outcome::kSkip)) {
      result.outcome = Outcome::kSkip;
      result.message = result.setup && result.setup->outcome == Outcome::kSkip
                           ? result.setup->message
                           : "some tests were skipped";
      for (const auto& t : result.tests) {
        if (t.outcome == Outcome::kSkip && result.message == "some tests were skipped") {
          result.message = "skipped '" + t.name + "': " + t.message;
        }
      }
    }
    if (script_.tests.empty() && result.outcome == Outcome::kPass && !result.setup) {
      result.outcome = Outcome::kSkip;
      result.message = "the script has no tests";
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
  }

 private:
  // ---- fixtures ----

  void LoadFixtures() {
    fs::path dir = fs::path(script_.source_file).parent_path();
    for (const Fixture& f : script_.fixtures) {
      if (f.reference.empty()) {
        missing_[f.id] = "fixture '" + f.id + "' has no resource reference";
        continue;
      }
      std::vector<fs::path> candidates;
      std::vector<fs::path> dirs{dir};
      for (const auto& d : options_.fixture_dirs) dirs.emplace_back(d);
      for (const fs::path& d : dirs) {
        candidates.push_back(d / f.reference);
        // Type/id may also be the spec's example file name: Type-id.json (examples-json).
        std::string dashed = f.reference;
        if (std::size_t slash = dashed.find('/'); slash != std::string::npos) dashed[slash] = '-';
        for (const char* ext : {".json", ".xml"}) {
          candidates.push_back(d / (f.reference + ext));
          if (dashed != f.reference) candidates.push_back(d / (dashed + ext));
          candidates.push_back(d / "fixtures" / (f.reference + ext));
          candidates.push_back(d / "_reference" / "resources" / (f.reference + ext));
        }
      }
      bool found = false;
      for (const fs::path& c : candidates) {
        std::error_code ec;
        if (!fs::is_regular_file(c, ec)) continue;
        // Kept even when it is not a readable resource: a script may send a broken body on
        // purpose (error handling); asserts on it then say why it cannot be read.
        std::string text = ReadFile(c);
        raw_[f.id] = text;
        sources_[f.id] = Source::FromText(text);
        found = true;
        break;
      }
      if (!found) {
        missing_[f.id] = "fixture '" + f.id + "' (" + f.reference +
                         ") was not found next to the script" +
                         (options_.fixture_dirs.empty() ? "" : " or in --fixtures") +
                         "; it is not shipped with this TestScript";
      }
    }
  }

  void RequireFixture(const std::string& id) {
    if (auto it = missing_.find(id); it != missing_.end()) throw SkipSection{it->second};
  }

  const Source* FindSource(const std::string& id) {
    auto it = sources_.find(id);
    return it == sources_.end() ? nullptr : &it->second;
  }

  // False when a fixture could not be created (the setup then does not run).
  bool AutoCreate(SectionResult& section) {
    for (const Fixture& f : script_.fixtures) {
      if (!f.autocreate) continue;
      RequireFixture(f.id);
      Operation op;
      op.type_code = "create";
      op.source_id = f.id;
      op.label = "autocreate " + f.id;
      auto target = TargetOfJson(sources_[f.id].json());
      op.resource = target ? target->type : "";
      if (op.resource.empty()) {
        auto v = common::ParseJson(sources_[f.id].json());
        if (v.has_value() && v->Find("resourceType")) op.resource = v->Find("resourceType")->scalar();
      }
      ActionResult r = Perform(op);
      bool ok = r.exchange && r.exchange->response.status / 100 == 2;
      if (!ok && r.outcome == Outcome::kPass) {
        r.outcome = Outcome::kFail;
        r.message = "autocreate of " + f.id + " was answered " +
                    std::to_string(r.exchange ? r.exchange->response.status : 0);
      }
      section.actions.push_back(std::move(r));
      if (!ok) return false;
    }
    return true;
  }

  void AutoDelete(SectionResult& section) {
    for (const Fixture& f : script_.fixtures) {
      if (!f.autodelete) continue;
      auto it = server_ids_.find(f.id);
      if (it == server_ids_.end()) continue;
      Operation op;
      op.type_code = "delete";
      op.target_id = f.id;
      op.label = "autodelete " + f.id;
      try {
        section.actions.push_back(Perform(op));
      } catch (const SkipSection&) {
      }
    }
  }

  // ---- variables ----

  std::string Variable(const std::string& name) {
    if (auto it = options_.variables.find(name); it != options_.variables.end()) return it->second;
    if (name == "receiverUrl") return EnsureReceiver().url();
    if (name == "baseUrl") return base_;
    if (name == "runId") return RunId();
    auto var = std::find_if(script_.variables.begin(), script_.variables.end(),
                            [&](const engine::Variable& v) { return v.name == name; });
    if (var == script_.variables.end()) {
      throw SkipSection{"${" + name + "} is not a variable of this script (give it with --var " +
                        name + "=VALUE)"};
    }
    if (!var->source_id.empty()) RequireFixture(var->source_id);
    const Source* source = nullptr;
    Source last_source;
    if (!var->source_id.empty()) {
      source = FindSource(var->source_id);
    } else if (last_) {
      last_source = Source::FromExchange(*last_, false);
      source = &last_source;
    }
    if (!var->header_field.empty() && source != nullptr && source->exchange() != nullptr) {
      const std::string* h = FindHeader(source->exchange()->response.headers, var->header_field);
      if (h != nullptr && !h->empty()) return *h;
    }
    std::string expr = var->expression;
    if (expr.empty() && !var->path.empty()) {
      auto fp = XPathToFhirPath(var->path);
      if (!fp) throw SkipSection{"variable " + name + ": path '" + var->path +
                                 "' is XPath/JSONPath the engine does not evaluate"};
      expr = *fp;
    }
    if (!expr.empty() && source != nullptr) {
      auto values = EvaluateToStrings(expr, *source);
      if (values.has_value()) {
        for (const auto& v : *values) {
          if (!v.empty()) return v;
        }
      }
    }
    if (var->has_default) return var->default_value;
    throw SkipSection{"variable " + name + " has no value" +
                      (var->hint.empty() ? std::string() : " (it asks for input: " + var->hint + ")") +
                      "; give one with --var " + name + "=VALUE"};
  }

  std::string Substitute(const std::string& text) {
    std::string out;
    std::size_t pos = 0;
    while (true) {
      std::size_t start = text.find("${", pos);
      if (start == std::string::npos) break;
      std::size_t end = text.find('}', start);
      if (end == std::string::npos) break;
      out.append(text, pos, start - pos);
      out += Variable(text.substr(start + 2, end - start - 2));
      pos = end + 1;
    }
    out.append(text, pos, std::string::npos);
    return out;
  }

  Assert SubstituteAssert(Assert a) {
    for (std::string* s : {&a.value, &a.expression, &a.compare_to_source_expression,
                           &a.header_field, &a.request_url, &a.response_code, &a.path}) {
      *s = Substitute(*s);
    }
    return a;
  }

  // Unique per script run, so that a suite can find exactly what it created on a server that
  // holds other data (an EHR's test system).
  const std::string& RunId() {
    if (run_id_.empty()) {
      std::random_device rd;
      char buf[17];
      std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
      run_id_ = buf;
    }
    return run_id_;
  }

  Receiver& EnsureReceiver() {
    if (!receiver_) {
      receiver_ = std::make_unique<Receiver>(options_.receiver_bind, options_.receiver_url);
    }
    return *receiver_;
  }

  // ---- operations ----

  std::optional<Target> TargetOf(const std::string& fixture_id) {
    RequireFixture(fixture_id);
    if (auto it = server_ids_.find(fixture_id); it != server_ids_.end()) return it->second;
    // A fixture file may name its id with a variable ("id": "${patientId}").
    if (auto raw = raw_.find(fixture_id); raw != raw_.end()) {
      return TargetOfJson(Source::FromText(Substitute(raw->second)).json());
    }
    const Source* s = FindSource(fixture_id);
    if (s == nullptr) return std::nullopt;
    if (auto t = TargetOfJson(s->json())) return t;
    if (s->exchange() != nullptr) {
      if (const std::string* loc = FindHeader(s->exchange()->response.headers, "Location")) {
        return ParseLocation(*loc);
      }
    }
    return std::nullopt;
  }

  std::string Body(const std::string& source_id, const std::string& content_type) {
    RequireFixture(source_id);
    std::string text;
    if (auto it = raw_.find(source_id); it != raw_.end()) {
      text = Substitute(it->second);
    } else if (const Source* s = FindSource(source_id)) {
      text = s->json();
      if (text.empty() && s->exchange() != nullptr) {
        text = s->request_side() ? s->exchange()->request.body : s->exchange()->response.body;
      }
    } else {
      throw SkipSection{"sourceId '" + source_id + "' names no fixture"};
    }
    std::size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] == '[') return text;  // JSON Patch
    bool is_xml = text[first] == '<';
    bool want_xml = IsXmlCode(content_type);
    if (is_xml == want_xml) return text;
    const auto& defs = fhir::definitions::Definitions::R4();
    fhir::model::OperationOutcomeSink issues;
    auto tree = is_xml ? fhir::format::ParseResourceXml(text, defs, issues)
                       : fhir::format::ParseResourceJson(text, defs, issues);
    if (!tree.has_value()) return text;  // sent as it is: the server's answer will say
    return want_xml ? fhir::format::WriteResourceXml(*tree) : fhir::format::WriteResourceJson(*tree);
  }

  static std::string Absolute(const std::string& url, const std::string& base) {
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) return url;
    std::string rel = url;
    while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
    return base + "/" + rel;
  }

  // operation.destination: --destination N=URL, else the base.
  const std::string& BaseFor(int destination) const {
    auto it = destinations_.find(destination);
    return it == destinations_.end() ? base_ : it->second;
  }

  static std::string EncodeUrl(const std::string& url) {
    std::string out;
    for (char c : url) {
      if (c == ' ') out += "%20";
      else if (c == '"') out += "%22";
      else out += c;
    }
    return out;
  }

  HttpRequest BuildRequest(const Operation& op) {
    const std::string& code = op.type_code;
    const std::string& base = BaseFor(op.destination);
    HttpRequest req;
    std::string method = Upper(op.method);
    bool has_body = !op.source_id.empty();
    if (method.empty()) {
      if (code == "read" || code == "vread" || code == "search" || code == "history" ||
          code == "capabilities") {
        method = "GET";
      } else if (code == "create" || code == "transaction" || code == "batch") {
        method = "POST";
      } else if (code == "update" || code == "updateCreate") {
        method = "PUT";
      } else if (code == "delete" || code == "deleteCondSingle" || code == "deleteCondMultiple") {
        method = "DELETE";
      } else if (code == "patch") {
        method = "PATCH";
      } else {
        method = has_body ? "POST" : "GET";
      }
    }
    req.method = method;

    std::string params = Substitute(op.params);
    if (!params.empty() && params[0] != '/' && params[0] != '?') params = "/" + params;
    std::string type = op.resource;
    std::optional<Target> target;
    if (!op.target_id.empty()) {
      target = TargetOf(op.target_id);
      if (!target) throw SkipSection{"targetId '" + op.target_id + "' has no resource id yet"};
      if (type.empty()) type = target->type;
    }
    std::string url;
    if (!op.url.empty()) {
      url = Absolute(Substitute(op.url), base);
    } else if (code == "capabilities") {
      url = base + "/metadata" + params;
    } else if (code == "transaction" || code == "batch") {
      url = base + params;
    } else if (code == "search" || code == "create" || code == "deleteCondSingle" ||
               code == "deleteCondMultiple") {
      url = base + (type.empty() ? "" : "/" + type) + params;
    } else if (code == "history") {
      if (!params.empty()) url = base + (type.empty() ? "" : "/" + type) + params;
      else if (target) url = base + "/" + target->type + "/" + target->id + "/_history";
      else url = base + (type.empty() ? "" : "/" + type) + "/_history";
    } else if (code == "read" || code == "vread" || code == "update" || code == "updateCreate" ||
               code == "delete" || code == "patch") {
      if (!params.empty()) {
        url = base + (type.empty() ? "" : "/" + type) + params;
      } else if (target) {
        url = base + "/" + target->type + "/" + target->id;
        if (code == "vread") url += "/_history/" + target->version;
      } else if (has_body && (code == "update" || code == "updateCreate")) {
        auto t = TargetOf(op.source_id);
        if (!t) throw SkipSection{"update: the source fixture has no id and no params/targetId"};
        url = base + "/" + t->type + "/" + t->id;
      } else {
        throw SkipSection{code + ": the operation has neither params, targetId nor url"};
      }
    } else {
      // An operation by name ($everything, $status, ...).
      std::string name = code.empty() ? "" : (code[0] == '$' ? code : "$" + code);
      url = base;
      if (!type.empty()) url += "/" + type;
      if (target) url += "/" + target->id;
      url += (name.empty() ? "" : "/" + name) + params;
    }
    req.url = op.encode_request_url ? EncodeUrl(url) : url;

    std::string accept = op.accept.empty() ? "json" : op.accept;
    req.headers.emplace_back("Accept", MimeFor(accept));
    if (has_body) {
      std::string content = op.content_type.empty() ? accept : op.content_type;
      req.body = Body(op.source_id, content);
      std::size_t first = req.body.find_first_not_of(" \t\r\n");
      if (first != std::string::npos && req.body[first] == '[') content = "json-patch";
      req.headers.emplace_back("Content-Type", MimeFor(content));
    }
    for (const Header& h : op.request_headers) {
      std::string value = Substitute(h.value);
      auto it = std::find_if(req.headers.begin(), req.headers.end(),
                             [&](const auto& kv) { return kv.first == h.field; });
      if (it != req.headers.end()) it->second = value;
      else req.headers.emplace_back(h.field, value);
    }
    for (const auto& h : options_.headers) req.headers.push_back(h);
    return req;
  }

  // The Fovea receiver operations (docs/CONFORMANCE.md).
  ActionResult ReceiverWait(const Operation& op) {
    ActionResult r;
    r.is_operation = true;
    r.label = op.label.empty() ? "wait for a callback" : op.label;
    std::string params = Substitute(op.params);
    auto query = common::ParseQueryString(params.empty() || params[0] != '?' ? params : params.substr(1));
    std::size_t count = 1;
    auto timeout = options_.receiver_timeout;
    auto number = [](std::string_view text, long max) -> long {
      long n = 0;
      for (char c : text) {
        if (c < '0' || c > '9' || n > max) return -1;
        n = n * 10 + (c - '0');
      }
      return text.empty() || n > max ? -1 : n;
    };
    if (auto c = common::FirstValue(query, "count"); !c.empty()) {
      long n = number(c, 10000);
      if (n < 1) {
        r.outcome = Outcome::kError;
        r.message = "receiver-wait: count must be a number from 1, not '" + std::string(c) + "'";
        return r;
      }
      count = static_cast<std::size_t>(n);
    }
    if (auto t = common::FirstValue(query, "timeout"); !t.empty()) {
      long n = number(t, 3600);
      if (n < 0) {
        r.outcome = Outcome::kError;
        r.message = "receiver-wait: timeout must be seconds (0 to 3600), not '" + std::string(t) + "'";
        return r;
      }
      timeout = std::chrono::seconds(n);
    }
    Receiver& receiver = EnsureReceiver();
    // With the repeat-until extension, callbacks whose body does not satisfy it are passed
    // over (a repeated handshake, a heartbeat): rest-hooks are delivered at least once.
    std::string until = Substitute(op.repeat_until);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t accepted = 0;
    std::vector<std::string> passed_over;
    std::optional<ReceivedRequest> last;
    while (accepted < count) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) left = std::chrono::milliseconds(0);
      if (receiver.WaitFor(consumed_ + 1, left) < consumed_ + 1) {
        r.outcome = Outcome::kFail;
        r.message = "waited " + std::to_string(timeout.count() / 1000) + "s for " +
                    std::to_string(count) + " callback(s) at " + receiver.url() + ", got " +
                    std::to_string(accepted) +
                    (passed_over.empty() ? std::string()
                                         : " (and " + std::to_string(passed_over.size()) +
                                               " that did not match '" + until + "')");
        return r;
      }
      ReceivedRequest got = receiver.Received()[consumed_];
      ++consumed_;
      if (!until.empty()) {
        auto values = EvaluateToStrings(until, Source::FromText(got.body));
        if (!values.has_value() || values->size() != 1 || (*values)[0] != "true") {
          passed_over.push_back(got.method + " " + got.path);
          continue;
        }
      }
      ++accepted;
      last = std::move(got);
    }
    const ReceivedRequest& got = *last;
    Exchange ex;
    ex.request.method = got.method;
    ex.request.url = "http://127.0.0.1" + got.path;
    ex.request.headers = got.headers;
    ex.request.body = got.body;
    // Asserts look at "the response": here, what the server sent us.
    ex.response.status = 200;
    ex.response.headers = got.headers;
    ex.response.body = got.body;
    Record(op, ex);
    r.exchange = std::move(ex);
    r.message = got.method + " " + got.path;
    if (!passed_over.empty()) {
      r.message += " (passed over " + std::to_string(passed_over.size()) +
                   " callback(s) that did not match '" + until + "')";
    }
    return r;
  }

  // Opens the websocket channel (operation.url, ?token= in params); its frames arrive at the
  // receiver, where receiver-wait picks them up in order.
  ActionResult WebSocketBind(const Operation& op) {
    ActionResult r;
    r.is_operation = true;
    r.label = op.label.empty() ? "bind a websocket" : op.label;
    std::string url = Substitute(op.url);
    std::string params = Substitute(op.params);
    auto query = common::ParseQueryString(params.empty() || params[0] != '?' ? params : params.substr(1));
    std::string token(common::FirstValue(query, "token"));
    if (url.empty() || token.empty()) {
      r.outcome = Outcome::kError;
      r.message = "websocket-bind needs a url and ?token=";
      return r;
    }
    auto client = WebSocketClient::Bind(url, token, EnsureReceiver(), options_.ca_file);
    if (!client.has_value()) {
      r.outcome = Outcome::kFail;
      r.message = client.error().message();
      return r;
    }
    websockets_.push_back(std::move(client).value());
    r.message = "bound " + url;
    return r;
  }

  void Record(const Operation& op, const Exchange& ex) {
    last_ = ex;
    if (!op.response_id.empty()) sources_[op.response_id] = Source::FromExchange(ex, false);
    if (!op.request_id.empty()) sources_[op.request_id] = Source::FromExchange(ex, true);
  }

  ActionResult Perform(const Operation& op) {
    if (op.type_system == kFoveaOperationSystem) {
      if (op.type_code == "receiver-wait") return ReceiverWait(op);
      if (op.type_code == "websocket-bind") return WebSocketBind(op);
      ActionResult r;
      r.is_operation = true;
      r.label = op.type_code;
      r.outcome = Outcome::kError;
      r.message = "unknown Fovea operation '" + op.type_code + "'";
      return r;
    }
    HttpRequest req = BuildRequest(op);
    ActionResult r;
    r.is_operation = true;
    r.label = !op.label.empty() ? op.label
              : !op.description.empty() ? op.description
                                        : op.type_code + " " + op.resource;
    auto res = transport_.Send(req);
    if (res.has_value() && !op.repeat_until.empty()) res = RepeatUntil(op, req, std::move(res));
    if (!res.has_value()) {
      r.outcome = Outcome::kError;
      r.message = res.error().message();
      Exchange ex;
      ex.request = req;
      r.exchange = ex;
      aborted_ = true;
      abort_reason_ = "the server could not be reached: " + res.error().message();
      return r;
    }
    Exchange ex{std::move(req), std::move(res).value()};
    r.message = ex.request.method + " " + ex.request.url + " -> " +
                std::to_string(ex.response.status);
    // A write of a fixture gives the fixture its server id (for later targetIds).
    if (!op.source_id.empty() && ex.response.status / 100 == 2 &&
        (op.type_code == "create" || op.type_code == "update" || op.type_code == "updateCreate")) {
      std::optional<Target> t;
      if (const std::string* loc = FindHeader(ex.response.headers, "Location")) t = ParseLocation(*loc);
      if (!t) t = TargetOfJson(Source::FromText(ex.response.body).json());
      if (!t) t = ParseLocation(ex.request.url);
      if (t) server_ids_[op.source_id] = *t;
    }
    Record(op, ex);
    r.exchange = std::move(ex);
    return r;
  }

  // The repeat-until extension: the same request again, at growing intervals (100 ms doubling
  // to 1 s), until the expression is true on the answer or receiver_timeout has passed; the
  // last answer stands either way (the asserts after it say what is wrong).
  common::Result<HttpResponse> RepeatUntil(const Operation& op, const HttpRequest& req,
                                           common::Result<HttpResponse> res) {
    std::string expression = Substitute(op.repeat_until);
    auto deadline = std::chrono::steady_clock::now() + options_.receiver_timeout;
    auto interval = std::chrono::milliseconds(100);
    while (res.has_value()) {
      auto values = EvaluateToStrings(expression, Source::FromText(res->body));
      if (values.has_value() && values->size() == 1 && (*values)[0] == "true") break;
      if (std::chrono::steady_clock::now() + interval > deadline) break;
      std::this_thread::sleep_for(interval);
      interval = std::min(interval * 2, std::chrono::milliseconds(1000));
      res = transport_.Send(req);
    }
    return res;
  }

  // ---- sections ----

  void SkipRemaining(const std::vector<Action>& actions, std::size_t from, SectionResult& section,
                     const std::string& why) {
    for (std::size_t i = from; i < actions.size(); ++i) {
      ActionResult r;
      r.is_operation = actions[i].operation.has_value();
      r.label = Label(actions[i]);
      r.outcome = Outcome::kSkip;
      r.message = why;
      section.actions.push_back(std::move(r));
    }
  }

  static std::string Label(const Action& a) {
    if (a.operation) {
      const Operation& op = *a.operation;
      if (!op.label.empty()) return op.label;
      if (!op.description.empty()) return op.description;
      return op.type_code + " " + op.resource;
    }
    const Assert& as = *a.assertion;
    if (!as.label.empty()) return as.label;
    if (!as.description.empty()) return as.description;
    return "assert";
  }

  void RunActions(const std::vector<Action>& actions, SectionResult& section,
                  bool teardown = false) {
    for (std::size_t i = 0; i < actions.size(); ++i) {
      if (aborted_) {
        SkipRemaining(actions, i, section, "the run was aborted: " + abort_reason_);
        return;
      }
      const Action& action = actions[i];
      ActionResult r;
      try {
        if (action.operation) {
          r = Perform(*action.operation);
          r.label = Label(action);
        } else {
          Assert a = SubstituteAssert(*action.assertion);
          AssertContext ctx;
          ctx.base = base_;
          ctx.last = last_ ? &*last_ : nullptr;
          ctx.fixture = [this](const std::string& id) -> const Source* {
            RequireFixture(id);
            return FindSource(id);
          };
          ctx.profiles = &script_.profiles;
          AssertResult ar = EvaluateAssert(a, ctx);
          r.label = Label(action);
          r.outcome = ar.outcome;
          r.message = ar.message;
          if (ar.outcome != Outcome::kPass && last_) r.exchange = last_;
        }
      } catch (const SkipSection& skip) {
        r.label = Label(action);
        r.is_operation = action.operation.has_value();
        r.outcome = Outcome::kSkip;
        r.message = skip.reason;
        section.actions.push_back(std::move(r));
        SkipRemaining(actions, i + 1, section, "an earlier action was skipped");
        throw;
      } catch (const std::exception& e) {
        // The engine could not do it (the receiver cannot listen, ...): an error, not a crash.
        r.label = Label(action);
        r.is_operation = action.operation.has_value();
        r.outcome = Outcome::kError;
        r.message = e.what();
      }
      Outcome o = r.outcome;
      section.actions.push_back(std::move(r));
      // Teardown cleans up as far as it can; elsewhere a failure stops the section.
      if (!teardown && (o == Outcome::kFail || o == Outcome::kError)) {
        SkipRemaining(actions, i + 1, section, "an earlier action failed");
        return;
      }
    }
  }

  static void Finish(SectionResult& section) {
    if (section.outcome == Outcome::kSkip) return;
    for (const ActionResult& a : section.actions) {
      if (a.outcome == Outcome::kError) {
        section.outcome = Outcome::kError;
        section.message = a.message;
        return;
      }
      if (a.outcome == Outcome::kFail && section.outcome == Outcome::kPass) {
        section.outcome = Outcome::kFail;
        section.message = a.message;
      }
      if (a.outcome == Outcome::kSkip && !a.is_operation && section.outcome == Outcome::kPass &&
          a.message.rfind("an earlier", 0) != 0) {
        // An assert the engine could not evaluate (e.g. XPath): say so, do not pass it.
        section.outcome = Outcome::kSkip;
        section.message = a.message;
      }
    }
  }

  HttpTransport& transport_;
  const RunOptions& options_;
  const TestScript& script_;
  std::string base_;
  std::map<int, std::string> destinations_;
  std::map<std::string, Source> sources_;
  std::map<std::string, std::string> raw_;      // fixture id -> file text
  std::map<std::string, std::string> missing_;  // fixture id -> why it is missing
  std::map<std::string, Target> server_ids_;    // fixture id -> where the server keeps it
  std::optional<Exchange> last_;
  std::unique_ptr<Receiver> receiver_;
  // After the receiver: their reader threads write to it until they are destroyed.
  std::vector<std::unique_ptr<WebSocketClient>> websockets_;
  std::size_t consumed_ = 0;
  std::string run_id_;
  bool aborted_ = false;
  std::string abort_reason_;
};

}  // namespace

int ScriptResult::Count(Outcome o) const {
  int n = 0;
  auto count = [&](const SectionResult& s) {
    for (const ActionResult& a : s.actions) {
      if (!a.is_operation && a.outcome == o) ++n;
    }
  };
  if (setup) count(*setup);
  for (const auto& t : tests) count(t);
  return n;
}

Executor::Executor(HttpTransport& transport, RunOptions options)
    : transport_(transport), options_(std::move(options)) {}

ScriptResult Executor::Run(const TestScript& script) {
  ScriptRun run(transport_, options_, script);
  try {
    return run.Execute();
  } catch (const std::exception& e) {
    // Last resort (actions catch their own): the script errors, the run goes on.
    ScriptResult result;
    result.file = script.source_file;
    result.name = script.DisplayName();
    result.outcome = Outcome::kError;
    result.message = std::string("the engine could not run this script: ") + e.what();
    return result;
  }
}

}  // namespace conformance::engine
