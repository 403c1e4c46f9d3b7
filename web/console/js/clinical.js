// What the unit records, as FHIR: visual acuity and refraction per eye (checked as they are
// typed), the doctor's diagnosis and glasses prescription. Codes follow docs/WORKFLOW.md (the
// SNOMED concepts the screening plan's outputs filter on).

export const SNOMED = 'http://snomed.info/sct';
export const UCUM = 'http://unitsofmeasure.org';
export const ACUITY = '363983007';
export const REFRACTION = '251794006';
export const EYES = [
  { key: 'right', code: '362502000', label: 'Right eye (OD)' },
  { key: 'left', code: '362503005', label: 'Left eye (OS)' },
];
const COMPONENT = 'https://fovea.health/fhir/CodeSystem/refraction-component';

const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

// Visual acuity as typed in one of three notations. Returns { ok, message, decimal, logmar,
// display } — the message says what is wrong in words a technician can act on.
export function parseAcuity(notation, text) {
  const t = String(text || '').trim();
  if (!t) return { ok: false, empty: true, message: 'Enter a value' };
  if (notation === 'snellen') {
    const m = /^(\d{1,2}(?:\.\d)?)\s*\/\s*(\d{1,3}(?:\.\d)?)$/.exec(t);
    if (!m) return { ok: false, message: 'Write a Snellen fraction like 6/6 or 20/40' };
    const num = Number(m[1]);
    const den = Number(m[2]);
    if (num <= 0 || den <= 0) return { ok: false, message: 'Both parts of the fraction must be above zero' };
    if (num > 20 || den > 400) return { ok: false, message: 'That fraction is outside any chart (at most 20/400)' };
    const decimal = num / den;
    return { ok: true, display: `${m[1]}/${m[2]}`, decimal: round(decimal, 3), logmar: round(-Math.log10(decimal)) };
  }
  if (!/^[-+]?\d*(\.\d+)?$/.test(t) || t === '-' || t === '+') return { ok: false, message: 'Enter a number' };
  const x = Number(t);
  if (notation === 'decimal') {
    if (x <= 0 || x > 2.0) return { ok: false, message: 'Decimal acuity is between 0.01 and 2.0' };
    return { ok: true, display: String(x), decimal: x, logmar: round(-Math.log10(x)) };
  }
  if (x < -0.3 || x > 3.0) return { ok: false, message: 'logMAR is between -0.3 and 3.0' };
  return { ok: true, display: String(x), decimal: round(10 ** -x, 3), logmar: x };
}

function quarterDiopters(text, name, min, max, { required }) {
  const t = String(text ?? '').trim();
  if (!t) return required ? { ok: false, message: `Enter the ${name}` } : { ok: true, value: undefined };
  if (!/^[-+]?\d{1,2}(\.\d{1,2})?$/.test(t)) return { ok: false, message: `${name[0].toUpperCase()}${name.slice(1)}: a number of dioptres, like -1.25` };
  const x = Number(t);
  if (x < min || x > max) return { ok: false, message: `${name[0].toUpperCase()}${name.slice(1)} is between ${min} and +${max} D` };
  if (Math.abs(x * 4 - Math.round(x * 4)) > 1e-9) return { ok: false, message: `${name[0].toUpperCase()}${name.slice(1)} goes in steps of 0.25 D` };
  return { ok: true, value: x };
}

// One eye's refraction: sphere (required), cylinder and axis (together), add. Returns
// { ok, errors: {field: message}, value: {sphere, cylinder, axis, add} }.
export function parseRefraction(fields) {
  const errors = {};
  const sphere = quarterDiopters(fields.sphere, 'sphere', -30, 30, { required: true });
  const cylinder = quarterDiopters(fields.cylinder, 'cylinder', -15, 15, { required: false });
  const add = quarterDiopters(fields.add, 'add', 0, 4, { required: false });
  if (!sphere.ok) errors.sphere = sphere.message;
  if (!cylinder.ok) errors.cylinder = cylinder.message;
  if (!add.ok) errors.add = add.message;
  let axis;
  const a = String(fields.axis ?? '').trim();
  const hasCylinder = cylinder.ok && cylinder.value !== undefined && cylinder.value !== 0;
  if (a) {
    if (!/^\d{1,3}$/.test(a) || Number(a) < 1 || Number(a) > 180) errors.axis = 'Axis is a whole number of degrees from 1 to 180';
    else if (!hasCylinder) errors.axis = 'An axis needs a cylinder';
    else axis = Number(a);
  } else if (hasCylinder) {
    errors.axis = 'A cylinder needs its axis (1 to 180)';
  }
  const ok = Object.keys(errors).length === 0;
  return { ok, errors, value: ok ? { sphere: sphere.value, cylinder: hasCylinder ? cylinder.value : undefined, axis, add: add.value } : undefined };
}

function base(session, performer, code, display, eye) {
  return {
    resourceType: 'Observation',
    status: 'preliminary',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam', display: 'Exam' }] }],
    code: { coding: [{ system: SNOMED, code, display }], text: display },
    subject: { reference: session.patient },
    encounter: { reference: session.encounter },
    effectiveDateTime: new Date().toISOString(),
    performer: performer ? [{ reference: performer }] : undefined,
    bodySite: { coding: [{ system: SNOMED, code: eye.code, display: eye.code === '362502000' ? 'Entire right eye' : 'Entire left eye' }] },
  };
}

