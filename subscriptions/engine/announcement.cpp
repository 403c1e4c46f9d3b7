#include "subscriptions/engine/announcement.h"

#include <charconv>
#include <chrono>

#include "subscriptions/engine/matching.h"

namespace subscriptions {

namespace {

constexpr std::string_view kMarker = "fovea-n1\n";

// A token that cannot break the line format: not empty, no white space.
bool Plain(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0') return false;
  }
  return true;
}

template <class T>
bool ParseNumber(std::string_view s, T& out) {
  auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), out);
  return error == std::errc() && end == s.data() + s.size();
}

// The space-separated fields of `line`.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at <= line.size()) {
    std::size_t space = line.find(' ', at);
    if (space == std::string_view::npos) space = line.size();
    out.push_back(line.substr(at, space - at));
    at = space + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> AnnouncementPayloads(const std::vector<AnnouncedEvent>& events,
                                              std::size_t payload_bytes, std::size_t total_bytes) {
  std::vector<std::string> out;
  std::size_t total = 0;
  std::string current;
  auto flush = [&] {
    if (current.empty()) return;
    total += current.size();
    out.push_back(std::move(current));
    current.clear();
  };
  for (const AnnouncedEvent& e : events) {
    if (e.numbers.empty()) continue;
    if (!Plain(e.type) || !Plain(e.id) || !Plain(e.method)) return {};
    std::string header = "e " +
                         std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                            e.at.time_since_epoch())
                                            .count()) +
                         ' ' + e.type + ' ' + e.id + ' ' + std::to_string(e.version) + ' ' + e.method + '\n';
    bool header_written = false;
    for (const auto& [sid, number] : e.numbers) {
      if (!Plain(sid)) return {};
      std::string line = sid + ' ' + std::to_string(number) + '\n';
      std::size_t needed = line.size() + (header_written ? 0 : header.size());
      if (!current.empty() && current.size() + needed > payload_bytes) {
        flush();
        header_written = false;
        needed = line.size() + header.size();
      }
      if (current.empty()) {
        if (kMarker.size() + needed > payload_bytes) return {};
        current = kMarker;
      }
      if (!header_written) {
        current += header;
        header_written = true;
      }
      current += line;
    }
    if (total + current.size() > total_bytes) return {};
  }
  flush();
  if (total > total_bytes) return {};
  return out;
}

std::optional<Announced> ParseAnnouncement(std::string_view payload) {
  if (payload.substr(0, kMarker.size()) != kMarker) return std::nullopt;
  payload.remove_prefix(kMarker.size());
  Announced out;
  std::optional<NotificationEvent> event;
  while (!payload.empty()) {
    std::size_t end = payload.find('\n');
    if (end == std::string_view::npos) return std::nullopt;  // every line ends with one
    std::string_view line = payload.substr(0, end);
    payload.remove_prefix(end + 1);
    std::vector<std::string_view> f = Fields(line);
    if (f.size() == 6 && f[0] == "e") {
      NotificationEvent e;
      std::int64_t at_us = 0;
      if (!ParseNumber(f[1], at_us) || !ParseNumber(f[4], e.version)) return std::nullopt;
      if (!Plain(f[2]) || !Plain(f[3]) || !Plain(f[5])) return std::nullopt;
      e.at = common::TimePoint(std::chrono::microseconds(at_us));
      e.type = std::string(f[2]);
      e.id = std::string(f[3]);
      e.interaction = InteractionFromMethod(f[5]);
      event = std::move(e);
    } else if (f.size() == 2 && event.has_value()) {
      NotificationEvent numbered = *event;
      if (!Plain(f[0]) || !ParseNumber(f[1], numbered.number) || numbered.number < 1) return std::nullopt;
      out[std::string(f[0])].push_back(std::move(numbered));
    } else {
      return std::nullopt;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace subscriptions
