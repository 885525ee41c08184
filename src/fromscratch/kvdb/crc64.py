"""CRC-64/Jones, the checksum Redis puts at the end of DUMP payloads (and RDB files).

Parameters (Redis's crc64.c): polynomial 0xad93d23594c935a9, reflected input and
output, initial value 0, no final xor. The check value, the CRC of b"123456789", is
0xe9c6d914c4b8d9ca.

A reflected CRC processes each byte low bit first, so the table is built with the
polynomial's bits reversed, and the register shifts right. One table lookup per byte:
the zlib module has no CRC-64, and this keeps to the standard library.
"""

from __future__ import annotations

POLYNOMIAL = 0xAD93D23594C935A9
_REFLECTED = int(f"{POLYNOMIAL:064b}"[::-1], 2)


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """The CRC-64/Jones of `data`, continuing from `crc` (0 to start)."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc
