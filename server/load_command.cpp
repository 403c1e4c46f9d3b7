#include "server/load_command.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "common/clock.h"
#include "common/json.h"
#include "fhir/audit/audit_log.h"
#include "fhir/audit/pg/pg_audit_store.h"
#include "fhir/definitions/definitions.h"
#include "fhir/rest/fhir_service.h"
#include "fhir/search/pg/pg_search_backend.h"
#include "fhir/store/pg/connection_pool.h"
#include "fhir/store/pg/pg_resource_store.h"
#include "server/config.h"
#include "server/storage.h"

namespace server {

using common::JsonValue;
using fhir::rest::RestRequest;
using fhir::rest::RestResponse;
using Handler = std::function<RestResponse(const RestRequest&)>;

namespace {

// One resource to load, and where it came from ("patients.ndjson:12", "bundle.json entry 3").
struct Item {
  std::string where;
  std::string full_url;
  JsonValue resource;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Scalar(const JsonValue& v, std::string_view key) {
  const JsonValue* f = v.Find(key);
  return f != nullptr ? f->scalar() : std::string();
}

// The first issue of an OperationOutcome answer: its diagnostics, and the Bundle entry it names
// (Bundle.entry[i]) if any.
struct Failure {
  std::string message;
  std::optional<std::size_t> entry;
};

Failure FailureOf(const RestResponse& r) {
  Failure f{"HTTP " + std::to_string(r.status), std::nullopt};
  auto outcome = common::ParseJson(r.body);
  if (!outcome.has_value()) return f;
  const JsonValue* issues = outcome->Find("issue");
  if (issues == nullptr || !issues->is_array() || issues->items().empty()) return f;
  const JsonValue& first = issues->items().front();
  f.message = Scalar(first, "diagnostics");
  for (const JsonValue* list : {first.Find("expression"), first.Find("location")}) {
    if (list == nullptr || !list->is_array() || list->items().empty()) continue;
    const std::string& where = list->items().front().scalar();
    constexpr std::string_view kEntry = "Bundle.entry[";
    if (where.rfind(kEntry, 0) == 0) {
      f.entry = std::strtoul(where.c_str() + kEntry.size(), nullptr, 10);
      break;
    }
  }
  return f;
}

class Loader {
 public:
  Loader(const LoadOptions& options, const Handler& handle, std::ostream& progress,
         std::ostream& err)
      : options_(options), handle_(handle), progress_(progress), err_(err) {}

  LoadSummary Run(const std::vector<std::string>& files) {
    for (const std::string& file : files) total_ += CountResources(file);
    started_ = std::chrono::steady_clock::now();
    for (const std::string& file : files) {
      if (summary_.stopped) break;
      EndsWith(file, ".json") ? LoadJson(file) : LoadNdjson(file);
    }
    Summarise();
    return summary_;
  }

