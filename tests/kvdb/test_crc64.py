"""CRC-64/Jones as Redis computes it for DUMP payloads."""

from fromscratch.kvdb.crc64 import crc64


def test_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_matches_a_payload_real_redis_made():
    # Redis 7.0's DUMP of the string "v": RDB object, version 10, then the CRC of both.
    payload = b"\x00\x01v\x0a\x00" + b"\x91\x08\xce\xb2\x19\x38\x8a\xce"
    assert crc64(payload[:-8]).to_bytes(8, "little") == payload[-8:]


def test_continues_from_a_previous_crc():
    assert crc64(b"56789", crc64(b"1234")) == crc64(b"123456789")
