"""The SDK against the ledger's own vectors (sdk/testdata/vectors.json, written by
graphql/tests/sdk_vectors.rs): payloads and bodies encode to exactly the ledger's bytes, the ledger's
SM2 signatures verify here, this SDK's signatures verify, and server webhook signatures verify."""

import json
import pathlib

import pytest

from scf_sdk import (
    Sm2Key,
    TxBody,
    WebhookError,
    encode_signed_tx,
    encode_tx_body,
    epoch_days,
    sign_tx,
    signing_bytes,
    tx_id,
    verify_sm2,
    verify_webhook,
    voucher_issue,
    voucher_sign_for,
    webhook_signed_bytes,
)

V = json.loads((pathlib.Path(__file__).parents[2] / "testdata" / "vectors.json").read_text())
ISSUE = V["calls"]["voucherIssue"]["call"]["Issue"]


def issue_call():
    return voucher_issue(
        ISSUE["voucherNo"],
        ISSUE["to"],
        ISSUE["amount"],
        ISSUE["dueDate"],
        ISSUE["contractRef"],
        ISSUE["invoices"],
        currency=ISSUE["currency"],
        allow_over_six_months=ISSUE["allowOverSixMonths"],
    )


def body():
    t = V["tx"]
    return TxBody(t["chainId"], bytes.fromhex(V["key"]["public"]), t["nonce"], t["expiryHeight"], issue_call())


def test_key_derivation():
    k = Sm2Key.from_secret_hex(V["key"]["secret"])
    assert k.public_key_hex == V["key"]["public"]
    assert k.address == V["key"]["address"]


def test_payloads():
    assert epoch_days(ISSUE["dueDate"]) == ISSUE["dueDays"]
    assert issue_call().payload.hex() == V["calls"]["voucherIssue"]["payload"]
    sign_for = V["calls"]["voucherSignFor"]
    assert voucher_sign_for(sign_for["call"]["SignFor"]["voucherId"]).payload.hex() == sign_for["payload"]


def test_body_signing_bytes_and_id():
    assert encode_tx_body(body()).hex() == V["tx"]["body"]
    assert signing_bytes(body()).hex() == V["tx"]["signingBytes"]
    assert tx_id(body()) == V["tx"]["id"]


def test_ledger_signature_verifies_and_encodes():
    from scf_sdk.tx import SignedTx

    sig = bytes.fromhex(V["tx"]["signature"])
    pk = bytes.fromhex(V["key"]["public"])
    msg = bytes.fromhex(V["tx"]["signingBytes"])
    assert verify_sm2(pk, msg, sig)
    assert not verify_sm2(pk, msg[:-1] + bytes([msg[-1] ^ 1]), sig)
    assert not verify_sm2(pk, msg, bytes(64))
    assert not verify_sm2(pk[:-1] + bytes([pk[-1] ^ 1]), msg, sig), "a point off the curve"
    assert encode_signed_tx(SignedTx(body(), sig)).hex() == V["tx"]["signed"]


def test_own_signatures_verify():
    k = Sm2Key.from_secret_hex(V["key"]["secret"])
    tx = sign_tx(body(), k)
    assert verify_sm2(k.public_key, signing_bytes(body()), tx.signature)
    other = Sm2Key.generate()
    assert not verify_sm2(other.public_key, signing_bytes(body()), tx.signature)
    with pytest.raises(ValueError, match="sender"):
        sign_tx(body(), other)


def test_webhook_signatures():
    w = V["webhook"]
    headers = {"SCF-Webhook-Id": w["id"], "scf-webhook-timestamp": str(w["timestamp"]), "scf-webhook-signature": w["signature"]}
    body = w["body"].encode()
    assert webhook_signed_bytes(w["id"], w["timestamp"], body).hex() == w["signedBytes"]
    assert verify_webhook(headers, body, w["publicKey"], now_ms=w["timestamp"])["kind"] == "WORKFLOW_TASK"
    with pytest.raises(WebhookError, match="does not verify"):
        verify_webhook(headers, body.replace(b"HSFACTOR", b"HSFACT0R"), w["publicKey"], now_ms=w["timestamp"])
    with pytest.raises(WebhookError, match="does not verify"):
        verify_webhook({**headers, "SCF-Webhook-Id": "other"}, body, w["publicKey"], now_ms=w["timestamp"])
    with pytest.raises(WebhookError, match="given more than once"):
        verify_webhook({**headers, "scf-webhook-id": "other"}, body, w["publicKey"], now_ms=w["timestamp"])
    with pytest.raises(WebhookError, match="from now"):
        verify_webhook(headers, body, w["publicKey"], now_ms=w["timestamp"] + 3_600_000)
    with pytest.raises(WebhookError, match="missing"):
        verify_webhook({}, body, w["publicKey"])