 private:
  std::size_t CountResources(const std::string& file) {
    std::ifstream in(file);
    if (!in) return 0;
    if (!EndsWith(file, ".json")) {
      std::size_t n = 0;
      for (std::string line; std::getline(in, line);) n += line.find_first_not_of(" \t\r") != std::string::npos;
      return n;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto json = common::ParseJson(text.str());
    if (!json.has_value()) return 0;
    const JsonValue* entries = json->Find("entry");
    if (Scalar(*json, "resourceType") == "Bundle") {
      return entries != nullptr && entries->is_array() ? entries->items().size() : 0;
    }
    return 1;
  }

  void LoadNdjson(const std::string& file) {
    std::ifstream in(file);
    if (!in) return Report(file, "cannot be read", 0);
    std::vector<Item> batch;
    std::size_t line_number = 0;
    for (std::string line; std::getline(in, line) && !summary_.stopped;) {
      ++line_number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string where = file + ":" + std::to_string(line_number);
      auto json = common::ParseJson(line);
      if (!json.has_value() || !json->is_object()) {
        Report(where, json.has_value() ? "is not a JSON object" : json.error().message(), 1);
        continue;
      }
      batch.push_back({std::move(where), "", std::move(json).value()});
      if (batch.size() >= options_.batch_size) {
        LoadTransaction(batch);
        batch.clear();
      }
    }
    if (!batch.empty() && !summary_.stopped) LoadTransaction(batch);
  }

  void LoadJson(const std::string& file) {
    std::ifstream in(file);
    if (!in) return Report(file, "cannot be read", 0);
    std::stringstream text;
    text << in.rdbuf();
    auto json = common::ParseJson(text.str());
    if (!json.has_value()) return Report(file, json.error().message(), 1);
    if (Scalar(*json, "resourceType") != "Bundle") {
      std::vector<Item> one;
      one.push_back({file, "", std::move(json).value()});
      return LoadTransaction(one);
    }
    std::string type = Scalar(*json, "type");
    if (type == "transaction" || type == "batch") return PostAsIs(file, type, text.str());
    // Any other Bundle: its resources, fullUrls kept so they may refer to each other.
    std::vector<Item> items;
    if (const JsonValue* entries = json->Find("entry"); entries != nullptr && entries->is_array()) {
      for (std::size_t i = 0; i < entries->items().size(); ++i) {
        const JsonValue& entry = entries->items()[i];
        const JsonValue* resource = entry.Find("resource");
        std::string where = file + " entry " + std::to_string(i);
        if (resource == nullptr || !resource->is_object()) {
          Report(where, "has no resource", 1);
          continue;
        }
        items.push_back({std::move(where), Scalar(entry, "fullUrl"), *resource});
      }
    }
    if (!items.empty() && !summary_.stopped) LoadTransaction(items);
  }

  // A transaction or batch Bundle from the file, as the author made it.
  void PostAsIs(const std::string& file, const std::string& type, const std::string& body) {
    RestResponse r = Post(body);
    auto answer = common::ParseJson(r.body);
    const JsonValue* entries = answer.has_value() ? answer->Find("entry") : nullptr;
    if (r.status != 200 || entries == nullptr || !entries->is_array()) {
      Failure f = FailureOf(r);
      std::string where = file + (f.entry ? " entry " + std::to_string(*f.entry) : "");
      return Report(where, f.message, CountResources(file));
    }
    for (std::size_t i = 0; i < entries->items().size(); ++i) {
      const JsonValue* response = entries->items()[i].Find("response");
      std::string status = response != nullptr ? Scalar(*response, "status") : "";
      if (!status.empty() && status[0] == '2') {
        ++summary_.loaded;
        continue;
      }
      std::string message = "HTTP " + status;
      if (const JsonValue* outcome = response != nullptr ? response->Find("outcome") : nullptr) {
        RestResponse inner{std::atoi(status.c_str()), {}, "", common::ToJson(*outcome)};
        message = FailureOf(inner).message;
      }
      Report(file + " entry " + std::to_string(i), message, 1);
      if (summary_.stopped) break;
    }
    (void)type;
    ShowProgress();
  }

  // `items` as one transaction. A failing entry is reported, dropped, and the rest tried again
  // (the transaction's answer names the entry), so one bad resource costs one more round.
  void LoadTransaction(std::vector<Item>& items) {
    while (!items.empty() && !summary_.stopped) {
      RestResponse r = Post(TransactionJson(items));
      if (r.status == 200) {
        summary_.loaded += items.size();
        ShowProgress();
        return;
      }
      Failure f = FailureOf(r);
      if (!f.entry || *f.entry >= items.size()) {
        // Not one entry's fault (the database is down, the Bundle is too big): all of it fails.
        Report(items.front().where + " and the " + std::to_string(items.size() - 1) +
                   " resources after it",
               f.message, items.size());
        return;
      }
      Report(items[*f.entry].where, f.message, 1);
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(*f.entry));
    }
  }

  static std::string TransactionJson(const std::vector<Item>& items) {
    std::string out = R"({"resourceType":"Bundle","type":"transaction","entry":[)";
    bool first = true;
    for (const Item& item : items) {
      if (!first) out += ',';
      first = false;
      out += '{';
      if (!item.full_url.empty()) {
        out += R"("fullUrl":)";
        common::AppendJsonString(out, item.full_url);
        out += ',';
      }
      out += R"("resource":)";
      common::AppendJson(out, item.resource);
      std::string type = Scalar(item.resource, "resourceType");
      std::string id = Scalar(item.resource, "id");
      out += R"(,"request":{"method":)";
      out += id.empty() ? R"("POST","url":)" : R"("PUT","url":)";
      common::AppendJsonString(out, id.empty() ? type : type + "/" + id);
      out += "}}";
    }
    out += "]}";
    return out;
  }

  RestResponse Post(std::string body) {
    RestRequest request;
    request.method = "POST";
    request.path = "";
    request.body = std::move(body);
    request.base_url = "http://localhost/fhir/R4";
    request.request_id = "load-" + std::to_string(++requests_);
    request.peer_address = "127.0.0.1";
    request.headers = {{"Content-Type", "application/fhir+json"},
                       {"Accept", "application/fhir+json"},
                       {"Prefer", "return=minimal"}};
    return handle_(request);
  }

