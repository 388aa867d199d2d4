"""A Borsh writer for what a client signs (the ledger's canonical encoding, docs/ledger-format.md):
little-endian fixed-width integers, ``u32`` length prefixes for strings, byte vectors and sequences,
one tag byte for enums and ``Option``."""

import struct


class BorshWriter:
    def __init__(self):
        self._parts = []

    def u8(self, v: int) -> "BorshWriter":
        if not 0 <= v <= 0xFF:
            raise ValueError(f"u8: {v} out of range")
        self._parts.append(bytes([v]))
        return self

    def bool(self, v: bool) -> "BorshWriter":
        return self.u8(1 if v else 0)

    def u32(self, v: int) -> "BorshWriter":
        if not 0 <= v <= 0xFFFF_FFFF:
            raise ValueError(f"u32: {v} out of range")
        self._parts.append(struct.pack("<I", v))
        return self

    def i32(self, v: int) -> "BorshWriter":
        if not -0x8000_0000 <= v <= 0x7FFF_FFFF:
            raise ValueError(f"i32: {v} out of range")
        self._parts.append(struct.pack("<i", v))
        return self

    def u64(self, v: int) -> "BorshWriter":
        if not 0 <= v < 1 << 64:
            raise ValueError(f"u64: {v} out of range")
        self._parts.append(struct.pack("<Q", v))
        return self

    def fixed(self, b: bytes, length: int, what: str = "bytes") -> "BorshWriter":
        if len(b) != length:
            raise ValueError(f"{what}: expected {length} bytes, got {len(b)}")
        self._parts.append(bytes(b))
        return self

    def bytes(self, b: bytes) -> "BorshWriter":
        self.u32(len(b))
        self._parts.append(bytes(b))
        return self

    def string(self, s: str) -> "BorshWriter":
        return self.bytes(s.encode("utf-8"))

    def vec(self, items, write) -> "BorshWriter":
        self.u32(len(items))
        for it in items:
            write(self, it)
        return self

    def finish(self) -> bytes:
        return b"".join(self._parts)
