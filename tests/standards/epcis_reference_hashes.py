"""Print the GS1 reference implementation's event hashes for EPCIS documents, one JSON line per file.

Usage: python epcis_reference_hashes.py FILE...

Each line is {"file": ..., "hashes": [...], "prehashes": [...]} or {"file": ..., "error": "..."}.
The reference (PyPI `epcis-event-hash-generator`) logs an event it cannot serialise and skips it, so
a file whose hash count differs from its event count is reported as an error here rather than
silently compared out of step.
"""

import json
import logging
import sys
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


def main(paths):
    for path in paths:
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
                out = {"file": path, "error": f"reference hashed {len(hashes)} of {expected} events: "
                       + " | ".join(m.splitlines()[0] for m in handler.messages)[:400]}
            else:
                out = {"file": path, "hashes": hashes, "prehashes": prehashes}
        except Exception as ex:  # the reference raises on some inputs; report, do not stop
            out = {"file": path, "error": f"{type(ex).__name__}: {ex}"[:400]}
        finally:
            logging.getLogger().removeHandler(handler)
        print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
