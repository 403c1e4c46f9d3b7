#include "subscriptions/engine/ws_protocol.h"

#include "common/json.h"

namespace subscriptions {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

ClientMessage FromJson(const common::JsonValue& json) {
  ClientMessage m;
  m.json = true;
  const common::JsonValue* type = json.Find("type");
  if (type == nullptr || !type->is_string()) return m;
  const std::string& t = type->scalar();
  if (t == "ping") {
    m.kind = ClientMessage::Kind::kPing;
    return m;
  }
  if (t != "bind-with-token" && t != "unbind-from-token") return m;
  const common::JsonValue* payload = json.Find("payload");
  const common::JsonValue* token = payload != nullptr ? payload->Find("token") : nullptr;
  if (token == nullptr || !token->is_string() || token->scalar().empty()) return m;
  m.kind = t == "bind-with-token" ? ClientMessage::Kind::kBind : ClientMessage::Kind::kUnbind;
  m.token = token->scalar();
  return m;
}

}  // namespace

ClientMessage ParseClientMessage(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '{') {
    auto json = common::ParseJson(text, {.max_depth = 8});
    if (!json.has_value() || !json->is_object()) return ClientMessage{};
    return FromJson(*json);
  }
  ClientMessage m;
  if (text == "ping") {
    m.kind = ClientMessage::Kind::kPing;
    return m;
  }
  for (auto [prefix, kind] : {std::pair{std::string_view("bind-with-token "), ClientMessage::Kind::kBind},
                              std::pair{std::string_view("unbind-from-token "), ClientMessage::Kind::kUnbind}}) {
    if (text.substr(0, prefix.size()) == prefix) {
      std::string_view token = Trim(text.substr(prefix.size()));
      if (token.empty() || token.find(' ') != std::string_view::npos) return ClientMessage{};
      m.kind = kind;
      m.token = std::string(token);
      return m;
    }
  }
  return m;
}

std::string PongFor(const ClientMessage& ping) { return ping.json ? R"({"type":"pong"})" : "pong"; }

std::string ErrorMessage(std::string_view message) {
  std::string out = R"({"type":"error","message":)";
  common::AppendJsonString(out, message);
  out += '}';
  return out;
}

}  // namespace subscriptions
