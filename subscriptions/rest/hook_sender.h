#ifndef FOVEA_SUBSCRIPTIONS_REST_HOOK_SENDER_H_
#define FOVEA_SUBSCRIPTIONS_REST_HOOK_SENDER_H_

// Sends one rest-hook request over HTTP(S) and says whether the endpoint took it (a 2xx answer,
// the only thing that counts as delivered). HTTPS verifies the chain against the system's CA
// store and the host name; redirects are not followed (a notification goes where the
// subscriber said). Failures are classified with the subscription-error codes the status
// Parameters use. Stateless: thread-safe.

#include <chrono>
#include <string>

#include "subscriptions/engine/rest_hook_request.h"

namespace subscriptions {

struct HookOutcome {
  bool delivered = false;
  int http_status = 0;     // 0: no answer
  std::string error_code;  // subscription-error: dns-resolution-error | no-response | error-response
  std::string message;     // for Subscription.error and the log: no payload, no PHI
};

HookOutcome SendHook(const HookRequest& request, std::chrono::milliseconds timeout);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_REST_HOOK_SENDER_H_
