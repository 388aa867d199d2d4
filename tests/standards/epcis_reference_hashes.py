"""Print the GS1 reference implementation's event hashes for EPCIS documents, one JSON line per file.

Usage: python epcis_reference_hashes.py FILE...

Each line is {"file": ..., "hashes": [...], "prehashes": [...]} or {"file": ..., "error": "..."}.
The reference (PyPI `epcis-event-hash-generator`) logs an event it cannot serialise and skips it, so
a file whose hash count differs from its event count is reported as an error here rather than
silently compared out of step.
"""

import json
import logging
import os
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

from epcis_event_hash_generator import events_from_file_reader, hash_generator, json_to_py


class _Count(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _event_count(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.lower().endswith(".xml"):
        root = ElementTree.fromstring(text)
        lists = [e for e in root.iter() if e.tag == "EventList"]
        return sum(len(list(x)) for x in lists)
    doc = json.loads(text)
    body = doc.get("epcisBody", {})
    if "eventList" in body:
        return len(body["eventList"])
    return 1 if "event" in body else 0


def _query_as_document(path):
    """The reference reads only EPCISDocument bodies: hand it a query document's events as one."""
    if not path.lower().endswith((".json", ".jsonld")):
        return path
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("type") != "EPCISQueryDocument":
        return path
    events = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    wrapped = {"@context": doc.get("@context"), "type": "EPCISDocument", "schemaVersion": "2.0",
               "creationDate": doc.get("creationDate", "2000-01-01T00:00:00Z"), "epcisBody": {"eventList": events}}
    fd, tmp = tempfile.mkstemp(suffix=".jsonld")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(wrapped, f)
    return tmp


def main(paths):
    for path in paths:
        source = path
        path = _query_as_document(path)
        # The reference keeps @context prefixes in a module-level dict; a fresh one per file is what a
        # single-file run of its command line sees.
        json_to_py._namespaces.clear()
        handler = _Count()
        logging.getLogger().addHandler(handler)
        try:
            events = events_from_file_reader.event_list_from_file(path)
            prehashes = hash_generator.derive_prehashes_from_events(events)
            hashes = hash_generator.calculate_hashes_from_pre_hashes(prehashes)
            expected = _event_count(path)
            if handler.messages or len(hashes) != expected:
                out = {"file": source, "error": f"reference hashed {len(hashes)} of {expected} events: "
                       + " | ".join(m.splitlines()[0] for m in handler.messages)[:400]}
            else:
                out = {"file": source, "hashes": hashes, "prehashes": prehashes}
        except Exception as ex:  # the reference raises on some inputs; report, do not stop
            out = {"file": source, "error": f"{type(ex).__name__}: {ex}"[:400]}
        finally:
            logging.getLogger().removeHandler(handler)
        print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
