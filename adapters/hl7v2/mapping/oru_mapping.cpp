#include "adapters/hl7v2/mapping/oru_mapping.h"

#include <cctype>

namespace adapters::hl7v2::mapping {
namespace {

using common::JsonValue;

std::string S(const JsonValue* v) { return v != nullptr && !v->is_object() && !v->is_array() ? v->scalar() : ""; }

const JsonValue* At(const JsonValue& v, std::initializer_list<const char*> path) {
  const JsonValue* cur = &v;
  for (const char* p : path) {
    if (cur == nullptr) return nullptr;
    if (cur->is_array()) cur = cur->items().empty() ? nullptr : &cur->items().front();
    if (cur == nullptr || !cur->is_object()) return nullptr;
    cur = cur->Find(p);
  }
  if (cur != nullptr && cur->is_array()) cur = cur->items().empty() ? nullptr : &cur->items().front();
  return cur;
}

std::string CodingSystem(const std::string& system) {
  if (system == "http://snomed.info/sct") return "SCT";
  if (system == "http://loinc.org") return "LN";
  if (system == "http://unitsofmeasure.org") return "UCUM";
  return "L";
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A CodeableConcept's first coding as CWE: code^display^system.
void SetConcept(Segment& seg, int field, int rep, const JsonValue* cc, const Delimiters& d) {
  if (cc == nullptr) return;
  const JsonValue* coding = At(*cc, {"coding"});
  if (coding != nullptr) {
    seg.Set(field, rep, 1, 0, S(coding->Find("code")), d);
    std::string display = S(coding->Find("display"));
    if (display.empty()) display = S(cc->Find("text"));
    seg.Set(field, rep, 2, 0, display, d);
    seg.Set(field, rep, 3, 0, CodingSystem(S(coding->Find("system"))), d);
  } else {
    seg.Set(field, rep, 2, 0, S(cc->Find("text")), d);
  }
}

std::string ResultStatus(const std::string& fhir) {
  if (fhir == "preliminary" || fhir == "registered") return "P";
  if (fhir == "amended" || fhir == "corrected") return "C";
  if (fhir == "cancelled" || fhir == "entered-in-error") return "W";
  return "F";
}

class ObxWriter {
 public:
  explicit ObxWriter(Message& m) : m_(m) {}

  // One OBX for a value[x] (of an Observation or a component).
  void Value(const JsonValue& holder, const JsonValue* code, const std::string& sub_id,
             const JsonValue* site, const std::string& status, const std::string& when) {
    std::string type;
    std::string value;
    std::string unit;
    std::string unit_system;
    const JsonValue* concept_value = nullptr;
    if (const JsonValue* q = holder.Find("valueQuantity"); q != nullptr) {
      type = "NM";
      value = S(q->Find("value"));
      unit = S(q->Find("code"));
      if (unit.empty()) unit = S(q->Find("unit"));
      unit_system = S(q->Find("system"));
    } else if (const JsonValue* s = holder.Find("valueString"); s != nullptr) {
      type = "ST";
      value = s->scalar();
    } else if (const JsonValue* c = holder.Find("valueCodeableConcept"); c != nullptr) {
      type = "CWE";
      concept_value = c;
    } else if (const JsonValue* b = holder.Find("valueBoolean"); b != nullptr) {
      type = "ST";
      value = b->scalar() == "true" ? "Y" : "N";
    } else if (const JsonValue* i = holder.Find("valueInteger"); i != nullptr) {
      type = "NM";
      value = i->scalar();
    } else {
      return;  // no value: nothing to report
    }
    Segment& obx = Next();
    const Delimiters& d = m_.delimiters();
    obx.Set(2, 1, 0, 0, type, d);
    SetConcept(obx, 3, 1, code, d);
    obx.Set(4, 1, 0, 0, sub_id, d);
    if (concept_value != nullptr) {
      SetConcept(obx, 5, 1, concept_value, d);
    } else {
      obx.Set(5, 1, 0, 0, value, d);
    }
    if (!unit.empty()) {
      obx.Set(6, 1, 1, 0, unit, d);
      obx.Set(6, 1, 2, 0, unit, d);
      obx.Set(6, 1, 3, 0, unit_system == "http://unitsofmeasure.org" ? "UCUM" : "L", d);
    }
    obx.Set(11, 1, 0, 0, status, d);
    if (!when.empty()) obx.Set(14, 1, 0, 0, ToHl7Timestamp(when), d);
    SetConcept(obx, 20, 1, site, d);
  }

  void Text(const std::string& code, const std::string& display, const std::string& text) {
    Segment& obx = Next();
    const Delimiters& d = m_.delimiters();
    obx.Set(2, 1, 0, 0, "TX", d);
    obx.Set(3, 1, 1, 0, code, d);
    obx.Set(3, 1, 2, 0, display, d);
    obx.Set(3, 1, 3, 0, "L", d);
    obx.Set(5, 1, 0, 0, text, d);
    obx.Set(11, 1, 0, 0, "F", d);
  }

  void Concept(const std::string& code, const std::string& display, const JsonValue& cc) {
    Segment& obx = Next();
    const Delimiters& d = m_.delimiters();
    obx.Set(2, 1, 0, 0, "CWE", d);
    obx.Set(3, 1, 1, 0, code, d);
    obx.Set(3, 1, 2, 0, display, d);
    obx.Set(3, 1, 3, 0, "L", d);
    SetConcept(obx, 5, 1, &cc, d);
    obx.Set(11, 1, 0, 0, "F", d);
  }

 private:
  Segment& Next() {
    Segment& obx = m_.Add("OBX");
    obx.Set(1, 1, 0, 0, std::to_string(++n_), m_.delimiters());
    return obx;
  }
  Message& m_;
  int n_ = 0;
};

void AddPid(Message& m, const JsonValue& patient) {
  const Delimiters& d = m.delimiters();
  Segment& pid = m.Add("PID");
  pid.Set(1, 1, 0, 0, "1", d);
  int rep = 0;
  if (const JsonValue* ids = patient.Find("identifier"); ids != nullptr && ids->is_array()) {
    for (const JsonValue& id : ids->items()) {
      std::string value = S(id.Find("value"));
      if (value.empty()) continue;
      ++rep;
      pid.Set(3, rep, 1, 0, value, d);
      std::string system = S(id.Find("system"));
      const std::string kFovea = "urn:fovea:hl7v2:id:";
      if (system.rfind("urn:oid:", 0) == 0) {
        pid.Set(3, rep, 4, 2, system.substr(8), d);
        pid.Set(3, rep, 4, 3, "ISO", d);
      } else if (system.rfind(kFovea, 0) == 0) {
        pid.Set(3, rep, 4, 1, PercentDecode(system.substr(kFovea.size())), d);
      } else if (!system.empty()) {
        pid.Set(3, rep, 4, 2, system, d);
        pid.Set(3, rep, 4, 3, "URI", d);
      }
      const JsonValue* type = At(id, {"type", "coding"});
      if (type != nullptr) pid.Set(3, rep, 5, 0, S(type->Find("code")), d);
    }
  }
  // Fovea's own id, so the EHR can come back to the resource.
  ++rep;
  pid.Set(3, rep, 1, 0, S(patient.Find("id")), d);
  pid.Set(3, rep, 4, 1, "FOVEA", d);
  pid.Set(3, rep, 5, 0, "PI", d);
  if (const JsonValue* name = At(patient, {"name"}); name != nullptr) {
    pid.Set(5, 1, 1, 0, S(name->Find("family")), d);
    const JsonValue* given = name->Find("given");
    if (given != nullptr && given->is_array()) {
      for (std::size_t i = 0; i < given->items().size() && i < 2; ++i) {
        pid.Set(5, 1, static_cast<int>(2 + i), 0, given->items()[i].scalar(), d);
      }
    }
  }
  std::string birth = S(patient.Find("birthDate"));
  if (!birth.empty()) pid.Set(7, 1, 0, 0, ToHl7Timestamp(birth), d);
  std::string gender = S(patient.Find("gender"));
  static const std::pair<const char*, const char*> kSex[] = {
      {"male", "M"}, {"female", "F"}, {"other", "O"}, {"unknown", "U"}};
  for (const auto& [fhir, v2] : kSex) {
    if (gender == fhir) pid.Set(8, 1, 0, 0, v2, d);
  }
}

}  // namespace

std::string ToHl7Timestamp(std::string_view fhir) {
  std::string digits;
  std::string offset;
  std::size_t i = 0;
  for (; i < fhir.size(); ++i) {
    char c = fhir[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digits.push_back(c);
    } else if (c == '.') {  // fractions are dropped: DTM seconds are enough for results
      while (i + 1 < fhir.size() && std::isdigit(static_cast<unsigned char>(fhir[i + 1]))) ++i;
    } else if (c == 'Z') {
      offset = "+0000";
    } else if ((c == '+' || c == '-') && digits.size() >= 12) {
      std::string_view rest = fhir.substr(i);
      offset = std::string(1, c) + std::string(rest.substr(1, 2)) + std::string(rest.substr(4, 2));
      break;
    }
  }
  return digits + offset;
}

Message BuildOru(const OruInput& in) {
  Message m = Message::New();
  const Delimiters& d = m.delimiters();
  Segment& msh = m.segments().front();
  msh.Set(3, 1, 0, 0, "FOVEA", d);
  msh.Set(4, 1, 0, 0, in.sending_facility, d);
  msh.Set(5, 1, 0, 0, in.receiving_application, d);
  msh.Set(6, 1, 0, 0, in.receiving_facility, d);
  msh.Set(7, 1, 0, 0, in.timestamp, d);
  msh.Set(9, 1, 1, 0, "ORU", d);
  msh.Set(9, 1, 2, 0, "R01", d);
  msh.Set(9, 1, 3, 0, "ORU_R01", d);
  msh.Set(10, 1, 0, 0, in.control_id, d);
  msh.Set(11, 1, 0, 0, "P", d);
  msh.Set(12, 1, 0, 0, "2.5.1", d);

  AddPid(m, in.patient);
  Segment& pv1 = m.Add("PV1");
  pv1.Set(1, 1, 0, 0, "1", d);
  pv1.Set(2, 1, 0, 0, "O", d);
  if (const JsonValue* id = At(in.encounter, {"identifier"}); id != nullptr) {
    pv1.Set(19, 1, 1, 0, S(id->Find("value")), d);
    std::string system = S(id->Find("system"));
    if (system.rfind("urn:fovea:hl7v2:id:", 0) == 0) pv1.Set(19, 1, 4, 0, PercentDecode(system.substr(19)), d);
  }

  const std::string encounter_id = S(in.encounter.Find("id"));
  Segment& obr = m.Add("OBR");
  obr.Set(1, 1, 0, 0, "1", d);
  obr.Set(3, 1, 1, 0, encounter_id, d);
  obr.Set(3, 1, 2, 0, "FOVEA", d);
  obr.Set(4, 1, 1, 0, "screening-session", d);
  obr.Set(4, 1, 2, 0, "Vision screening session", d);
  obr.Set(4, 1, 3, 0, "L", d);
  std::string start = S(At(in.encounter, {"period", "start"}));
  std::string end = S(At(in.encounter, {"period", "end"}));
  if (!start.empty()) obr.Set(7, 1, 0, 0, ToHl7Timestamp(start), d);
  if (!end.empty()) obr.Set(8, 1, 0, 0, ToHl7Timestamp(end), d);
  obr.Set(22, 1, 0, 0, in.timestamp, d);
  obr.Set(25, 1, 0, 0, "F", d);

  ObxWriter obx(m);
  int eye_group = 0;
  for (const JsonValue& o : in.observations) {
    const JsonValue* code = o.Find("code");
    const JsonValue* site = o.Find("bodySite");
    std::string status = ResultStatus(S(o.Find("status")));
    std::string when = S(o.Find("effectiveDateTime"));
    if (when.empty()) when = S(o.Find("issued"));
    std::string sub = std::to_string(++eye_group);
    obx.Value(o, code, sub, site, status, when);
    if (const JsonValue* comps = o.Find("component"); comps != nullptr && comps->is_array()) {
      for (const JsonValue& c : comps->items()) obx.Value(c, c.Find("code"), sub, site, status, when);
    }
  }
  for (const JsonValue& r : in.reports) {
    std::string conclusion = S(r.Find("conclusion"));
    if (!conclusion.empty()) obx.Text("conclusion", "Screening conclusion", conclusion);
    if (const JsonValue* codes = r.Find("conclusionCode"); codes != nullptr && codes->is_array()) {
      for (const JsonValue& c : codes->items()) obx.Concept("finding", "Screening finding", c);
    }
  }
  return m;
}

}  // namespace adapters::hl7v2::mapping
