"""SM3 (GB/T 32905) through snowland-smx."""

from pysmx.SM3 import digest as _digest


def sm3(data: bytes) -> bytes:
    """SM3 digest of ``data`` (32 bytes)."""
    return bytes(_digest(bytes(data)))
