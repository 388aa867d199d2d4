"""scf_sdk: a client for the scf consortium chain's API (GraphQL, EPCIS 2.0 REST), transactions signed
with an SM2 key the client holds (Borsh bodies per docs/ledger-format.md), and webhook signature checks.
"""

from .borsh import BorshWriter
from .calls import epoch_days, voucher_issue, voucher_sign_for
from .client import ScfClient, ScfError
from .keys import Sm2Key, address_of, verify_sm2, DEFAULT_DIST_ID
from .sm3 import sm3
from .tx import Call, SignedTx, TxBody, encode_signed_tx, encode_tx_body, sign_tx, signing_bytes, tx_id
from .webhooks import WebhookError, verify_webhook, webhook_signed_bytes

__all__ = [
    "BorshWriter",
    "Call",
    "DEFAULT_DIST_ID",
    "ScfClient",
    "ScfError",
    "SignedTx",
    "Sm2Key",
    "TxBody",
    "WebhookError",
    "address_of",
    "encode_signed_tx",
    "encode_tx_body",
    "epoch_days",
    "sign_tx",
    "signing_bytes",
    "sm3",
    "tx_id",
    "verify_sm2",
    "verify_webhook",
    "voucher_issue",
    "voucher_sign_for",
    "webhook_signed_bytes",
]
