"""A bank integration: the funder (华晟商业保理, HSFACTOR) registers a webhook for workflow tasks and
financing decisions, verifies each delivery's SM2 signature against the API's published key, and answers
each financing application waiting for it: 查验 of the backing invoices, then approval at the requested
rate (capped by the bank's own).

    SCF_URL=http://127.0.0.1:8080 python examples/bank.py      (listens on 127.0.0.1, a free port)
"""

import os
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scf_sdk import ScfClient, WebhookError, verify_webhook

MAX_RATE_BP = 450


def attr(event, name):
    for k, v in event["attributes"]:
        if k == name:
            return v
    return None


class Bank:
    def __init__(self, url, password="scf-demo-2026", port=0, log=print):
        self.client = ScfClient(url)
        self.client.login("ma.lin", password)
        self.public_key = self.client.webhook_signing_key()
        self.log = log
        self.seen = set()
        self.decisions = []
        self.work = queue.Queue()
        bank = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    delivery = verify_webhook(self.headers, body, bank.public_key)
                except (WebhookError, ValueError) as e:
                    bank.log(f"refused a delivery: {e}")
                    self.send_response(401)
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                # At least once: the same id may come again; act once.
                if delivery["id"] not in bank.seen:
                    bank.seen.add(delivery["id"])
                    bank.work.put(delivery)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._worker, daemon=True).start()
        hook = f"http://127.0.0.1:{self.server.server_address[1]}/scf-hooks"
        self.endpoint = self.client.register_webhook(hook, ["WORKFLOW_TASK", "FINANCING_DECISION"])
        log(f"listening for webhooks on {hook} (endpoint {self.endpoint['id']})")

    def _worker(self):
        while True:
            d = self.work.get()
            if d is None:
                return
            try:
                self.handle(d)
            except Exception as e:  # keep serving; the next task may succeed
                self.log(f"handling {d['id']} failed: {e}")

    def handle(self, delivery):
        e = delivery["event"]
        if delivery["kind"] == "FINANCING_DECISION":
            self.decisions.append((attr(e, "instance"), e["kind"]))
            self.log(f"decision recorded: {e['kind']} {attr(e, 'instance')}")
            return
        if delivery["kind"] != "WORKFLOW_TASK" or attr(e, "process") != "financing":
            return
        if attr(e, "action") not in ("ApplyFinancing", "ProvideInfo"):
            return
        app_id = attr(e, "instance")
        apps = [a for a in self.client.financing_applications(funder="HSFACTOR") if a["id"] == app_id]
        if not apps or apps[0]["state"] != "submitted":
            return  # already decided (a repeated or older task)
        if apps[0]["requestedRateBp"] is None:
            # The requested rate travels sealed; an API without the bank's organisation key cannot open it.
            self.log(f"{app_id}: the requested rate is sealed and this API cannot open it")
            return
        self.client.check_financing_invoices(app_id)
        rate = min(apps[0]["requestedRateBp"], MAX_RATE_BP)
        self.client.approve_financing(app_id, rate, f"HSF-{app_id}")
        self.log(f"{app_id}: invoices checked, approved at {rate} bp")

    def stop(self):
        try:
            self.client.delete_webhook(self.endpoint["id"])
        finally:
            self.work.put(None)
            self.server.shutdown()


if __name__ == "__main__":
    Bank(os.environ.get("SCF_URL", "http://127.0.0.1:8080"))
    threading.Event().wait()
