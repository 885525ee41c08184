"""The append-only file's readers (commands, RDB preamble, manifest) and the rewrite
limits, without a server."""

import pytest

from fromscratch.kvdb.crc64 import crc64
from fromscratch.kvdb.persistence import aof
from fromscratch.kvdb.persistence.aof import CorruptAof, Manifest, RewriteHistory, parse_log
from fromscratch.kvdb.persistence.rdb import EOF, SELECTDB, STRING, RdbError, read_rdb_prefix
from fromscratch.resp import encode_command


def read_all(data: bytes):
    commands = []
    generator = parse_log(data, "test.aof")
    while True:
        try:
            commands.append(next(generator))
        except StopIteration as stop:
            return commands, stop.value


def test_reads_commands_and_offsets():
    first, second = encode_command(["SET", "k", "a\r\nb"]), encode_command(["INCR", "n"])
    commands, clean_end = read_all(first + second)
    assert commands == [([b"SET", b"k", b"a\r\nb"], len(first)),
                        ([b"INCR", b"n"], len(first) + len(second))]
    assert clean_end == len(first + second)


@pytest.mark.parametrize("cut", [1, 5, 12, 20])
def test_an_incomplete_last_command_is_reported_not_raised(cut):
    whole = encode_command(["SET", "k", "v"])
    partial = encode_command(["SET", "key", "value"])[:cut]
    commands, clean_end = read_all(whole + partial)
    assert [argv for argv, _ in commands] == [[b"SET", b"k", b"v"]]
    assert clean_end == len(whole)


@pytest.mark.parametrize("garbage, bad_byte", [
    (b"+OK\r\n", 0), (b"*x\r\n", 0), (b"*1\r\n:5\r\n", 4), (b"*1\r\n$3\r\nabcXY", 11)])
def test_garbage_names_the_offset_of_the_bad_byte(garbage, bad_byte):
    prefix = encode_command(["PING"])
    with pytest.raises(CorruptAof, match=rf"test.aof: .* at offset {len(prefix) + bad_byte}$"):
        read_all(prefix + garbage)


def test_annotations_between_commands_are_skipped():
    first, second = encode_command(["SET", "k", "v"]), encode_command(["INCR", "n"])
    data = b"#TS:1700000000\r\n" + first + b"#TS:1700000001\r\n" + second
    commands, clean_end = read_all(data)
    assert [argv for argv, _ in commands] == [[b"SET", b"k", b"v"], [b"INCR", b"n"]]
    assert clean_end == len(data)


def test_an_annotation_cut_short_is_an_incomplete_end():
    whole = encode_command(["PING"])
    assert read_all(whole + b"#TS:17000")[1] == len(whole)


def test_a_command_of_no_arguments_is_bad_format():
    with pytest.raises(CorruptAof, match="^Bad file format reading the append only file test.aof"):
        read_all(b"*0\r\n")


def test_reading_starts_where_asked():
    snapshot, command = b"SNAPSHOT", encode_command(["SET", "k", "v"])
    generator = parse_log(snapshot + command, "test.aof", len(snapshot))
    assert next(generator) == ([b"SET", b"k", b"v"], len(snapshot + command))


# -- an RDB file, and the commands after it ------------------------------------------------

def tiny_rdb(value: bytes) -> bytes:
    """An RDB file (version 10) holding the string key "k" = value, in database 0."""
    body = (b"REDIS0010" + bytes([SELECTDB, 0, STRING, 1]) + b"k"
            + bytes([len(value)]) + value + bytes([EOF]))
    return body + crc64(body).to_bytes(8, "little")


def test_an_rdb_file_alone_ends_where_the_data_ends():
    rdb = tiny_rdb(b"v")
    contents, end = read_rdb_prefix(rdb)
    assert [(key.key, key.value) for key in contents.keys] == [(b"k", b"v")]
    assert end == len(rdb)


def test_commands_after_an_rdb_preamble_start_where_it_ends():
    # The value holds what looks like an end, then a command: only the real end reads.
    rdb = tiny_rdb(b"\xff12345678*2\r\n")
    data = rdb + encode_command(["SET", "k2", "v2"])
    contents, end = read_rdb_prefix(data)
    assert contents.keys[0].value == b"\xff12345678*2\r\n"
    assert end == len(rdb)


def test_a_damaged_rdb_preamble_raises():
    rdb = bytearray(tiny_rdb(b"v"))
    rdb[-1] ^= 1                                            # the checksum
    with pytest.raises(RdbError, match="checksum"):
        read_rdb_prefix(bytes(rdb) + encode_command(["PING"]))


# -- the manifest --------------------------------------------------------------------------

def parse(text: bytes) -> Manifest:
    return Manifest.parse(text, "appendonly.aof.manifest")


def test_manifest_round_trip(tmp_path):
    manifest = Manifest(("appendonly.aof.3.base.rdb", 3),
                        [("appendonly.aof.3.incr.aof", 3), ("appendonly.aof.5.incr.aof", 5)],
                        [("appendonly.aof.2.base.rdb", 2)])
    assert manifest.text() == ("file appendonly.aof.3.base.rdb seq 3 type b\n"
                               "file appendonly.aof.2.base.rdb seq 2 type h\n"
                               "file appendonly.aof.3.incr.aof seq 3 type i\n"
                               "file appendonly.aof.5.incr.aof seq 5 type i\n")
    path = tmp_path / "m"
    path.write_text(manifest.text())
    again = Manifest.read(str(path))
    assert (again.base, again.history, again.incrs) == (manifest.base, manifest.history,
                                                        manifest.incrs)
    assert (again.base_seq, again.incr_seq) == (3, 5)


