"""The examples against a real `scf demo`: the ERP issues an invoice and a self-signed voucher; the bank,
listening by webhook, approves a financing application a supplier submits; EPCIS over REST; the
resolver's linkset validates against the linkset JSON schema (RFC 9264)."""

import json
import pathlib
import sys
import time
import urllib.parse
import urllib.request

import jsonschema

from scf_sdk import ScfClient

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))

from bank import Bank  # noqa: E402
from erp import run_erp  # noqa: E402

PASSWORD = "scf-demo-2026"
SCHEMA = json.loads((pathlib.Path(__file__).resolve().parents[3] / "testdata" / "linkset.schema.json").read_text())


def until(what, seconds, check):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def test_erp_issues_an_invoice_and_a_self_signed_voucher(demo_url):
    r = run_erp(demo_url, log=lambda *_: None)
    assert r["voucher"]["holder"] == "HLBRAKE"
    assert r["voucher"]["status"] == "PENDING"
    c = ScfClient(demo_url)
    c.login("zhang.wei", PASSWORD)
    tx = c.graphql("query($id: String!) { transaction(id: $id) { sender } }", {"id": r["tx_id"]})
    assert tx["transaction"]["sender"] == r["address"]


def test_bank_approves_an_application_learnt_by_webhook(demo_url):
    bank = Bank(demo_url, log=lambda *_: None)
    try:
        supplier = ScfClient(demo_url)
        supplier.login("liu.yang", PASSWORD)
        app_id = f"APP-PY-{int(time.time()) % 1_000_000}"
        supplier.apply_for_financing(
            {"applicationId": app_id, "voucherId": "HSY-2026-0003.1.2", "funder": "HSFACTOR", "requestedRateBp": 420}
        )
        until(f"{app_id} approved", 60, lambda: any(
            a["id"] == app_id and a["state"] == "approved" for a in supplier.financing_applications(supplier="JDCAST")
        ))
        until(f"the decision on {app_id} delivered", 30, lambda: any(a == app_id for a, _ in bank.decisions))
    finally:
        bank.stop()


