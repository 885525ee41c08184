"""The Lua debugger's logic without a server (scripting/debugger.py): Lua values and
replies as text, the parsing of the client's commands, breakpoints, and a session
driven through a fake connection."""

import pytest

from fromscratch.kvdb.scripting import Interpreter, LuaTable
from fromscratch.kvdb.scripting.debugger import (Debugger, ProtocolError, lua_value_text,
                                                  parse_command, quoted, reply_text,
                                                  split_source)


def test_values_as_text():
    assert lua_value_text("a\"b\\\n\x00\xff") == '"a\\"b\\\\\\n\\x00\\xff"'
    assert lua_value_text(1.0) == "1" and lua_value_text(0.5) == "0.5"
    assert lua_value_text(1e20) == "1e+20"
    assert lua_value_text(True) == "true" and lua_value_text(None) == "nil"
    assert lua_value_text(LuaTable.from_list(["a", 2.0])) == '{"a"; 2}'
    assert lua_value_text(LuaTable({"k": LuaTable.from_list([1.0])})) == '{["k"]={1}}'
    assert lua_value_text(LuaTable()) == "{}"
    nested = LuaTable()
    nested.rawset(1.0, nested)
    assert lua_value_text(nested).count("{") == 10
    assert lua_value_text(nested).endswith("<max recursion level reached! Nested table?>"
                                           + "}" * 10)


def test_replies_as_text():
    assert reply_text(b"+OK\r\n") == '"+OK"'
    assert reply_text(b"-ERR no\r\n") == '"-ERR no"'
    assert reply_text(b":12\r\n") == "12"
    assert reply_text(b"$2\r\nhi\r\n") == '"hi"'
    assert reply_text(b"$-1\r\n") == "NULL" and reply_text(b"*-1\r\n") == "NULL"
    assert reply_text(b"*2\r\n:1\r\n*1\r\n$1\r\na\r\n") == '[1,["a"]]'
    assert reply_text(b"%1\r\n$1\r\na\r\n:1\r\n") == '{"a" => 1}'
    assert reply_text(b"~1\r\n:1\r\n") == "~(1)"
    assert reply_text(b"_\r\n") == "(null)"
    assert reply_text(b"#t\r\n") == "#true" and reply_text(b"#f\r\n") == "#false"
    assert reply_text(b",1.5\r\n") == "(double) 1.5"


def test_parse_command():
    assert parse_command(b"") is None
    assert parse_command(b"*2\r\n$1\r\np\r\n$1\r\n") is None          # more to come
    assert parse_command(b"junk*1\r\n$4\r\nstep\r\n") == [b"step"]
    for bad in (b"step\r\n", b"*0\r\n", b"*1025\r\n", b"*1\r\n$0\r\n\r\n",
                b"*1\r\nstep\r\n", b"*1\r\n$1\r\nsX\r\n"):
        with pytest.raises(ProtocolError):
            parse_command(bad)


def test_source_lines():
    assert split_source(b"a\r\nb\n\n") == ["a\r", "b"]
    assert quoted("\t") == '"\\t"'


class FakeConnection:
    def __init__(self, commands):
        self.incoming = [b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w)
                                                       for w in c) for c in commands]
        self.sent = []

    def send(self, data):
        self.sent.append(data)

    def receive(self):
        return self.incoming.pop(0) if self.incoming else b""


def test_a_session_through_a_fake_connection():
    interp = Interpreter()
    source = b"local a = 1\nlocal b = a + 1\nreturn b"
    connection = FakeConnection([[b"s"], [b"p"], [b"b", b"3"], [b"c"], [b"c"]])
    debugger = Debugger(source, connection, 5000)
    debugger.install(interp)
    try:
        assert interp.call(interp.load(source.decode()), []) == [2.0]
    finally:
        debugger.uninstall()
    assert connection.sent == [
        b"*2\r\n+* Stopped at 1, stop reason = step over\r\n+-> 1   local a = 1\r\n",
        b"*2\r\n+* Stopped at 2, stop reason = step over\r\n+-> 2   local b = a + 1\r\n",
        b"*1\r\n+<value> a = 1\r\n",
        b"*2\r\n+-> 2   local b = a + 1\r\n+  #3   return b\r\n",
        b"*2\r\n+* Stopped at 3, stop reason = break point\r\n+->#3   return b\r\n"]
    assert "exec_block" not in interp.__dict__          # the plain runner is back


def test_breakpoint_removal_moves_bytes_as_redis_does():
    debugger = Debugger(b"\n".join(b"x" for _ in range(9)), FakeConnection([]), 0)
    for line in (3, 5, 7):
        debugger.add_breakpoint(line)
    assert debugger.remove_breakpoint(3)
    # memmove(bp, bp + 1, 2): two bytes of 5 over 3, the rest left as it was.
    assert debugger.breakpoints == [5, 5]
