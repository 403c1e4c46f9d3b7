#include "fhir/rest/audit_trail_api.h"

#include <charconv>

#include "fhir/model/ids.h"
#include "fhir/search/ranges.h"

namespace fhir::rest {
namespace {

using model::IssueType;

constexpr std::string_view kCursorPrefix = "a~";

// "ge2026-11-28" -> ("ge", "2026-11-28"); no prefix means eq.
std::pair<std::string_view, std::string_view> SplitPrefix(std::string_view v) {
  for (std::string_view p : {"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}) {
    if (v.size() > 2 && v.substr(0, 2) == p && (v[2] >= '0' && v[2] <= '9')) {
      return {p, v.substr(2)};
    }
  }
  return {"eq", v};
}

bool ParseInt64(std::string_view s, std::int64_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// A reference value as stored: "Patient/1" stays, a bare id gets `default_type`.
std::string Reference(std::string_view value, std::string_view default_type) {
  std::string v(model::WithoutHistory(value));
  if (v.find('/') == std::string::npos && !default_type.empty()) {
    return std::string(default_type) + "/" + v;
  }
  return v;
}

// A token value: "system|code" or "code"; the columns hold codes.
std::string_view TokenCode(std::string_view value) {
  std::size_t bar = value.rfind('|');
  return bar == std::string_view::npos ? value : value.substr(bar + 1);
}

}  // namespace

AuditSearchRequest ParseAuditSearch(const std::vector<std::pair<std::string, std::string>>& params,
                                    bool strict, int default_count, int max_count,
                                    model::IssueSink& issues) {
  AuditSearchRequest out;
  audit::AuditQuery& q = out.query;
  q.count = default_count;
  model::IssueScope scope(issues, "AuditEvent");
  auto problem = [&](const std::string& message) {
    if (strict) {
      scope.Error(IssueType::kNotSupported, message);
    } else {
      scope.Warning(IssueType::kNotSupported, message + "; ignored");
    }
  };
  for (const auto& [name, value] : params) {
    bool applied = true;
    if (name == "date") {
      auto [prefix, lexeme] = SplitPrefix(value);
      common::TimePoint low, high;
      if (!search::DateRange(lexeme, low, high)) {
        problem("date '" + value + "' is not a date or instant");
        continue;
      }
      auto later = [](auto& slot, common::TimePoint t) { if (!slot || t > *slot) slot = t; };
      auto earlier = [](auto& slot, common::TimePoint t) { if (!slot || t < *slot) slot = t; };
      const common::TimePoint after_high = high + std::chrono::microseconds(1);
      if (prefix == "eq") {
        later(q.recorded_from, low);
        earlier(q.recorded_until, after_high);
      } else if (prefix == "ge" || prefix == "sa") {
        later(q.recorded_from, prefix == "sa" ? after_high : low);
      } else if (prefix == "gt") {
        later(q.recorded_from, after_high);
      } else if (prefix == "le") {
        earlier(q.recorded_until, after_high);
      } else if (prefix == "lt" || prefix == "eb") {
        earlier(q.recorded_until, low);
      } else {
        problem("date prefix '" + std::string(prefix) + "' is not supported for AuditEvent");
        continue;
      }
    } else if (name == "patient") {
      q.patient = Reference(value, "Patient");
    } else if (name == "agent") {
      q.agent = Reference(value, "");
    } else if (name == "entity") {
      q.entity = Reference(value, "");
    } else if (name == "subtype") {
      q.subtype = std::string(TokenCode(value));
    } else if (name == "action") {
      std::string_view code = TokenCode(value);
      if (code.size() != 1 || std::string_view("CRUDE").find(code[0]) == std::string_view::npos) {
        problem("action must be one of C, R, U, D, E");
        continue;
      }
      q.action = code[0];
    } else if (name == "outcome") {
      std::string_view code = TokenCode(value);
      std::int64_t n = 0;
      if (!ParseInt64(code, n) || (n != 0 && n != 4 && n != 8 && n != 12)) {
        problem("outcome must be one of 0, 4, 8, 12");
        continue;
      }
      q.outcome = static_cast<int>(n);
    } else if (name == "address") {
      q.address = value;
    } else if (name == "_id") {
      std::int64_t seq = 0;
      if (!ParseInt64(value, seq) || seq <= 0) seq = -1;  // matches nothing
      q.seq = seq;
    } else if (name == "_count") {
      std::int64_t n = 0;
      if (!ParseInt64(value, n) || n < 0) {
        problem("_count must be a non-negative whole number");
        continue;
      }
      q.count = static_cast<int>(std::min<std::int64_t>(n, max_count));
    } else if (name == "_sort") {
      if (value == "date" || value == "_lastUpdated") {
        q.oldest_first = true;
      } else if (value == "-date" || value == "-_lastUpdated") {
        q.oldest_first = false;
      } else {
        problem("AuditEvent sorts by date or -date only");
        continue;
      }
    } else if (name == "_cursor") {
      std::int64_t seq = 0;
      std::string_view v = value;
      if (v.substr(0, kCursorPrefix.size()) != kCursorPrefix ||
          !ParseInt64(v.substr(kCursorPrefix.size()), seq)) {
        scope.Error(IssueType::kInvalid, "Malformed paging cursor");
        continue;
      }
      q.after_seq = seq;
      applied = false;  // links add their own cursor
    } else if (name == "_format" || name == "_pretty") {
      applied = false;
    } else {
      problem("AuditEvent search supports date, patient, agent, entity, subtype, action, "
              "outcome, address, _id, _count and _sort; not '" + name + "'");
      continue;
    }
    if (applied) out.applied.emplace_back(name, value);
  }
  return out;
}

std::string AuditCursor(std::int64_t after_seq) {
  return std::string(kCursorPrefix) + std::to_string(after_seq);
}

common::Result<std::int64_t> AuditEventSeq(std::string_view id) {
  std::int64_t seq = 0;
  if (!ParseInt64(id, seq) || seq <= 0) {
    return common::Status(common::StatusCode::kNotFound, "AuditEvent/" + std::string(id) +
                                                             " is not known");
  }
  return seq;
}

}  // namespace fhir::rest