def test_epcis_capture_and_query(demo_url):
    c = ScfClient(demo_url)
    c.login("wang.fang", PASSWORD)
    serial = f"PY-{time.time_ns() % 10**12}"  # an SGTIN serial is at most 20 characters
    epc = f"urn:epc:id:sgtin:6901234.000033.{serial}"
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-03-03T08:00:00Z">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-03-03T10:00:00+08:00</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
    <epcList><epc>{epc}</epc></epcList><action>OBSERVE</action>
    <bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>
  </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>"""
    job = c.capture_epcis(xml)
    assert job["success"], job
    events = c.query_epcis(MATCH_epc=epc, EQ_bizStep="receiving")
    assert len(events) == 1
    assert events[0]["scf:eventHash"].startswith("ni:///sha-256;")


def test_resolver_linkset_validates_against_the_schema(demo_url):
    req = urllib.request.Request(demo_url + "/01/06901234000337/10/Y260302", headers={"accept": "application/linkset+json"})
    with urllib.request.urlopen(req) as r:
        assert r.headers["content-type"] == "application/linkset+json"
        linkset = json.loads(r.read())
    jsonschema.validate(linkset, SCHEMA, cls=jsonschema.Draft202012Validator)
    ctx = linkset["linkset"][0]
    for t in ("defaultLink", "pip", "traceability", "epcis"):
        assert f"https://gs1.org/voc/{t}" in ctx, t
    # A broken linkset does not validate: the schema is not vacuous.
    broken = {"linkset": [{"anchor": ctx["anchor"], "https://gs1.org/voc/pip": [{"title": "no href"}]}]}
    try:
        jsonschema.validate(broken, SCHEMA, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a target without href validated")


def test_epcis_answers_follow_the_served_openapi_document(demo_url):
    """Each answer's status is one the served OpenAPI document lists for the operation, with the content
    type it names, and its body validates against that response's schema."""
    with urllib.request.urlopen(demo_url + "/epcis/openapi.json") as r:
        spec = json.loads(r.read())

    def response_spec(method, template, status):
        responses = spec["paths"][template][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {template}: {status} is not documented"
        r = responses[str(status)]
        if "$ref" in r:
            r = spec["components"]["responses"][r["$ref"].rsplit("/", 1)[1]]
        return r

    def check(method, template, status, headers, raw):
        r = response_spec(method, template, status)
        content = r.get("content")
        if not content:
            return
        ct = headers.get("content-type", "").split(";")[0].strip()
        assert ct in content, f"{method.upper()} {template} {status}: {ct} not among {list(content)}"
        schema = {**content[ct]["schema"], "components": spec["components"]}
        jsonschema.validate(json.loads(raw), schema, cls=jsonschema.Draft7Validator)

    c = ScfClient(demo_url)
    c.login("wang.fang", PASSWORD)
    serial = f"OA-{time.time_ns() % 10**12}"
    epc = f"urn:epc:id:sgtin:6901234.000033.{serial}"
    doc = json.dumps({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-05T08:00:00+08:00",
        "epcisBody": {"eventList": [
            {"type": "ObjectEvent", "eventTime": "2026-03-05T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
             "epcList": [epc], "action": "OBSERVE", "bizStep": "shipping"},
            # A second event, so that maxEventCount=1 is exceeded below.
            {"type": "ObjectEvent", "eventTime": "2026-03-05T09:00:00+08:00", "eventTimeZoneOffset": "+08:00",
             "epcList": [epc], "action": "OBSERVE", "bizStep": "receiving"},
        ]},
    })

    def call(method, path, body=None, content_type=None, token=True):
        saved = c.token
        if not token:
            c.token = None
        try:
            status, hdrs, raw = c._request(method, path, body, content_type)
        finally:
            c.token = saved
        return status, {k.lower(): v for k, v in hdrs.items()}, raw

    status, hdrs, raw = call("POST", "/epcis/capture", doc, "application/ld+json")
    check("post", "/capture", status, hdrs, raw)
    assert status == 202
    job_path = hdrs["location"]
    until("the capture job", 60, lambda: not json.loads(call("GET", job_path)[2])["running"])
    status, hdrs, raw = call("GET", job_path)
    check("get", "/capture/{captureID}", status, hdrs, raw)
    assert json.loads(raw)["success"] is True

    query = "/epcis/events?" + urllib.parse.urlencode({"MATCH_epc": epc, "EQ_bizStep": "shipping"})
    status, hdrs, raw = call("GET", query)
    check("get", "/events", status, hdrs, raw)
    events = json.loads(raw)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert len(events) == 1
    event_id = events[0]["eventID"]
    status, hdrs, raw = call("GET", "/epcis/events/" + urllib.parse.quote(event_id, safe=""))
    check("get", "/events/{eventID}", status, hdrs, raw)
    assert status == 200

    # Refusals are documented problems too.
    for method, template, path in [
        ("get", "/events", "/epcis/events?EQ_colour=red"),
        ("get", "/events", "/epcis/events?maxEventCount=1"),
        ("get", "/events/{eventID}", "/epcis/events/urn:uuid:00000000-0000-4000-8000-000000000000"),
        ("get", "/capture/{captureID}", "/epcis/capture/no-such-job"),
    ]:
        status, hdrs, raw = call(method.upper(), path)
        assert status >= 400, path
        check(method, template, status, hdrs, raw)
    status, hdrs, raw = call("GET", "/epcis/events", token=False)
    assert status == 401
    check("get", "/events", status, hdrs, raw)
    status, hdrs, raw = call("POST", "/epcis/capture", '{"type": "EPCISDocument"}', "application/ld+json")
    assert status == 400
    check("post", "/capture", status, hdrs, raw)
