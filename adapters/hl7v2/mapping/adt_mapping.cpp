#include "adapters/hl7v2/mapping/adt_mapping.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <variant>
#include <vector>

#include "common/url.h"

namespace adapters::hl7v2::mapping {
namespace {

using common::JsonValue;

constexpr const char* kStepSystem = "https://fovea.health/fhir/CodeSystem/screening-step";
constexpr const char* kEventSystem = "http://terminology.hl7.org/CodeSystem/v2-0003";
constexpr const char* kIdTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr const char* kPatientUrl = "urn:uuid:6f0c2a52-0000-4000-8000-000000000001";
constexpr const char* kEncounterUrl = "urn:uuid:6f0c2a52-0000-4000-8000-000000000002";

JsonValue Str(std::string s) { return JsonValue::String(std::move(s)); }

JsonValue Coding(const std::string& system, const std::string& code) {
  JsonValue c = JsonValue::Object();
  c.Set("system", Str(system));
  c.Set("code", Str(code));
  return c;
}

JsonValue Ref(const std::string& reference) {
  JsonValue r = JsonValue::Object();
  r.Set("reference", Str(reference));
  return r;
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Characters allowed in a URN's namespace-specific part as we write it; others %-encoded.
std::string UriSafe(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out += {'%', kHex[u >> 4], kHex[u & 15]};
    }
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// One component's value with its subcomponents joined by spaces ("1000&Hospital Lane").
std::string Flat(const Message& m, const Segment& seg, int field, int rep, int comp) {
  std::string raw = seg.Raw(field, rep, comp, 0, m.delimiters());
  std::string out;
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find(m.delimiters().subcomponent, start);
    if (end == std::string::npos) end = raw.size();
    std::string part = Trim(Unescape(std::string_view(raw).substr(start, end - start), m.delimiters()));
    if (!part.empty()) {
      if (!out.empty()) out.push_back(' ');
      out += part;
    }
    start = end + 1;
  }
  return out;
}

std::string Val(const Message& m, const Segment& seg, int field, int rep, int comp, int sub = 0) {
  return Trim(Unescape(seg.Raw(field, rep, comp, sub, m.delimiters()), m.delimiters()));
}

Path At(std::string segment, int field, int rep = 0, int comp = 0) {
  Path p;
  p.segment = std::move(segment);
  p.field = field;
  p.repetition = rep;
  p.component = comp;
  return p;
}

MappingError Error(Path where, std::string code, std::string text, bool reject = false) {
  return MappingError{std::move(where), std::move(code), std::move(text), reject};
}

struct Identifier {
  std::string system;
  std::string value;
  std::string type;  // v2-0203 (MR, SS, ...)
};

// CX at seg-field(rep): value, system from the assigning authority (CX.4), type (CX.5).
Identifier IdentifierAt(const Message& m, const Segment& seg, int field, int rep) {
  Identifier id;
  id.value = Val(m, seg, field, rep, 1);
  id.system = IdentifierSystem(Val(m, seg, field, rep, 4, 1), Val(m, seg, field, rep, 4, 2),
                               Val(m, seg, field, rep, 4, 3));
  id.type = Val(m, seg, field, rep, 5);
  return id;
}

std::vector<Identifier> Identifiers(const Message& m, const Segment& seg, int field) {
  std::vector<Identifier> out;
  for (int r = 1; r <= seg.Repetitions(field, m.delimiters()); ++r) {
    Identifier id = IdentifierAt(m, seg, field, r);
    if (!id.value.empty()) out.push_back(std::move(id));
  }
  return out;
}

// The identifier a Patient is matched by: the first medical record number, else the first.
const Identifier* MatchIdentifier(const std::vector<Identifier>& ids) {
  for (const Identifier& id : ids) {
    if (id.type == "MR") return &id;
  }
  return ids.empty() ? nullptr : &ids.front();
}

std::string Criteria(const std::string& type, const Identifier& id) {
  return type + "?identifier=" + common::UrlEncode(id.system) + "|" + common::UrlEncode(id.value);
}

JsonValue IdentifierJson(const Identifier& id) {
  JsonValue j = JsonValue::Object();
  if (id.type == "MR") j.Set("use", Str("usual"));
  if (!id.type.empty() && std::all_of(id.type.begin(), id.type.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
      })) {
    JsonValue type = JsonValue::Object();
    type.Set("coding", JsonValue::Array()).Add(Coding(kIdTypeSystem, id.type));
    j.Set("type", std::move(type));
  }
  j.Set("system", Str(id.system));
  j.Set("value", Str(id.value));
  return j;
}

std::optional<MappingError> AddNames(const Message& m, const Segment& pid, JsonValue& patient) {
  JsonValue names = JsonValue::Array();
  for (int r = 1; r <= pid.Repetitions(5, m.delimiters()); ++r) {
    JsonValue name = JsonValue::Object();
    std::string use = Val(m, pid, 5, r, 7);
    static const std::vector<std::pair<std::string, std::string>> kUses = {
        {"L", "official"}, {"D", "usual"}, {"M", "maiden"}, {"N", "nickname"},
        {"A", "anonymous"}, {"S", "anonymous"}, {"T", "temp"}};
    for (const auto& [code, fhir] : kUses) {
      if (use == code) name.Set("use", Str(fhir));
    }
    std::string family = Val(m, pid, 5, r, 1, 1);
    if (!family.empty()) name.Set("family", Str(family));
    JsonValue given = JsonValue::Array();
    for (int c : {2, 3}) {
      std::string g = Flat(m, pid, 5, r, c);
      if (!g.empty()) given.Add(Str(g));
    }
    if (!given.items().empty()) name.Set("given", std::move(given));
    std::string prefix = Flat(m, pid, 5, r, 5);
    if (!prefix.empty()) name.Set("prefix", JsonValue::Array()).Add(Str(prefix));
    std::string suffix = Flat(m, pid, 5, r, 4);
    if (!suffix.empty()) name.Set("suffix", JsonValue::Array()).Add(Str(suffix));
    if (name.Find("family") != nullptr || name.Find("given") != nullptr) names.Add(std::move(name));
  }
  if (!names.items().empty()) patient.Set("name", std::move(names));
  return std::nullopt;
}

void AddAddresses(const Message& m, const Segment& pid, JsonValue& patient) {
  JsonValue addresses = JsonValue::Array();
  for (int r = 1; r <= pid.Repetitions(11, m.delimiters()); ++r) {
    JsonValue a = JsonValue::Object();
    std::string type = Val(m, pid, 11, r, 7);
    if (type == "H") a.Set("use", Str("home"));
    if (type == "B" || type == "O") a.Set("use", Str("work"));
    if (type == "C") a.Set("use", Str("temp"));
    if (type == "BA" || type == "BDL") a.Set("use", Str("old"));
    if (type == "M") a.Set("type", Str("postal"));
    JsonValue lines = JsonValue::Array();
    for (int c : {1, 2}) {
      std::string l = Flat(m, pid, 11, r, c);
      if (!l.empty()) lines.Add(Str(l));
    }
    if (!lines.items().empty()) a.Set("line", std::move(lines));
    const std::pair<int, const char*> kParts[] = {{3, "city"}, {4, "state"}, {5, "postalCode"}, {6, "country"}};
    for (const auto& [c, key] : kParts) {
      std::string v = Flat(m, pid, 11, r, c);
      if (!v.empty()) a.Set(key, Str(v));
    }
    if (a.Find("line") != nullptr || a.Find("city") != nullptr || a.Find("postalCode") != nullptr)
      addresses.Add(std::move(a));
  }
  if (!addresses.items().empty()) patient.Set("address", std::move(addresses));
}

void AddTelecoms(const Message& m, const Segment& pid, JsonValue& patient) {
  JsonValue telecoms = JsonValue::Array();
  for (int field : {13, 14}) {
    for (int r = 1; r <= pid.Repetitions(field, m.delimiters()); ++r) {
      std::string use = Val(m, pid, field, r, 2);
      std::string equipment = Val(m, pid, field, r, 3);
      std::string value;
      std::string system = "phone";
      if (equipment == "Internet" || equipment == "X.400" || use == "NET") {
        system = "email";
        value = Val(m, pid, field, r, 4);
      } else {
        if (equipment == "FX") system = "fax";
        if (equipment == "BP") system = "pager";
        value = Val(m, pid, field, r, 1);
        if (value.empty()) {
          std::string local = Val(m, pid, field, r, 7);
          if (!local.empty()) {
            std::string country = Val(m, pid, field, r, 5);
            std::string area = Val(m, pid, field, r, 6);
            value = (country.empty() ? "" : "+" + country + " ") + (area.empty() ? "" : area + " ") + local;
          }
        }
      }
      if (value.empty()) continue;
      JsonValue t = JsonValue::Object();
      t.Set("system", Str(system));
      t.Set("value", Str(value));
      if (equipment == "CP") {
        t.Set("use", Str("mobile"));
      } else if (use == "PRN" || use == "ORN" || use == "VHN") {
        t.Set("use", Str("home"));
      } else if (use == "WPN" || field == 14) {
        t.Set("use", Str("work"));
      }
      telecoms.Add(std::move(t));
    }
  }
  if (!telecoms.items().empty()) patient.Set("telecom", std::move(telecoms));
}

struct PatientMapping {
  JsonValue resource;
  Identifier match;
};

std::variant<PatientMapping, MappingError> MapPatient(const Message& m) {
  const Segment* pid = m.Find("PID");
  if (pid == nullptr) return Error(At("PID", 0), "100", "The message has no PID segment");
  std::vector<Identifier> ids = Identifiers(m, *pid, 3);
  const Identifier* match = MatchIdentifier(ids);
  if (match == nullptr) {
    return Error(At("PID", 3), "101", "PID-3 (patient identifier list) is required");
  }
  JsonValue p = JsonValue::Object();
  p.Set("resourceType", Str("Patient"));
  JsonValue identifiers = JsonValue::Array();
  for (const Identifier& id : ids) identifiers.Add(IdentifierJson(id));
  p.Set("identifier", std::move(identifiers));
  p.Set("active", JsonValue::Bool(true));
  AddNames(m, *pid, p);
  AddTelecoms(m, *pid, p);
  std::string sex = Val(m, *pid, 8, 1, 1);
  if (sex == "M") p.Set("gender", Str("male"));
  if (sex == "F") p.Set("gender", Str("female"));
  if (sex == "O" || sex == "X") p.Set("gender", Str("other"));
  if (sex == "U" || sex == "A" || sex == "N") p.Set("gender", Str("unknown"));
  std::string dob = Val(m, *pid, 7, 1, 1);
  if (!dob.empty()) {
    auto date = ToFhirDate(dob);
    if (!date.has_value()) {
      return Error(At("PID", 7), "102", "PID-7 (date of birth) is not a valid date");
    }
    p.Set("birthDate", Str(*date));
  }
  std::string deceased = Val(m, *pid, 30, 1, 1);
  std::string deceased_at = Val(m, *pid, 29, 1, 1);
  if (!deceased_at.empty()) {
    auto at = ToFhirDateTime(deceased_at);
    if (!at.has_value()) {
      return Error(At("PID", 29), "102", "PID-29 (death date and time) is not a valid timestamp");
    }
    p.Set("deceasedDateTime", Str(*at));
  } else if (deceased == "Y" || deceased == "N") {
    p.Set("deceasedBoolean", JsonValue::Bool(deceased == "Y"));
  }
  AddAddresses(m, *pid, p);
  return PatientMapping{std::move(p), *match};
}

JsonValue Entry(const std::string& full_url, JsonValue resource, const std::string& method,
                const std::string& url, const std::string& if_none_exist = "") {
  JsonValue e = JsonValue::Object();
  if (!full_url.empty()) e.Set("fullUrl", Str(full_url));
  e.Set("resource", std::move(resource));
  JsonValue request = JsonValue::Object();
  request.Set("method", Str(method));
  request.Set("url", Str(url));
  if (!if_none_exist.empty()) request.Set("ifNoneExist", Str(if_none_exist));
  e.Set("request", std::move(request));
  return e;
}

// A FHIRPath Patch (hl7.org/fhir/R4/fhirpatch.html) operation.
JsonValue PatchOperation(const std::string& type, const std::string& path,
                         std::vector<std::pair<std::string, JsonValue>> more) {
  JsonValue op = JsonValue::Object();
  op.Set("name", Str("operation"));
  JsonValue& parts = op.Set("part", JsonValue::Array());
  JsonValue t = JsonValue::Object();
  t.Set("name", Str("type"));
  t.Set("valueCode", Str(type));
  parts.Add(std::move(t));
  JsonValue p = JsonValue::Object();
  p.Set("name", Str("path"));
  p.Set("valueString", Str(path));
  parts.Add(std::move(p));
  for (auto& [name, value] : more) {
    JsonValue part = JsonValue::Object();
    part.Set("name", Str(name));
    if (value.is_object() && value.Find("__part") != nullptr) {
      part.Set("part", *value.Find("__part"));
    } else {
      for (auto& member : value.members()) part.Set(member.first, member.second);
    }
    parts.Add(std::move(part));
  }
  return op;
}

JsonValue Named(const std::string& key, JsonValue v) {
  JsonValue o = JsonValue::Object();
  o.Set(key, std::move(v));
  return o;
}

JsonValue Parameters(std::vector<JsonValue> operations) {
  JsonValue p = JsonValue::Object();
  p.Set("resourceType", Str("Parameters"));
  JsonValue& list = p.Set("parameter", JsonValue::Array());
  for (auto& op : operations) list.Add(std::move(op));
  return p;
}

// The visit: PV1-19 (visit number), else the message's own control id under the sender.
Identifier VisitIdentifier(const Message& m, bool required, std::optional<MappingError>& error) {
  Identifier id;
  if (const Segment* pv1 = m.Find("PV1"); pv1 != nullptr) {
    id = IdentifierAt(m, *pv1, 19, 1);
    if (!id.value.empty()) {
      if (Val(m, *pv1, 19, 1, 4, 1).empty() && Val(m, *pv1, 19, 1, 4, 2).empty()) {
        id.system = "urn:fovea:hl7v2:visit:" + UriSafe(m.Get("MSH-4.1").empty() ? m.Get("MSH-3.1") : m.Get("MSH-4.1"));
      }
      return id;
    }
  }
  if (required) {
    error = Error(At("PV1", 19), "101", "PV1-19 (visit number) is required to find the visit");
    return id;
  }
  id.system = "urn:fovea:hl7v2:message:" + UriSafe(m.Get("MSH-3.1")) + ":" + UriSafe(m.Get("MSH-4.1"));
  id.value = m.ControlId();
  return id;
}

JsonValue MessageHeader(const Message& m, const std::string& event, std::vector<std::string> focus) {
  JsonValue h = JsonValue::Object();
  h.Set("resourceType", Str("MessageHeader"));
  JsonValue coding = Coding(kEventSystem, event);
  h.Set("eventCoding", std::move(coding));
  JsonValue source = JsonValue::Object();
  std::string app = m.Get("MSH-3.1");
  if (!app.empty()) source.Set("name", Str(app));
  source.Set("endpoint", Str("urn:fovea:hl7v2:sender:" + UriSafe(app) + ":" + UriSafe(m.Get("MSH-4.1")) +
                             ":" + UriSafe(m.ControlId())));
  h.Set("source", std::move(source));
  if (!focus.empty()) {
    JsonValue& list = h.Set("focus", JsonValue::Array());
    for (const auto& f : focus) list.Add(Ref(f));
  }
  return h;
}

// Events that only carry demographics as far as the unit is concerned: the Patient is upserted
// from PID (admissions, transfers and pre-admissions elsewhere in the hospital start no
// screening; A04 and A01 do).
const std::vector<std::string> kDemographicEvents = {"A02", "A05", "A06", "A07", "A08", "A10", "A14",
                                                     "A16", "A28", "A31", "A41", "A60"};
// Cancellations of events the unit keeps nothing of: acknowledged and recorded (MessageHeader),
// no other change.
const std::vector<std::string> kNoOpEvents = {"A12", "A15", "A25", "A26", "A27", "A32", "A33", "A38"};

bool Contains(const std::vector<std::string>& set, const std::string& v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

}  // namespace

std::string IdentifierSystem(std::string_view namespace_id, std::string_view universal_id,
                             std::string_view universal_id_type) {
  auto is_oid = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
    });
  };
  if (universal_id_type == "ISO" && is_oid(universal_id)) return "urn:oid:" + std::string(universal_id);
  if (!namespace_id.empty()) return "urn:fovea:hl7v2:id:" + UriSafe(namespace_id);
  if (!universal_id.empty()) return "urn:fovea:hl7v2:id:" + UriSafe(universal_id);
  return "urn:fovea:hl7v2:id:unknown";
}

