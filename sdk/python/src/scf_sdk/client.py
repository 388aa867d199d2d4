"""The API client: GraphQL (``/graphql``) with the operations a bank or ERP integrator needs, the EPCIS
2.0 REST binding (``/epcis``), and self-signed transactions (nonce, dry run, submit). Errors are
``ScfError`` carrying the API's ``extensions.code`` (and ``field`` / ``rule``), so callers branch on
codes, never on messages. Standard library only (``urllib``)."""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from .keys import Sm2Key
from .tx import Call, SignedTx, TxBody, encode_signed_tx, sign_tx

TX_FIELDS = "txId height events { kind module attributes { name value } }"


class ScfError(Exception):
    def __init__(self, message, code, field=None, rule=None):
        super().__init__(message)
        self.code = code
        self.field = field
        self.rule = rule


class ScfClient:
    def __init__(self, url: str, token: str = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # ---- transport --------------------------------------------------------------------------------

    def _request(self, method, path, body=None, content_type=None, headers=None):
        h = dict(headers or {})
        if content_type:
            h["content-type"] = content_type
        if self.token:
            h["authorization"] = f"Bearer {self.token}"
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def graphql(self, query: str, variables: dict = None) -> dict:
        """One GraphQL request; the first error becomes an ``ScfError``."""
        status, _, raw = self._request(
            "POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), "application/json"
        )
        try:
            body = json.loads(raw)
        except ValueError:
            raise ScfError(f"HTTP {status}", f"HTTP_{status}") from None
        errors = body.get("errors")
        if errors:
            ext = errors[0].get("extensions") or {}
            raise ScfError(errors[0].get("message", ""), ext.get("code", "UNKNOWN"), ext.get("field"), ext.get("rule"))
        return body["data"]

    def rest(self, method: str, path: str, body=None, content_type=None, headers=None):
        """A REST call; RFC 7807 problems become ``ScfError`` named by their ``type``."""
        status, hdrs, raw = self._request(method, path, body, content_type, headers)
        if status >= 400:
            try:
                p = json.loads(raw)
            except ValueError:
                p = {}
            raise ScfError(p.get("title", f"HTTP {status}"), p.get("type", f"HTTP_{status}"))
        return status, {k.lower(): v for k, v in hdrs.items()}, raw

    # ---- sessions and chain ----------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict:
        """Sign in; the client keeps the token for later calls."""
        d = self.graphql(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { orgId role } } }",
            {"u": username, "p": password},
        )
        self.token = d["login"]["token"]
        return d["login"]

    def chain_status(self) -> dict:
        return self.graphql("{ chainStatus { chainId height } }")["chainStatus"]

    # ---- self-signed transactions ------------------------------------------------------------------

    def next_nonce(self, address: str) -> int:
        """The nonce the account's next transaction must carry (committed state)."""
        return int(self.graphql("query($a: String!) { nextNonce(address: $a) { nonce } }", {"a": address})["nextNonce"]["nonce"])

    def prepare(self, key: Sm2Key, call: Call, expiry_blocks: int = 100, nonce: int = None) -> TxBody:
        status = self.chain_status()
        return TxBody(
            chain_id=status["chainId"],
            sender=key.public_key,
            nonce=self.next_nonce(key.address) if nonce is None else nonce,
            expiry_height=status["height"] + expiry_blocks,
            call=call,
        )

    def dry_run(self, tx: SignedTx) -> dict:
        """The receipt ``tx`` would have if committed now (nothing is written)."""
        return self.graphql(
            "query($t: String!) { dryRun(signedTxHex: $t) { txId height outcome errorCode errorMessage events { kind module } } }",
            {"t": encode_signed_tx(tx).hex()},
        )["dryRun"]

    def submit(self, tx: SignedTx) -> dict:
        """Submit and wait for the receipt (a refusal by a rule is an ``ScfError``)."""
        return self.graphql(
            "mutation($t: String!) { submitSignedTransaction(signedTxHex: $t) { %s } }" % TX_FIELDS,
            {"t": encode_signed_tx(tx).hex()},
        )["submitSignedTransaction"]

    def sign_and_submit(self, key: Sm2Key, call: Call) -> dict:
        """Prepare, sign, dry-run (refusing what would fail) and submit."""
        tx = sign_tx(self.prepare(key, call), key)
        dry = self.dry_run(tx)
        if dry["outcome"] != "success":
            raise ScfError(f"{dry['errorCode']}: {dry['errorMessage']}", "CONFLICT", rule=dry["errorCode"])
        return self.submit(tx)

    def register_account_key(self, public_key_hex: str, label: str, admin: bool = False) -> dict:
        """An organisation admin registers a key a client holds as an account of the organisation."""
        return self.graphql(
            "mutation($k: String!, $l: String!, $a: Boolean!) { registerAccountKey(publicKey: $k, label: $l, admin: $a) { %s } }"
            % TX_FIELDS,
            {"k": public_key_hex, "l": label, "a": admin},
        )["registerAccountKey"]

    # ---- business operations ----------------------------------------------------------------------

    def issue_invoice(self, invoice: dict) -> dict:
        return self.graphql(
            "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { %s } }" % TX_FIELDS, {"i": invoice}
        )["issueInvoice"]

    def voucher(self, voucher_id: str):
        return self.graphql(
            "query($id: String!) { voucher(id: $id) { id holder status amount invoices } }", {"id": voucher_id}
        )["voucher"]

    def apply_for_financing(self, application: dict) -> dict:
        return self.graphql(
            "mutation($i: ApplyFinancingInput!) { applyForFinancing(input: $i) { %s } }" % TX_FIELDS, {"i": application}
        )["applyForFinancing"]

    def check_financing_invoices(self, application_id: str) -> dict:
        return self.graphql(
            "mutation($a: String!) { checkFinancingInvoices(applicationId: $a) { %s } }" % TX_FIELDS, {"a": application_id}
        )["checkFinancingInvoices"]

    def approve_financing(self, application_id: str, discount_rate_bp: int, agreement_ref: str) -> dict:
        return self.graphql(
            "mutation($a: String!, $r: Int!, $g: String!) { approveFinancing(applicationId: $a, discountRateBp: $r, agreementRef: $g) { %s } }"
            % TX_FIELDS,
            {"a": application_id, "r": discount_rate_bp, "g": agreement_ref},
        )["approveFinancing"]

    def financing_applications(self, **filter) -> list:
        return self.graphql(
            "query($f: FinancingFilter) { financingApplications(filter: $f) { id state supplier funder voucherId amount requestedRateBp } }",
            {"f": filter},
        )["financingApplications"]

    # ---- webhooks ---------------------------------------------------------------------------------

    def register_webhook(self, url: str, kinds) -> dict:
        return self.graphql(
            "mutation($u: String!, $k: [WebhookKind!]!) { registerWebhook(url: $u, kinds: $k) { id url kinds fromHeight } }",
            {"u": url, "k": list(kinds)},
        )["registerWebhook"]

    def delete_webhook(self, endpoint_id: str) -> bool:
        return self.graphql("mutation($id: String!) { deleteWebhook(id: $id) }", {"id": endpoint_id})["deleteWebhook"]

    def webhook_signing_key(self) -> str:
        _, _, raw = self.rest("GET", "/webhooks/signing-key")
        return json.loads(raw)["publicKey"]

    # ---- EPCIS 2.0 REST --------------------------------------------------------------------------

    def capture_epcis(self, document: str, content_type: str = None, error_behaviour: str = None, timeout_s: float = 60):
        """Capture an EPCIS document (JSON-LD or XML) and wait for its capture job to finish."""
        ct = content_type or ("application/xml" if document.lstrip().startswith("<") else "application/ld+json")
        extra = {"GS1-Capture-Error-Behaviour": error_behaviour} if error_behaviour else {}
        status, hdrs, _ = self.rest("POST", "/epcis/capture", document, ct, extra)
        location = hdrs.get("location")
        if status != 202 or not location:
            raise ScfError(f"capture: HTTP {status} without a job", "PROTOCOL")
        deadline = time.monotonic() + timeout_s
        while True:
            _, _, raw = self.rest("GET", location)
            job = json.loads(raw)
            if not job["running"]:
                return job
            if time.monotonic() > deadline:
                raise ScfError(f"capture job {job['captureID']} still running", "TIMEOUT")
            time.sleep(0.2)

    def query_epcis(self, **params) -> list:
        """Query events with the standard parameters (lists are pipe-joined), following every page."""
        q = {k: "|".join(v) if isinstance(v, (list, tuple)) else str(v) for k, v in params.items()}
        path = "/epcis/events" + ("?" + urllib.parse.urlencode(q) if q else "")
        out = []
        while path:
            _, hdrs, raw = self.rest("GET", path)
            out.extend(json.loads(raw)["epcisBody"]["queryResults"]["resultsBody"]["eventList"])
            m = re.search(r'<([^>]+)>;\s*rel="next"', hdrs.get("link", ""))
            path = m.group(1).replace(self.url, "") if m else None
        return out
