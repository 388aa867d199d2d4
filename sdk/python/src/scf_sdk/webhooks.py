"""Webhook signature checks. Each delivery is signed by the member running the API with SM2 (SM3, ID
1234567812345678) over ``"SCF-WEBHOOK-v1\\n" || id || "\\n" || timestamp || "\\n" || body``, where id and
timestamp are the ``scf-webhook-id`` and ``scf-webhook-timestamp`` headers and body the exact bytes
received; the signature is ``scf-webhook-signature: sm2=<hex r||s>``; the key is published at
``GET /webhooks/signing-key``."""

import json
import re
import time

from .keys import verify_sm2

WEBHOOK_SIGNING_PREFIX = b"SCF-WEBHOOK-v1"
KINDS = ("VOUCHER", "FINANCING_DECISION", "INVOICE_BOOKING", "RECEIPT_PLEDGE", "IOT_ALERT", "WORKFLOW_TASK")


class WebhookError(ValueError):
    """Why a delivery is refused (the header or check named)."""


def webhook_signed_bytes(delivery_id: str, timestamp_ms, body: bytes) -> bytes:
    return WEBHOOK_SIGNING_PREFIX + f"\n{delivery_id}\n{timestamp_ms}\n".encode() + body


def verify_webhook(headers, body: bytes, public_key_hex: str, max_skew_ms: int = 300_000, now_ms=None) -> dict:
    """Check a delivery and return its parsed body; raises ``WebhookError`` naming what is wrong.
    ``headers`` is any mapping; names are matched case-insensitively."""
    items = list(headers.items() if hasattr(headers, "items") else headers)

    def h(name):
        # Two spellings of one header would leave it open which one was signed.
        values = [v for k, v in items if str(k).lower() == name and v is not None]
        if len(values) > 1:
            raise WebhookError(f"{name}: given more than once")
        if not values:
            raise WebhookError(f"{name}: missing")
        return str(values[0])

    delivery_id = h("scf-webhook-id")
    ts = h("scf-webhook-timestamp")
    if not re.fullmatch(r"\d{1,16}", ts):
        raise WebhookError("scf-webhook-timestamp: not milliseconds")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - int(ts)) > max_skew_ms:
        raise WebhookError(f"scf-webhook-timestamp: {abs(now - int(ts))} ms from now")
    m = re.fullmatch(r"sm2=([0-9a-f]{128})", h("scf-webhook-signature"))
    if not m:
        raise WebhookError("scf-webhook-signature: expected sm2=<128 hex digits>")
    try:
        key = bytes.fromhex(public_key_hex.removeprefix("0x"))
    except ValueError:
        raise WebhookError("public key: not hex") from None
    if not verify_sm2(key, webhook_signed_bytes(delivery_id, ts, body), bytes.fromhex(m.group(1))):
        raise WebhookError("scf-webhook-signature: does not verify")
    try:
        parsed = json.loads(body)
    except ValueError:
        raise WebhookError("body: not JSON") from None
    if not isinstance(parsed, dict) or parsed.get("id") != delivery_id:
        raise WebhookError("body.id: differs from scf-webhook-id")
    return parsed