@pytest.mark.parametrize("name, quoted", [
    ("plain.aof", "plain.aof"),
    (" file seq \n\n.aof ", '" file seq \\n\\n.aof "'),
    ('say "hi".aof', '"say \\"hi\\".aof"'),
    ("it's.aof", '"it\'s.aof"'),
    ("tab\there", '"tab\\there"'),
    ("caf\u00e9", '"caf\\xc3\\xa9"'),
    ("bad\udcff", '"bad\\xff"'),                 # a byte that is not UTF-8, as os gives it
])
def test_file_names_are_quoted_when_needed_and_read_back(tmp_path, name, quoted):
    manifest = Manifest((name, 1))
    assert manifest.text() == f"file {quoted} seq 1 type b\n"
    path = tmp_path / "m"
    path.write_bytes(manifest.text().encode())
    assert Manifest.read(str(path)).base == (name, 1)


def test_manifest_lines_as_redis_reads_them():
    manifest = parse(b"# a comment\n"
                     b"  FILE b.rdb Seq 7 TYPE b newkey newvalue  \r\n"   # any case, extra keys
                     b"type h seq 1 file old.rdb\n"                        # any order
                     b"file i1.aof seq 2x type i\n"                        # seq read as atoll
                     b"file i4.aof seq 4 type incr\n")                     # type: first letter
    assert manifest.base == ("b.rdb", 7)
    assert manifest.history == [("old.rdb", 1)]
    assert manifest.incrs == [("i1.aof", 2), ("i4.aof", 4)]      # seq may skip numbers
    assert (manifest.base_seq, manifest.incr_seq) == (7, 4)


def test_the_next_files_follow_the_sequence_numbers():
    manifest = parse(b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                     b"file appendonly.aof.6.incr.aof seq 6 type i\n")
    assert manifest.next_base("appendonly.aof") == ("appendonly.aof.3.base.rdb", 3)
    assert manifest.next_incr("appendonly.aof") == ("appendonly.aof.7.incr.aof", 7)
    assert Manifest().next_incr("x") == ("x.1.incr.aof", 1)


@pytest.mark.parametrize("text, message", [
    (b"", "Found an empty AOF manifest"),
    (b"\n", "Invalid AOF manifest file format (line 1 "),
    (b"file a seq 1 type i\n\nfile b seq 3 type i\n", "Invalid AOF manifest file format (line 2 "),
    (b"filx a seq 1 type b\n", "Invalid AOF manifest file format"),
    (b"file a type i\n", "Invalid AOF manifest file format"),
    (b"file a seq 1 type i newkey\n", "Invalid AOF manifest file format"),
    (b"file a seq 0 type i\n", "Invalid AOF manifest file format"),
    (b"file a seq x type i\n", "Invalid AOF manifest file format"),
    (b'file a seq 1 type ""\n', "Invalid AOF manifest file format"),
    (b'file "a seq 1 type i\n', "Invalid AOF manifest file format"),
    (b"file a seq 1 type x\n", "Unknown AOF file type"),
    (b"file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"),
    (b"file a seq 2 type i\nfile b seq 1 type i\n", "Found a non-monotonic sequence number"),
    (b"file a seq 2 type i\nfile b seq 2 type i\n", "Found a non-monotonic sequence number"),
    (b"file dir/a seq 1 type i\n", "File can't be a path, just a filename"),
    (b"file a seq 1 type i" + b" k v" * 256 + b"\n",
     "The AOF manifest file contains too long line"),
    (b"file a seq 1 type i", "The AOF manifest file contains too long line"),
])
def test_manifests_redis_refuses(text, message):
    with pytest.raises(CorruptAof) as raised:
        parse(text)
    assert str(raised.value).startswith(message)
    assert "appendonly.aof.manifest" in str(raised.value)


def test_the_longest_line_redis_reads():
    line = b"file a seq 1 type i "
    line += b"k" * (1023 - len(line) - 2) + b" v"            # 1023 bytes, then the newline
    assert parse(line + b"\n").incrs == [("a", 1)]
    with pytest.raises(CorruptAof, match="too long line"):
        parse(line + b"v\n")


def test_a_manifest_that_cannot_be_opened(tmp_path):
    with pytest.raises(CorruptAof, match="can't open the AOF manifest file m for reading: "
                                         "No such file or directory"):
        Manifest.read(str(tmp_path / "m"))


def test_rewrites_failing_again_and_again_wait_longer_each_time(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(aof.time, "time", lambda: clock[0])
    history = RewriteHistory()
    history.failures = 2
    assert not history.limited()                    # two failures: try at once
    history.failures = 3
    assert history.limited()                        # three: a minute's wait starts
    clock[0] += 59
    assert history.limited()
    clock[0] += 1
    assert not history.limited()                    # the minute is over: one try
    history.failures = 4
    assert history.limited()                        # failed again: two minutes
    clock[0] += 119
    assert history.limited()
    clock[0] += 1
    assert not history.limited()
    history.failures = 0
    assert not history.limited()                    # a success ends the waits
    history.failures = 3
    assert history.limited()
    clock[0] += 60
    assert not history.limited()                    # one minute again