std::optional<std::string> ToFhirDate(std::string_view ts) {
  std::size_t n = 0;
  while (n < ts.size() && std::isdigit(static_cast<unsigned char>(ts[n]))) ++n;
  std::string_view digits = ts.substr(0, std::min<std::size_t>(n, 8));
  if (digits.size() != 4 && digits.size() != 6 && digits.size() != 8) return std::nullopt;
  std::string out(digits.substr(0, 4));
  if (digits.size() >= 6) {
    int month = std::stoi(std::string(digits.substr(4, 2)));
    if (month < 1 || month > 12) return std::nullopt;
    out += "-" + std::string(digits.substr(4, 2));
    if (digits.size() == 8) {
      int year = std::stoi(out.substr(0, 4));
      int day = std::stoi(std::string(digits.substr(6, 2)));
      static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
      int max = month == 2 && !leap ? 28 : kDays[month - 1];
      if (day < 1 || day > max) return std::nullopt;
      out += "-" + std::string(digits.substr(6, 2));
    }
  }
  return out;
}

std::optional<std::string> ToFhirDateTime(std::string_view ts) {
  if (ts.empty()) return std::string();
  auto date = ToFhirDate(ts);
  if (!date.has_value()) return std::nullopt;
  std::size_t n = 0;
  while (n < ts.size() && std::isdigit(static_cast<unsigned char>(ts[n]))) ++n;
  std::string_view time = ts.substr(std::min<std::size_t>(n, 8), n > 8 ? n - 8 : 0);
  std::string_view rest = ts.substr(n);
  std::string fraction;
  if (!rest.empty() && rest.front() == '.') {
    std::size_t k = 1;
    while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) ++k;
    fraction = std::string(rest.substr(0, k));
    rest.remove_prefix(k);
  }
  std::string offset;
  if (!rest.empty()) {
    if ((rest.front() != '+' && rest.front() != '-') || rest.size() != 5 || !AllDigits(rest.substr(1)))
      return std::nullopt;
    int hh = std::stoi(std::string(rest.substr(1, 2)));
    int mm = std::stoi(std::string(rest.substr(3, 2)));
    if (hh > 14 || mm > 59) return std::nullopt;
    offset = std::string(1, rest.front()) + std::string(rest.substr(1, 2)) + ":" + std::string(rest.substr(3, 2));
  }
  if (time.empty() || date->size() != 10) return date;
  if (time.size() != 2 && time.size() != 4 && time.size() != 6) return std::nullopt;
  std::string hh(time.substr(0, 2));
  std::string mi = time.size() >= 4 ? std::string(time.substr(2, 2)) : "00";
  std::string ss = time.size() == 6 ? std::string(time.substr(4, 2)) : "00";
  if (std::stoi(hh) > 23 || std::stoi(mi) > 59 || std::stoi(ss) > 59) return std::nullopt;
  if (offset.empty()) return date;  // FHIR wants a zone with a time: keep the day only
  if (time.size() < 6) fraction.clear();
  return *date + "T" + hh + ":" + mi + ":" + ss + fraction + offset;
}

