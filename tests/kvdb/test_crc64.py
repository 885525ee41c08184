"""CRC-64/Jones as Redis computes it for DUMP payloads."""

import random

from fromscratch.kvdb.crc64 import _TABLE, crc64


def test_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_matches_a_payload_real_redis_made():
    # Redis 7.0's DUMP of the string "v": RDB object, version 10, then the CRC of both.
    payload = b"\x00\x01v\x0a\x00" + b"\x91\x08\xce\xb2\x19\x38\x8a\xce"
    assert crc64(payload[:-8]).to_bytes(8, "little") == payload[-8:]


def test_continues_from_a_previous_crc():
    assert crc64(b"56789", crc64(b"1234")) == crc64(b"123456789")


def byte_at_a_time(data: bytes, crc: int = 0) -> int:
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def test_eight_bytes_at_a_time_agrees_with_one_at_a_time():
    rng = random.Random(7)
    for length in list(range(0, 200)) + [4096, 65537]:
        data = rng.randbytes(length)
        start = rng.getrandbits(64)
        assert crc64(data, start) == byte_at_a_time(data, start), length
    assert crc64(bytearray(b"x" * 100)) == byte_at_a_time(b"x" * 100)