export function acuityObservation(session, performer, eye, notation, parsed) {
  const o = base(session, performer, ACUITY, 'Visual acuity', eye);
  if (notation === 'snellen') {
    o.valueString = parsed.display;
  } else if (notation === 'decimal') {
    o.valueQuantity = { value: parsed.decimal, unit: 'decimal', system: UCUM, code: '{decimal}' };
  } else {
    o.valueQuantity = { value: parsed.logmar, unit: 'logMAR', system: UCUM, code: '{logMAR}' };
  }
  return o;
}

export function refractionObservation(session, performer, eye, value) {
  const o = base(session, performer, REFRACTION, 'Refraction', eye);
  const comp = (code, display, v, unit, ucum) => (v === undefined ? null : {
    code: { coding: [{ system: COMPONENT, code, display }], text: display },
    valueQuantity: { value: v, unit, system: UCUM, code: ucum },
  });
  o.component = [
    comp('sphere', 'Sphere', value.sphere, 'D', '[diop]'),
    comp('cylinder', 'Cylinder', value.cylinder, 'D', '[diop]'),
    comp('axis', 'Axis', value.axis, 'deg', 'deg'),
    comp('add', 'Add', value.add, 'D', '[diop]'),
  ].filter(Boolean);
  return o;
}

// How an acuity or refraction Observation reads in a table cell.
export function describeObservation(o) {
  if (!o) return '—';
  if (o.valueString) return o.valueString;
  if (o.valueQuantity) return `${o.valueQuantity.value} ${o.valueQuantity.unit || ''}`.trim();
  if (o.component) {
    const v = (code) => o.component.find((c) => c.code?.coding?.some((x) => x.code === code))?.valueQuantity?.value;
    const sign = (x) => (x > 0 ? `+${x.toFixed(2)}` : x.toFixed(2));
    const parts = [sign(v('sphere') ?? 0)];
    if (v('cylinder') !== undefined) parts.push(`${sign(v('cylinder'))} × ${v('axis')}`);
    if (v('add') !== undefined) parts.push(`add ${sign(v('add'))}`);
    return parts.join(' ');
  }
  return '—';
}

export function refractionValues(o) {
  const v = (code) => o?.component?.find((c) => c.code?.coding?.some((x) => x.code === code))?.valueQuantity?.value;
  return { sphere: v('sphere'), cylinder: v('cylinder'), axis: v('axis'), add: v('add') };
}

export function eyeOf(o) {
  const code = o?.bodySite?.coding?.[0]?.code;
  return EYES.find((e) => e.code === code)?.key;
}

export function kindOf(o) {
  const codes = (o?.code?.coding || []).map((c) => c.code);
  if (codes.includes(ACUITY)) return 'acuity';
  if (codes.includes(REFRACTION)) return 'refraction';
  return undefined;
}

// Common findings of a vision screening (SNOMED CT).
export const DIAGNOSES = [
  { code: '57190000', display: 'Myopia' },
  { code: '34363003', display: 'Hypermetropia' },
  { code: '24041005', display: 'Astigmatism' },
  { code: '11399002', display: 'Presbyopia' },
  { code: '387742006', display: 'Amblyopia' },
  { code: '22066006', display: 'Strabismus' },
  { code: '193570009', display: 'Cataract' },
];

export function condition(session, doctor, diagnosis, note) {
  return {
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'provisional' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis' }] }],
    code: { coding: [{ system: SNOMED, code: diagnosis.code, display: diagnosis.display }], text: diagnosis.display },
    subject: { reference: session.patient },
    encounter: { reference: session.encounter },
    recordedDate: new Date().toISOString(),
    recorder: doctor ? { reference: doctor } : undefined,
    note: note ? [{ text: note }] : undefined,
  };
}

export function visionPrescription(session, doctor, eyes) {
  return {
    resourceType: 'VisionPrescription',
    status: 'draft',  // approval makes it active (docs/WORKFLOW.md)
    created: new Date().toISOString(),
    patient: { reference: session.patient },
    encounter: { reference: session.encounter },
    dateWritten: new Date().toISOString(),
    prescriber: { reference: doctor },
    lensSpecification: EYES.filter((e) => eyes[e.key]).map((e) => {
      const v = eyes[e.key];
      const spec = {
        product: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-visionprescriptionproduct', code: 'lens' }] },
        eye: e.key,
        sphere: v.sphere,
      };
      if (v.cylinder !== undefined) { spec.cylinder = v.cylinder; spec.axis = v.axis; }
      if (v.add !== undefined) spec.add = v.add;
      return spec;
    }),
  };
}

export function diagnosticReport(session, doctor, conclusion, diagnoses, results) {
  return {
    resourceType: 'DiagnosticReport',
    status: 'preliminary',
    code: { coding: [{ system: 'https://fovea.health/fhir/CodeSystem/screening-step', code: 'doctor-diagnosis' }], text: 'Vision screening' },
    subject: { reference: session.patient },
    encounter: { reference: session.encounter },
    effectiveDateTime: new Date().toISOString(),
    issued: new Date().toISOString(),
    performer: doctor ? [{ reference: doctor }] : undefined,
    result: results.length ? results.map((r) => ({ reference: r })) : undefined,
    conclusion: conclusion || undefined,
    conclusionCode: diagnoses.length ? diagnoses.map((d) => ({ coding: [{ system: SNOMED, code: d.code, display: d.display }] })) : undefined,
  };
}