  void Report(const std::string& where, const std::string& message, std::size_t resources) {
    if (progress_shown_) progress_ << "\n";
    progress_shown_ = false;
    err_ << "fovea load: " << where << ": " << message << "\n";
    summary_.failed += resources;
    if (options_.strict) summary_.stopped = true;
  }

  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  void ShowProgress() {
    std::size_t done = summary_.loaded + summary_.failed;
    double seconds = Seconds();
    double rate = seconds > 0 ? static_cast<double>(summary_.loaded) / seconds : 0;
    std::ostringstream line;
    line << "\r" << done << "/" << total_ << " resources  " << static_cast<long>(rate) << "/s";
    if (rate > 0 && total_ > done) {
      line << "  ETA " << static_cast<long>(static_cast<double>(total_ - done) / rate + 0.5) << " s";
    }
    line << "   ";
    progress_ << line.str() << std::flush;
    progress_shown_ = true;
  }

  void Summarise() {
    if (progress_shown_) progress_ << "\n";
    double seconds = Seconds();
    progress_ << "loaded " << summary_.loaded << " resources in " << static_cast<long>(seconds * 10) / 10.0
              << " s (" << static_cast<long>(seconds > 0 ? summary_.loaded / seconds : 0) << "/s)";
    if (summary_.failed > 0) progress_ << "; " << summary_.failed << " failed";
    if (summary_.stopped) progress_ << "; stopped at the first failure (--strict)";
    progress_ << "\n";
  }

  const LoadOptions& options_;
  const Handler& handle_;
  std::ostream& progress_;
  std::ostream& err_;
  LoadSummary summary_;
  std::size_t total_ = 0;
  std::size_t requests_ = 0;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace

LoadSummary LoadFiles(const std::vector<std::string>& files, const LoadOptions& options,
                      const Handler& handle, std::ostream& progress, std::ostream& err) {
  return Loader(options, handle, progress, err).Run(files);
}

int RunLoadCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  LoadOptions options;
  std::vector<std::string> files;
  std::vector<std::string> config_args = {"migrate"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--strict") {
      options.strict = true;
    } else if (a == "--batch-size" && i + 1 < args.size()) {
      long n = std::strtol(args[++i].c_str(), nullptr, 10);
      if (n < 1 || n > 100000) {
        err << "fovea: --batch-size must be 1-100000\n";
        return 2;
      }
      options.batch_size = static_cast<std::size_t>(n);
    } else if (a.rfind("--", 0) == 0) {
      // Database flags (--database-url, --data-dir, ...) take a value; these two do not.
      config_args.push_back(a);
      if (a != "--require-if-match" && a != "--access-log" && a != "--strict-xml" && a != "--allow-http-hooks" &&
          i + 1 < args.size()) {
        config_args.push_back(args[++i]);
      }
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    err << "usage: fovea load [--batch-size N] [--strict] [--database-url URL | --data-dir DIR] "
           "FILE.ndjson|FILE.json...\n";
    return 2;
  }
  auto config = ParseConfig(config_args);
  if (!config.has_value()) {
    err << "fovea: " << config.error().message() << "\n";
    return 2;
  }
  Database db;
  if (auto st = db.Open(*config); !st.ok()) {
    err << "fovea: " << st.message() << "\n";
    return 1;
  }
  if (auto st = MigrateDatabase(db.dsn()); !st.ok()) {
    err << "fovea: " << st.message() << "\n";
    return 1;
  }
  fhir::store::pg::ConnectionPool pool(db.dsn(), 4);
  fhir::store::pg::PgResourceStore store(pool);
  fhir::search::pg::PgSearchBackend search_backend(pool);
  auto registry = LoadRegistry(search_backend);
  common::SystemClock clock;
  // Loads are audited like any write: the AuditEvent and Provenance commit with the data.
  fhir::audit::pg::PgAuditStore audit_store(pool);
  fhir::audit::AuditLog audit_log(audit_store, clock);
  fhir::rest::ServiceOptions service_options;
  service_options.max_body_bytes = std::size_t{1} << 30;  // a local file, not a network peer
  fhir::rest::SecuritySupport security;
  security.audit = &audit_log;
  security.server_name = "fovea load";
  fhir::rest::FhirService service(fhir::definitions::Definitions::R4(), store, clock,
                                  service_options,
                                  fhir::rest::SearchSupport{registry, &search_backend, {}},
                                  security);
  Handler handle = [&service](const RestRequest& r) { return service.Handle(r); };
  LoadSummary summary = LoadFiles(files, options, handle, out, err);
  return summary.failed == 0 ? 0 : 1;
}

}  // namespace server
