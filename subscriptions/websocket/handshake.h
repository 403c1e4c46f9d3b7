#ifndef FOVEA_SUBSCRIPTIONS_WEBSOCKET_HANDSHAKE_H_
#define FOVEA_SUBSCRIPTIONS_WEBSOCKET_HANDSHAKE_H_

// The server side of the WebSocket opening handshake (RFC 6455 §4.2,
// https://www.rfc-editor.org/rfc/rfc6455#section-4.2). Independent of the HTTP server: the
// caller passes the method and a header lookup, and sends the answer it gets back. No
// subprotocol and no extension (permessage-deflate) is ever selected. Stateless: thread-safe.
//
//   GET /ws/subscriptions-r4 HTTP/1.1
//   Upgrade: websocket
//   Connection: Upgrade
//   Sec-WebSocket-Version: 13
//   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
// is answered
//   HTTP/1.1 101 Switching Protocols
//   Upgrade: websocket
//   Connection: Upgrade
//   Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace subscriptions::websocket {

struct HandshakeAnswer {
  // 101: accepted. 400: not a valid upgrade request. 426: a WebSocket version other than 13
  // (the headers then carry "Sec-WebSocket-Version: 13", as §4.4 asks).
  int status = 400;
  // The headers to send with `status`: for 101 Upgrade, Connection and Sec-WebSocket-Accept.
  std::vector<std::pair<std::string, std::string>> headers;
  // Why it was refused, in a sentence that quotes nothing from the request; empty for 101.
  std::string reason;

  bool accepted() const { return status == 101; }
};

// `header(name)` returns the value of a request header (case-insensitive name; the first one
// when repeated), empty when absent. Checks: GET; `Upgrade` lists the token "websocket";
// `Connection` lists the token "upgrade" (both case-insensitive); `Sec-WebSocket-Version` is
// 13; `Sec-WebSocket-Key` is the base64 form of 16 bytes.
HandshakeAnswer AnswerHandshake(std::string_view method,
                                const std::function<std::string_view(std::string_view)>& header);

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), §4.2.2 step 5.4.
std::string AcceptKey(std::string_view key);

// The complete 101 answer for an accepted handshake: status line, headers, blank line.
std::string SwitchingProtocolsResponse(const HandshakeAnswer& answer);

}  // namespace subscriptions::websocket

#endif  // FOVEA_SUBSCRIPTIONS_WEBSOCKET_HANDSHAKE_H_
