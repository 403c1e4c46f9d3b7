#!/usr/bin/env python3
"""Builds Fovea's compact R4 definitions from the official HL7 bundles.

Input: the official FHIR R4 4.0.1 definition bundles (CC0), by default ../shared/fhir-r4/definitions.
Output: fhir/definitions/data/r4.json and fhir/search/data/r4-search-parameters.json, committed,
compiled into the fovea binary.

The compact form keeps only what the element tree, the validator and the REST layer need:
for every type (primitive, complex, resource, and each BackboneElement as its own type named by
its path) the ordered list of child elements with their types, cardinality, JSON array-ness and
required bindings, plus the enumerable code lists of the required value sets.

Run: python3 scripts/gen_definitions.py [DEFINITIONS_DIR]
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"


def load(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as f:
        return json.load(f)


def strip_version(url):
    return url.split("|", 1)[0] if url else url


def type_code(t):
    code = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext["url"] == FHIR_TYPE_EXT:
                return ext.get("valueUrl") or ext.get("valueUri")
        return "string"
    return code


class ValueSets:
    """Expands required value sets into explicit code lists where that is possible offline."""

    def __init__(self, bundle):
        self.code_systems = {}
        self.value_sets = {}
        for e in bundle["entry"]:
            r = e["resource"]
            if r["resourceType"] == "CodeSystem":
                self.code_systems[r["url"]] = r
            elif r["resourceType"] == "ValueSet":
                self.value_sets[r["url"]] = r
        self.cache = {}

    def _system_codes(self, system):
        cs = self.code_systems.get(system)
        if cs is None or cs.get("content") != "complete":
            return None
        out = []

        def walk(concepts):
            for c in concepts:
                out.append(c["code"])
                walk(c.get("concept", []))

        walk(cs.get("concept", []))
        return out

    def hierarchies(self):
        """{system: {code: [parent codes]}} of every complete code system whose concepts nest
        or name a parent (property subsumedBy): what token :below/:above search follows."""
        out = {}
        for url, cs in sorted(self.code_systems.items()):
            if cs.get("content") != "complete":
                continue
            parents = {}
            hierarchical = False

            def walk(concepts, parent):
                nonlocal hierarchical
                for c in concepts:
                    mine = parents.setdefault(c["code"], [])
                    if parent is not None and parent not in mine:
                        mine.append(parent)
                        hierarchical = True
                    for prop in c.get("property", []):
                        if prop.get("code") == "subsumedBy" and prop.get("valueCode") not in mine:
                            mine.append(prop["valueCode"])
                            hierarchical = True
                    walk(c.get("concept", []), c["code"])

            walk(cs.get("concept", []), None)
            if hierarchical:
                out[url] = dict(sorted(parents.items()))
        return out

    def _component(self, inc, depth):
        if inc.get("filter"):
            return None
        codes = None
        if "system" in inc:
            if inc.get("concept"):
                codes = [c["code"] for c in inc["concept"]]
            else:
                codes = self._system_codes(inc["system"])
                if codes is None:
                    return None
        for vs in inc.get("valueSet", []):
            sub = self.expand(strip_version(vs), depth + 1)
            if sub is None:
                return None
            codes = sub if codes is None else [c for c in codes if c in set(sub)]
        return codes if codes is not None else None

    def expand(self, url, depth=0):
        """Returns the sorted code list of a value set, or None when it cannot be enumerated."""
        if url in self.cache:
            return self.cache[url]
        if depth > 10:
            return None
        vs = self.value_sets.get(url)
        result = None
        if vs is not None:
            if vs.get("expansion", {}).get("contains") and not vs.get("compose"):
                result = [c["code"] for c in vs["expansion"]["contains"] if "code" in c]
            elif "compose" in vs:
                codes = set()
                ok = True
                for inc in vs["compose"].get("include", []):
                    part = self._component(inc, depth)
                    if part is None:
                        ok = False
                        break
                    codes.update(part)
                if ok:
                    for exc in vs["compose"].get("exclude", []):
                        part = self._component(exc, depth)
                        if part is None:
                            ok = False
                            break
                        codes.difference_update(part)
                result = sorted(codes) if ok and codes else None
        self.cache[url] = result
        return result


def build(directory):
    resources = load(directory, "profiles-resources.json")
    types = load(directory, "profiles-types.json")
    value_sets = ValueSets(load(directory, "valuesets.json"))
    out_types = {}
    used_value_sets = {}
    primitives = []
    resource_names = []

    structures = [e["resource"] for b in (types, resources) for e in b["entry"]
                  if e["resource"]["resourceType"] == "StructureDefinition"
                  and e["resource"].get("derivation") != "constraint"]
    for sd in structures:
        name = sd["id"]
        kind = sd["kind"]
        if kind == "primitive-type":
            primitives.append(name)
        if kind == "resource":
            resource_names.append(name)
        base = sd.get("baseDefinition", "").rsplit("/", 1)[-1] or None
        containers = {name: {"kind": kind, "abstract": sd.get("abstract", False),
                             "base": base, "elements": []}}
        for el in sd["snapshot"]["element"][1:]:
            path = el["path"]
            parent, _, leaf = path.rpartition(".")
            if parent not in containers:
                continue  # child of a primitive's value or of an element we skip
            if kind == "primitive-type" and leaf == "value":
                continue
            choice = leaf.endswith("[x]")
            leaf = leaf[:-3] if choice else leaf
            if "contentReference" in el:
                el_types = [el["contentReference"].lstrip("#")]
            else:
                codes = [type_code(t) for t in el.get("type", [])]
                if codes in (["BackboneElement"], ["Element"]) and path != name:
                    # A nested structure: it becomes its own type named by its path.
                    containers[path] = {"kind": "backbone", "abstract": False,
                                        "base": codes[0], "elements": []}
                    el_types = [path]
                else:
                    el_types = codes
            maximum = el["max"]
            base_max = el.get("base", {}).get("max", maximum)
            entry = {"name": leaf, "types": el_types, "min": el.get("min", 0),
                     "max": -1 if maximum == "*" else int(maximum),
                     "array": base_max != "1"}
            if choice:
                entry["choice"] = True
            if el.get("isModifier"):
                entry["modifier"] = True
            if el.get("isSummary"):
                entry["summary"] = True
            binding = el.get("binding", {})
            if binding.get("strength") == "required" and binding.get("valueSet"):
                url = strip_version(binding["valueSet"])
                codes = value_sets.expand(url)
                if codes:
                    entry["binding"] = url
                    used_value_sets[url] = codes
            containers[parent]["elements"].append(entry)
        for cname, c in containers.items():
            out_types[cname] = c

    return {"fhirVersion": "4.0.1", "primitives": sorted(primitives),
            "resources": sorted(resource_names), "types": out_types,
            "valueSets": dict(sorted(used_value_sets.items())),
            "codeHierarchies": value_sets.hierarchies()}


def build_search_parameters(directory):
    """Every R4 SearchParameter, reduced to what the search registry needs."""
    bundle = load(directory, "search-parameters.json")
    out = []
    for e in bundle["entry"]:
        sp = e["resource"]
        entry = {"url": sp["url"], "code": sp["code"], "base": sp["base"], "type": sp["type"],
                 "expression": sp.get("expression", "")}
        if sp.get("target"):
            entry["target"] = sp["target"]
        if sp.get("component"):
            entry["component"] = [{"definition": c["definition"], "expression": c["expression"]}
                                  for c in sp["component"]]
        out.append(entry)
    out.sort(key=lambda x: (x["base"][0], x["code"]))
    # Compartments: for each compartment type, the parameters that put a resource of each type
    # into an instance's compartment (hl7.org/fhir/R4/compartmentdefinition.html).
    compartments = {}
    for name in sorted(os.listdir(directory)):
        if not name.startswith("CompartmentDefinition-") or name.endswith("example.json"):
            continue
        cd = load(directory, name)
        members = {r["code"]: r["param"] for r in cd.get("resource", []) if r.get("param")}
        compartments[cd["code"]] = dict(sorted(members.items()))
    return {"fhirVersion": "4.0.1", "searchParameters": out, "compartments": compartments}


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        REPO, "..", "shared", "fhir-r4", "definitions")
    data = build(directory)
    target = os.path.join(REPO, "fhir", "definitions", "data", "r4.json")
    with open(target, "w", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=False)
        f.write("\n")
    print(f"{target}: {len(data['types'])} types, {len(data['resources'])} resources, "
          f"{len(data['valueSets'])} required value sets, "
          f"{len(data['codeHierarchies'])} code systems with a hierarchy")
    search = build_search_parameters(directory)
    target = os.path.join(REPO, "fhir", "search", "data", "r4-search-parameters.json")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(search, f, separators=(",", ":"))
        f.write("\n")
    print(f"{target}: {len(search['searchParameters'])} search parameters")


if __name__ == "__main__":
    main()
