"""The append-only file's reader and the propagation rules, without a server."""

import pytest

from fromscratch.kvdb.persistence import aof
from fromscratch.kvdb.persistence.aof import CorruptAof, Manifest, RewriteHistory, parse_log
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


def test_manifest_round_trip(tmp_path):
    manifest = Manifest(("appendonly.aof.3.base.rdb", 3),
                        [("appendonly.aof.3.incr.aof", 3), ("appendonly.aof.4.incr.aof", 4)])
    path = tmp_path / "m"
    path.write_text(manifest.text())
    again = Manifest.read(str(path))
    assert (again.base, again.incrs) == (manifest.base, manifest.incrs)
    path.write_text("file x seq 1 type q\n")
    with pytest.raises(CorruptAof, match="unknown file type"):
        Manifest.read(str(path))


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
