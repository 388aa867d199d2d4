"""Compare this project's EPCIS importer with the GS1 reference implementation, document by document.

Usage: python epcis_compare.py REFERENCE.jsonl OURS.jsonl EXPECTATIONS.tsv

EXPECTATIONS.tsv lines are `refused<TAB>file<TAB>reason` (a document the standard makes invalid or
that is not an event document) or `differs<TAB>file<TAB>reason` (a document hashed differently from
the reference on purpose).

A document counts as
- matching: both hashed it, with equal hash lists (or both found no events);
- differing as expected: listed as `differs` and the hashes do differ;
- refused as expected: we refused it and EXPECTED_REFUSALS lists it (file name, tab, reason);
- reference-only failure: the reference cannot hash it (it raises or skips an event) and we accept it;
- a failure otherwise (a mismatch, an unexpected refusal, or a listed refusal that no longer happens).
Prints one line per document and a summary; exits 1 on any failure.
"""

import json
import os
import sys


def load(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                out[d["file"]] = d
    return out


def main(ref_path, ours_path, refusals_path):
    ref, ours = load(ref_path), load(ours_path)
    expected, differs = {}, {}
    if os.path.exists(refusals_path):
        with open(refusals_path, encoding="utf-8") as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    kind, name, why = (line.rstrip("\n").split("\t") + ["", ""])[:3]
                    (expected if kind == "refused" else differs)[name] = why
    counts = {"documents": 0, "accepted": 0, "refused": 0, "matching": 0, "events_matching": 0,
              "refused_as_expected": 0, "differing_as_expected": 0, "reference_cannot_hash": 0, "failures": 0}
    for name in sorted(ours):
        o, r = ours[name], ref.get(name, {"error": "no reference result"})
        counts["documents"] += 1
        key = os.path.relpath(name, os.environ.get("EPCIS_EXAMPLES_ROOT", "."))
        if "error" in o:
            counts["refused"] += 1
            if key in expected:
                counts["refused_as_expected"] += 1
                print(f"REFUSED (expected: {expected[key]}) {key}: {o['error']}")
            else:
                counts["failures"] += 1
                print(f"FAIL unexpected refusal {key}: {o['error']}")
            continue
        counts["accepted"] += 1
        if key in expected:
            counts["failures"] += 1
            print(f"FAIL {key} is listed as refused but was accepted")
            continue
        if "error" in r and not o["hashes"] and "hashed 0 of 0 events" in r["error"]:
            counts["matching"] += 1
            print(f"MATCH {key} (no events)")
            continue
        if "error" in r:
            counts["reference_cannot_hash"] += 1
            print(f"ACCEPTED, reference cannot hash it ({r['error'][:120]}) {key}")
            continue
        if key in differs:
            if o["hashes"] != r["hashes"]:
                counts["differing_as_expected"] += 1
                print(f"DIFFERS (expected: {differs[key]}) {key}")
            else:
                counts["failures"] += 1
                print(f"FAIL {key} is listed as differing but matches the reference now")
            continue
        if o["hashes"] == r["hashes"]:
            counts["matching"] += 1
            counts["events_matching"] += len(o["hashes"])
            print(f"MATCH {key} ({len(o['hashes'])} events)")
        else:
            counts["failures"] += 1
            print(f"FAIL hash mismatch {key}")
            for i, (a, b) in enumerate(zip(o.get("prehashes", []), r.get("prehashes", []))):
                if a != b:
                    print(f"  event {i}\n    ours: {a}\n    ref:  {b}")
            if len(o["hashes"]) != len(r["hashes"]):
                print(f"  event counts differ: ours {len(o['hashes'])}, reference {len(r['hashes'])}")
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 1 if counts["failures"] else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
