#ifndef FOVEA_SUBSCRIPTIONS_ENGINE_ANNOUNCEMENT_H_
#define FOVEA_SUBSCRIPTIONS_ENGINE_ANNOUNCEMENT_H_

// What the matcher tells the WebSocket dispatchers in its NOTIFY fovea_notification payload:
// every (subscription, number) it just committed, with the event each number is for, so that a
// dispatcher needs no query to send id-only and empty notifications (docs/SUBSCRIPTIONS.md).
// NOTIFY is delivered only after the commit, so every number announced is durable. An empty or
// unreadable payload means "read the notification table" (the matcher sends one when the
// announcement would be too large).
//
// Text, one line per item (FHIR ids and types never hold white space):
//   fovea-n1
//   e <at, µs since the epoch> <type> <id> <version> <POST|PUT|DELETE>
//   <subscription id> <number>        (one line per subscription the event above notifies)
// Every payload starts with the marker and its first event line, so each stands alone.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "subscriptions/engine/notification_bundle.h"

namespace subscriptions {

// One event of a matcher batch and the numbers it got.
struct AnnouncedEvent {
  common::TimePoint at{};
  std::string type;
  std::string id;
  int version = 0;
  std::string method;  // as in the change log: POST, PUT or DELETE
  std::vector<std::pair<std::string, std::int64_t>> numbers;  // (subscription id, number)
};

// The payloads announcing `events`, each at most `payload_bytes` long, in order. Empty when
// they would take more than `total_bytes` together or something cannot be written in this
// form (the caller then sends one empty payload).
std::vector<std::string> AnnouncementPayloads(const std::vector<AnnouncedEvent>& events,
                                              std::size_t payload_bytes, std::size_t total_bytes);

// The numbered events a payload announces, per subscription id, in the order announced
// (without content or context); nullopt when it is empty or not an announcement.
using Announced = std::map<std::string, std::vector<NotificationEvent>>;
std::optional<Announced> ParseAnnouncement(std::string_view payload);

}  // namespace subscriptions

#endif  // FOVEA_SUBSCRIPTIONS_ENGINE_ANNOUNCEMENT_H_
