#include "conformance/engine/test_script.h"

#include <fstream>
#include <sstream>

#include "common/json.h"
#include "fhir/definitions/definitions.h"
#include "fhir/format/json_format.h"
#include "fhir/format/xml_format.h"
#include "fhir/model/issues.h"

namespace conformance::engine {

namespace {

using common::JsonValue;

std::string Str(const JsonValue& obj, std::string_view key) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || v->is_object() || v->is_array() || v->is_null()) return {};
  return v->scalar();
}

bool Bool(const JsonValue& obj, std::string_view key, bool fallback) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr || v->kind() != JsonValue::Kind::kBool) return fallback;
  return v->bool_value();
}

const std::vector<JsonValue>& Items(const JsonValue& obj, std::string_view key) {
  static const std::vector<JsonValue> kNone;
  const JsonValue* v = obj.Find(key);
  return v != nullptr && v->is_array() ? v->items() : kNone;
}

Operation ParseOperation(const JsonValue& o) {
  Operation op;
  if (const JsonValue* type = o.Find("type"); type != nullptr && type->is_object()) {
    op.type_system = Str(*type, "system");
    op.type_code = Str(*type, "code");
  }
  op.resource = Str(o, "resource");
  op.label = Str(o, "label");
  op.description = Str(o, "description");
  op.accept = Str(o, "accept");
  op.content_type = Str(o, "contentType");
  if (std::string d = Str(o, "destination"); !d.empty()) op.destination = std::atoi(d.c_str());
  op.encode_request_url = Bool(o, "encodeRequestUrl", true);
  op.method = Str(o, "method");
  op.params = Str(o, "params");
  for (const JsonValue& h : Items(o, "requestHeader")) {
    op.request_headers.push_back({Str(h, "field"), Str(h, "value")});
  }
  op.request_id = Str(o, "requestId");
  op.response_id = Str(o, "responseId");
  op.source_id = Str(o, "sourceId");
  op.target_id = Str(o, "targetId");
  op.url = Str(o, "url");
  for (const JsonValue& ext : Items(o, "extension")) {
    if (Str(ext, "url") == kRepeatUntilExtension) op.repeat_until = Str(ext, "valueString");
  }
  return op;
}

Assert ParseAssert(const JsonValue& a) {
  Assert as;
  as.label = Str(a, "label");
  as.description = Str(a, "description");
  as.direction = Str(a, "direction");
  as.compare_to_source_id = Str(a, "compareToSourceId");
  as.compare_to_source_expression = Str(a, "compareToSourceExpression");
  as.compare_to_source_path = Str(a, "compareToSourcePath");
  as.content_type = Str(a, "contentType");
  as.expression = Str(a, "expression");
  as.header_field = Str(a, "headerField");
  as.minimum_id = Str(a, "minimumId");
  if (const JsonValue* n = a.Find("navigationLinks"); n != nullptr && n->kind() == JsonValue::Kind::kBool) {
    as.navigation_links = n->bool_value();
  }
  as.op = Str(a, "operator");
  as.path = Str(a, "path");
  as.request_method = Str(a, "requestMethod");
  as.request_url = Str(a, "requestURL");
  as.resource = Str(a, "resource");
  as.response = Str(a, "response");
  as.response_code = Str(a, "responseCode");
  as.source_id = Str(a, "sourceId");
  as.validate_profile_id = Str(a, "validateProfileId");
  as.value = Str(a, "value");
  as.warning_only = Bool(a, "warningOnly", false);
  return as;
}

common::Result<std::vector<Action>> ParseActions(const JsonValue& owner, const std::string& where) {
  std::vector<Action> actions;
  std::size_t i = 0;
  for (const JsonValue& a : Items(owner, "action")) {
    Action action;
    if (const JsonValue* o = a.Find("operation"); o != nullptr && o->is_object()) {
      action.operation = ParseOperation(*o);
    }
    if (const JsonValue* s = a.Find("assert"); s != nullptr && s->is_object()) {
      action.assertion = ParseAssert(*s);
    }
    if (action.operation.has_value() == action.assertion.has_value()) {
      return common::InvalidError(where + ".action[" + std::to_string(i) +
                                  "] must hold exactly one of operation or assert");
    }
    actions.push_back(std::move(action));
    ++i;
  }
  return actions;
}

}  // namespace