AdtMapping MapAdt(const Message& m, const AdtOptions& options) {
  AdtMapping out;
  auto fail = [&](MappingError e) {
    out.error = std::move(e);
    return out;
  };
  if (!IsSupportedVersion(m.Version())) {
    return fail(Error(At("MSH", 12), "203", "HL7 version '" + m.Version() + "' is not supported (2.3 to 2.8)", true));
  }
  if (m.MessageType() != "ADT") {
    return fail(Error(At("MSH", 9, 0, 1), "200", "Message type '" + m.MessageType() + "' is not accepted here (ADT only)", true));
  }
  std::string event = m.TriggerEvent();
  if (event.empty()) {
    const Segment* evn = m.Find("EVN");
    if (evn != nullptr) event = Val(m, *evn, 1, 1, 1);
  }
  const bool demographics = Contains(kDemographicEvents, event);
  const bool no_op = Contains(kNoOpEvents, event);
  if (!demographics && !no_op && !Contains({"A01", "A03", "A04", "A11", "A29", "A40", "A47"}, event)) {
    return fail(Error(At("MSH", 9, 0, 2), "201", "ADT event '" + event + "' is not supported (see docs/HL7V2.md)", true));
  }
  if (m.ControlId().empty()) return fail(Error(At("MSH", 10), "101", "MSH-10 (message control id) is required"));

  JsonValue bundle = JsonValue::Object();
  bundle.Set("resourceType", Str("Bundle"));
  bundle.Set("type", Str("transaction"));
  JsonValue& entries = bundle.Set("entry", JsonValue::Array());
  std::vector<std::string> focus;

  auto patient = MapPatient(m);
  if (auto* e = std::get_if<MappingError>(&patient); e != nullptr && !no_op) return fail(*e);
  if (no_op) {
    if (!options.marker_id.empty()) {
      JsonValue header = MessageHeader(m, event, {});
      header.Set("id", Str(options.marker_id));
      entries.Add(Entry("", std::move(header), "PUT", "MessageHeader/" + options.marker_id));
    }
    out.bundle = std::move(bundle);
    return out;
  }
  PatientMapping& pm = std::get<PatientMapping>(patient);
  const std::string patient_criteria = Criteria("Patient", pm.match);

  if (event == "A01" || event == "A04" || demographics) {
    entries.Add(Entry(kPatientUrl, std::move(pm.resource), "PUT", patient_criteria));
    focus.push_back(kPatientUrl);
  }
  if (event == "A47") {
    // Change patient identifier list: the Patient found by its old identifier (MRG-1) takes
    // the PID's demographics, new identifiers included; references to it stay valid.
    const Segment* mrg = m.Find("MRG");
    if (mrg == nullptr) return fail(Error(At("MRG", 0), "100", "A47 needs an MRG segment naming the old identifier"));
    std::vector<Identifier> old_ids = Identifiers(m, *mrg, 1);
    const Identifier* old_id = MatchIdentifier(old_ids);
    if (old_id == nullptr) return fail(Error(At("MRG", 1), "101", "MRG-1 (prior patient identifier list) is required"));
    entries.Add(Entry(kPatientUrl, std::move(pm.resource), "PUT", Criteria("Patient", *old_id)));
    focus.push_back(kPatientUrl);
  }
  if (event == "A01" || event == "A04") {
    std::optional<MappingError> err;
    Identifier visit = VisitIdentifier(m, false, err);
    JsonValue enc = JsonValue::Object();
    enc.Set("resourceType", Str("Encounter"));
    enc.Set("identifier", JsonValue::Array()).Add(IdentifierJson(visit));
    enc.Set("status", Str("arrived"));
    JsonValue klass = Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "FLD");
    klass.Set("display", Str("field"));
    enc.Set("class", std::move(klass));
    JsonValue type = JsonValue::Object();
    JsonValue coding = Coding(kStepSystem, "screening-session");
    coding.Set("display", Str("Vision screening session"));
    type.Set("coding", JsonValue::Array()).Add(std::move(coding));
    enc.Set("type", JsonValue::Array()).Add(std::move(type));
    enc.Set("subject", Ref(kPatientUrl));
    std::string start;
    if (const Segment* evn = m.Find("EVN"); evn != nullptr) start = Val(m, *evn, 2, 1, 1);
    Path start_at = At("EVN", 2);
    if (start.empty()) {
      start = m.Get("MSH-7.1");
      start_at = At("MSH", 7);
    }
    auto when = ToFhirDateTime(start);
    if (!when.has_value()) return fail(Error(start_at, "102", start_at.ToString() + " is not a valid timestamp"));
    if (!when->empty()) {
      JsonValue period = JsonValue::Object();
      period.Set("start", Str(*when));
      enc.Set("period", std::move(period));
    }
    if (!options.unit_location.empty()) {
      JsonValue where = JsonValue::Object();
      where.Set("location", Ref(options.unit_location));
      where.Set("status", Str("active"));
      enc.Set("location", JsonValue::Array()).Add(std::move(where));
    }
    entries.Add(Entry(kEncounterUrl, std::move(enc), "POST", "Encounter", Criteria("Encounter", visit).substr(10)));
    focus.push_back(kEncounterUrl);
  }
  if (event == "A03" || event == "A11") {
    std::optional<MappingError> err;
    Identifier visit = VisitIdentifier(m, true, err);
    if (err.has_value()) return fail(*err);
    std::string status = event == "A03" ? "finished" : "cancelled";
    JsonValue patch = Parameters({PatchOperation("replace", "Encounter.status",
                                                 {{"value", Named("valueCode", Str(status))}})});
    entries.Add(Entry("", std::move(patch), "PATCH", Criteria("Encounter", visit)));
  }
  if (event == "A29") {
    // Delete person information: the screening record is kept (clinical records are not the
    // hospital ADT's to erase); the Patient is marked no longer in use, as FHIR has it.
    entries.Add(Entry("", Parameters({PatchOperation("replace", "Patient.active",
                                                     {{"value", Named("valueBoolean", JsonValue::Bool(false))}})}),
                      "PATCH", patient_criteria));
  }
  if (event == "A40") {
    const Segment* mrg = m.Find("MRG");
    if (mrg == nullptr) return fail(Error(At("MRG", 0), "100", "A40 needs an MRG segment naming the prior patient"));
    const Identifier* prior = nullptr;
    std::vector<Identifier> prior_ids = Identifiers(m, *mrg, 1);
    prior = MatchIdentifier(prior_ids);
    if (prior == nullptr) return fail(Error(At("MRG", 1), "101", "MRG-1 (prior patient identifier list) is required"));
    const std::string prior_criteria = Criteria("Patient", *prior);
    auto link = [](const std::string& other, const std::string& type) {
      JsonValue parts = JsonValue::Array();
      JsonValue o = JsonValue::Object();
      o.Set("name", Str("other"));
      o.Set("valueReference", Ref(other));
      parts.Add(std::move(o));
      JsonValue t = JsonValue::Object();
      t.Set("name", Str("type"));
      t.Set("valueCode", Str(type));
      parts.Add(std::move(t));
      return Named("__part", std::move(parts));
    };
    entries.Add(Entry("", Parameters({PatchOperation("add", "Patient", {{"name", Named("valueString", Str("link"))},
                                                                          {"value", link(prior_criteria, "replaces")}})}),
                      "PATCH", patient_criteria));
    entries.Add(Entry("", Parameters({PatchOperation("replace", "Patient.active", {{"value", Named("valueBoolean", JsonValue::Bool(false))}}),
                                      PatchOperation("add", "Patient", {{"name", Named("valueString", Str("link"))},
                                                                         {"value", link(patient_criteria, "replaced-by")}})}),
                      "PATCH", prior_criteria));
  }
  if (!options.marker_id.empty()) {
    JsonValue header = MessageHeader(m, event, focus);
    header.Set("id", Str(options.marker_id));
    entries.Add(Entry("", std::move(header), "PUT", "MessageHeader/" + options.marker_id));
  }
  out.bundle = std::move(bundle);
  return out;
}

}  // namespace adapters::hl7v2::mapping
