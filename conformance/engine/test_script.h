#ifndef FOVEA_CONFORMANCE_ENGINE_TEST_SCRIPT_H_
#define FOVEA_CONFORMANCE_ENGINE_TEST_SCRIPT_H_

// The parts of an R4 TestScript (hl7.org/fhir/R4/testscript.html) the engine runs, read from
// FHIR JSON or FHIR XML. The script is parsed once into plain structs; nothing here does I/O
// besides ParseTestScriptFile reading the file. Thread-compatible value types.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace conformance::engine {

struct Fixture {
  std::string id;
  bool autocreate = false;
  bool autodelete = false;
  std::string reference;  // resource.reference: a file relative to the script, or Type/id
};

struct Variable {
  std::string name;
  std::string default_value;
  bool has_default = false;
  std::string expression;     // FHIRPath over the source fixture
  std::string header_field;   // a header of the source response
  std::string path;           // XPath/JSONPath (a simple XPath is translated to FHIRPath)
  std::string source_id;
  std::string hint;
  std::string description;
};

struct Header {
  std::string field;
  std::string value;
};

struct Operation {
  std::string type_system;
  std::string type_code;       // read, vread, create, ... or an operation name
  std::string resource;        // resource type
  std::string label;
  std::string description;
  std::string accept;          // xml/json or a MIME type
  std::string content_type;
  int destination = 1;
  bool encode_request_url = true;
  std::string method;          // R4 operation.method (get, post, ...), optional
  std::string params;          // "/id" or "?query"
  std::vector<Header> request_headers;
  std::string request_id;
  std::string response_id;
  std::string source_id;
  std::string target_id;
  std::string url;
  // Fovea's extension (kRepeatUntilExtension): send the request again until this FHIRPath
  // holds on the response, for servers that finish work asynchronously.
  std::string repeat_until;
};

inline constexpr std::string_view kRepeatUntilExtension =
    "https://fovea.dev/fhir/StructureDefinition/testscript-repeat-until";

struct Assert {
  std::string label;
  std::string description;
  std::string direction;  // "response" (default) or "request"
  std::string compare_to_source_id;
  std::string compare_to_source_expression;
  std::string compare_to_source_path;
  std::string content_type;
  std::string expression;
  std::string header_field;
  std::string minimum_id;
  std::optional<bool> navigation_links;
  std::string op;  // operator
  std::string path;
  std::string request_method;
  std::string request_url;
  std::string resource;
  std::string response;
  std::string response_code;
  std::string source_id;
  std::string validate_profile_id;
  std::string value;
  bool warning_only = false;
};

struct Action {
  std::optional<Operation> operation;
  std::optional<Assert> assertion;
};

struct Test {
  std::string name;
  std::string description;
  std::vector<Action> actions;
};

struct TestScript {
  std::string id;
  std::string url;
  std::string name;
  std::string title;
  std::string description;
  std::string source_file;  // where it was read from (fixture files are relative to it)
  std::string resource_json;  // the script itself as FHIR JSON, for the TestReport reference
  std::vector<Fixture> fixtures;
  std::map<std::string, std::string> profiles;  // profile id -> StructureDefinition URL
  std::vector<Variable> variables;
  std::vector<Action> setup;
  std::vector<Test> tests;
  std::vector<Action> teardown;

  // The name a person reads: title, else name, else id, else the file.
  std::string DisplayName() const;
};

// Parses a TestScript from FHIR JSON or FHIR XML (detected by the first character). kInvalid
// when the text is not a readable TestScript (malformed, another resource type, an action with
// neither operation nor assert).
common::Result<TestScript> ParseTestScript(std::string_view text);
// Reads and parses a file; source_file is set to its path.
common::Result<TestScript> ParseTestScriptFile(const std::string& path);

// Either format to FHIR JSON (XML goes through the element tree). kInvalid when unreadable.
common::Result<std::string> ResourceTextToJson(std::string_view text);

}  // namespace conformance::engine

#endif  // FOVEA_CONFORMANCE_ENGINE_TEST_SCRIPT_H_
