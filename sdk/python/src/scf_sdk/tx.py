"""Transactions as the chain signs and checks them (docs/ledger-format.md):
``TxBody = chain_id, sender (65-byte SM2 key), nonce u64, expiry_height u64, call {module, payload}``,
signing bytes ``"SCF-TX-v1" || borsh(TxBody)``, id ``SM3(signing bytes)``, ``SignedTx = body || sig(64)``."""

from dataclasses import dataclass

from .borsh import BorshWriter
from .keys import Sm2Key
from .sm3 import sm3

TX_SIGNING_PREFIX = b"SCF-TX-v1"
MAX_TX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Call:
    """A call into one domain module: its name and its Borsh-encoded call enum."""

    module: str
    payload: bytes


@dataclass(frozen=True)
class TxBody:
    chain_id: str
    sender: bytes
    nonce: int
    expiry_height: int
    call: Call


@dataclass(frozen=True)
class SignedTx:
    body: TxBody
    signature: bytes


def encode_tx_body(b: TxBody) -> bytes:
    if not 1 <= len(b.call.module.encode()) <= 32:
        raise ValueError("call.module: 1..=32 bytes")
    return (
        BorshWriter()
        .string(b.chain_id)
        .fixed(b.sender, 65, "sender")
        .u64(b.nonce)
        .u64(b.expiry_height)
        .string(b.call.module)
        .bytes(b.call.payload)
        .finish()
    )


def signing_bytes(b: TxBody) -> bytes:
    return TX_SIGNING_PREFIX + encode_tx_body(b)


def tx_id(b: TxBody) -> str:
    return sm3(signing_bytes(b)).hex()


def sign_tx(body: TxBody, key: Sm2Key) -> SignedTx:
    if body.sender != key.public_key:
        raise ValueError("sender: not this key")
    return SignedTx(body, key.sign(signing_bytes(body)))


def encode_signed_tx(tx: SignedTx) -> bytes:
    out = encode_tx_body(tx.body) + tx.signature
    if len(out) > MAX_TX_BYTES:
        raise ValueError(f"transaction: {len(out)} bytes, at most {MAX_TX_BYTES}")
    return out