std::string TestScript::DisplayName() const {
  if (!title.empty()) return title;
  if (!name.empty()) return name;
  if (!id.empty()) return id;
  return source_file;
}

common::Result<std::string> ResourceTextToJson(std::string_view text) {
  std::size_t first = text.find_first_not_of(" \t\r\n\xEF\xBB\xBF");
  if (first == std::string_view::npos) return common::InvalidError("the file is empty");
  if (text[first] != '<') return std::string(text.substr(first));
  fhir::model::OperationOutcomeSink issues;
  FOVEA_ASSIGN_OR_RETURN(auto tree, fhir::format::ParseResourceXml(
                                        text, fhir::definitions::Definitions::R4(), issues));
  return fhir::format::WriteResourceJson(tree);
}

common::Result<TestScript> ParseTestScript(std::string_view text) {
  FOVEA_ASSIGN_OR_RETURN(std::string json_text, ResourceTextToJson(text));
  FOVEA_ASSIGN_OR_RETURN(JsonValue root, common::ParseJson(json_text));
  if (!root.is_object() || Str(root, "resourceType") != "TestScript") {
    return common::InvalidError("not a TestScript (resourceType is '" +
                                (root.is_object() ? Str(root, "resourceType") : std::string()) +
                                "')");
  }
  TestScript script;
  script.resource_json = json_text;
  script.id = Str(root, "id");
  script.url = Str(root, "url");
  script.name = Str(root, "name");
  script.title = Str(root, "title");
  script.description = Str(root, "description");
  for (const JsonValue& f : Items(root, "fixture")) {
    Fixture fixture;
    fixture.id = Str(f, "id");
    fixture.autocreate = Bool(f, "autocreate", false);
    fixture.autodelete = Bool(f, "autodelete", false);
    if (const JsonValue* r = f.Find("resource"); r != nullptr && r->is_object()) {
      fixture.reference = Str(*r, "reference");
    }
    if (fixture.id.empty()) return common::InvalidError("a fixture has no id");
    script.fixtures.push_back(std::move(fixture));
  }
  for (const JsonValue& p : Items(root, "profile")) {
    script.profiles[Str(p, "id")] = Str(p, "reference");
  }
  for (const JsonValue& v : Items(root, "variable")) {
    Variable var;
    var.name = Str(v, "name");
    if (const JsonValue* d = v.Find("defaultValue"); d != nullptr && !d->is_object()) {
      var.default_value = d->scalar();
      var.has_default = true;
    }
    var.expression = Str(v, "expression");
    var.header_field = Str(v, "headerField");
    var.path = Str(v, "path");
    var.source_id = Str(v, "sourceId");
    var.hint = Str(v, "hint");
    var.description = Str(v, "description");
    if (var.name.empty()) return common::InvalidError("a variable has no name");
    script.variables.push_back(std::move(var));
  }
  if (const JsonValue* setup = root.Find("setup"); setup != nullptr && setup->is_object()) {
    FOVEA_ASSIGN_OR_RETURN(script.setup, ParseActions(*setup, "TestScript.setup"));
  }
  std::size_t t = 0;
  for (const JsonValue& tv : Items(root, "test")) {
    Test test;
    test.name = Str(tv, "name");
    if (test.name.empty()) test.name = Str(tv, "id");
    if (test.name.empty()) test.name = "test " + std::to_string(t + 1);
    test.description = Str(tv, "description");
    FOVEA_ASSIGN_OR_RETURN(test.actions,
                           ParseActions(tv, "TestScript.test[" + std::to_string(t) + "]"));
    script.tests.push_back(std::move(test));
    ++t;
  }
  if (const JsonValue* td = root.Find("teardown"); td != nullptr && td->is_object()) {
    FOVEA_ASSIGN_OR_RETURN(script.teardown, ParseActions(*td, "TestScript.teardown"));
  }
  return script;
}

common::Result<TestScript> ParseTestScriptFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::NotFoundError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseTestScript(ss.str());
  if (!parsed.has_value()) {
    return common::Status(parsed.error().code(), path + ": " + parsed.error().message());
  }
  parsed->source_file = path;
  return parsed;
}

}  // namespace conformance::engine
