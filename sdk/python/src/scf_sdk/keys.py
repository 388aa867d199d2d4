"""SM2 keys a client holds (GM/T 0003 with SM3 and the distinguishing ID 1234567812345678, as the chain
verifies them). Public keys are 65-byte SEC1 uncompressed points, signatures raw 64-byte r||s, an
account's address the first 20 bytes of SM3(public key).

snowland-smx computes the SM2 arithmetic; this module checks shapes and ranges itself (the library's
``Verify`` accepts any r, s and any point), so malformed input is refused, never half-checked.
"""

import secrets

from pysmx.SM2 import Sign, Verify, kG, sm2_G, sm2_N

from .sm3 import sm3

DEFAULT_DIST_ID = b"1234567812345678"

# SM2 curve parameters (GB/T 32918.5).
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93


def _on_curve(public_key: bytes) -> bool:
    if len(public_key) != 65 or public_key[0] != 4:
        return False
    x = int.from_bytes(public_key[1:33], "big")
    y = int.from_bytes(public_key[33:], "big")
    if x >= _P or y >= _P:
        return False
    return (y * y - (x * x * x + _A * x + _B)) % _P == 0


def address_of(public_key: bytes) -> str:
    """The account address of a public key: hex of the first 20 bytes of its SM3."""
    return sm3(public_key)[:20].hex()


def verify_sm2(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` (r||s) is ``public_key``'s SM2 signature over ``message``."""
    if len(signature) != 64 or not _on_curve(public_key):
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < sm2_N and 1 <= s < sm2_N):
        return False
    try:
        return bool(Verify(signature, bytes(message), public_key[1:], 64, Hexstr=0, uid=DEFAULT_DIST_ID))
    except (ValueError, ArithmeticError):
        return False


class Sm2Key:
    """An SM2 key pair. Keep ``secret_hex`` where only the signer can read it."""

    def __init__(self, secret: int):
        if not 1 <= secret < sm2_N - 1:
            raise ValueError("secret key: out of range")
        self._secret = secret
        point = kG(secret, sm2_G, 64)
        self.public_key = bytes.fromhex("04" + point)
        self.address = address_of(self.public_key)

    @classmethod
    def generate(cls) -> "Sm2Key":
        return cls(1 + secrets.randbelow(sm2_N - 2))

    @classmethod
    def from_secret_hex(cls, secret_hex: str) -> "Sm2Key":
        raw = bytes.fromhex(secret_hex.removeprefix("0x"))
        if len(raw) != 32:
            raise ValueError("secret key: expected 32 bytes")
        return cls(int.from_bytes(raw, "big"))

    @property
    def public_key_hex(self) -> str:
        return self.public_key.hex()

    @property
    def secret_hex(self) -> str:
        return "%064x" % self._secret

    def sign(self, message: bytes) -> bytes:
        """SM2 signature (r||s, 64 bytes) over ``message`` with SM3 and the default distinguishing ID."""
        for _ in range(8):
            k = "%064x" % (1 + secrets.randbelow(sm2_N - 1))
            sig = Sign(bytes(message), self.secret_hex, k, 64, Hexstr=0, uid=DEFAULT_DIST_ID)
            if sig is not None:
                return bytes(sig)
        raise RuntimeError("SM2 signing failed eight times running")
