#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_WS_PROTOCOL_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_WS_PROTOCOL_H_

// The client messages of the subscription WebSocket (SUBSCRIPTIONS.md §3.5): the IG names
// `bind-with-token` without fixing its bytes, so both forms in use are accepted, text
// (`bind-with-token <token>`, `unbind-from-token <token>`, `ping`) and the JSON of
// @medplum/core (`{"type":"bind-with-token","payload":{"token":"..."}}`, `{"type":"ping"}`).
// Stateless: thread-safe.

#include <string>
#include <string_view>

namespace subscriptions {

struct ClientMessage {
  enum class Kind { kBind, kUnbind, kPing, kUnknown };
  Kind kind = Kind::kUnknown;
  std::string token;   // kBind, kUnbind
  bool json = false;   // the client speaks JSON: answer pings as {"type":"pong"}
};

ClientMessage ParseClientMessage(std::string_view text);

// {"type":"pong"} or "pong", as the ping came.
std::string PongFor(const ClientMessage& ping);

// A problem with a client message, as a text frame the client can read:
// {"type":"error","message":"..."}.
std::string ErrorMessage(std::string_view message);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_WS_PROTOCOL_H_
