"""The Lua debugger (LDB) of SCRIPT DEBUG: one debugging session of one script.

A client that ran SCRIPT DEBUG YES or SYNC has its next EVAL run under a session:
the script stops before its first line, and between two lines the server reads the
client's debugger commands (step, continue, break, print, eval, redis...) and answers
each with a log: a RESP array of status lines ("* Stopped at 3, stop reason = step
over", "-> 3   return x"...). This module is that session's logic, word for word what
Redis 7.0's eval.c (ldb*) says, apart from any socket: the host hands it a
`connection` with send(bytes) and receive() -> bytes (b"" once the client is gone).

Where the script stops. Lua calls Redis's line hook whenever the virtual machine
starts a new source line, enters a function, or jumps back (a loop). A tree-walking
interpreter has no instructions, so `Debugger.install` swaps in, for the session
only, a block runner that reports each statement's line and loop runners that report
the jumps back as Lua 5.1's code generator lays them out:

    for / for-in        the `for` line again after each turn (FORLOOP, TFORLOOP)
    while               the `while` line again before each test but the first
    repeat ... until    nothing for `repeat`; the `until` line after each turn
    local function f    the line of its `end` (where Lua makes the closure)
    a spread expression each line a part of it is on (a table's fields, a call's
                        arguments), then the call's own line (that of its "(")

A line is reported once however many statements or expressions follow on it. That
is Lua's rule worked out from the syntax tree, not bytecode: an unusual layout may
stop on a line more or fewer than Redis does.
"""

from __future__ import annotations

import struct
import time

from . import nodes as n
from .interpreter import BREAK, HOOK_EVERY, Scope
from .lexer import LuaSyntaxError
from .values import LuaError, LuaFunction, LuaTable, truthy

MAX_BREAKPOINTS = 64                # LDB_BREAKPOINTS_MAX
DEFAULT_MAXLEN = 256                # LDB_MAX_LEN_DEFAULT: replies and values are cut there
MIN_MAXLEN = 60                     # "maxlen" never sets less (but 0, unlimited)
MAX_VALUE_DEPTH = 10                # LDB_MAX_VALUES_DEPTH: tables nested deeper are cut
MAX_COMMAND_BUFFER = 1 << 20        # what the client may send before a whole command
MAX_COMMAND_ARGS = 1024             # a command's arguments, and each one's bytes
MAX_LOGGED_ARGS = 10                # a "<redis>" log shows that many arguments
WHOLE_SOURCE = 1000000              # "whole" is "list 1 1000000"

HELP = [
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
]
UNKNOWN_COMMAND = "<error> Unknown Redis Lua debugger command or wrong number of arguments."


class ProtocolError(Exception):
    """The client sent something that is no command (Redis then fails the script)."""


# -- text, as Redis writes it ------------------------------------------------------------

def split_source(source: bytes) -> list[str]:
    """The script's lines as the debugger shows them: trailing line breaks dropped,
    then cut at each "\\n" (a "\\r" before it stays, as in Redis)."""
    return source.rstrip(b"\r\n").decode("latin-1").split("\n")


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\a": "\\a", "\b": "\\b"}


def quoted(text: str) -> str:
    """A string (one character per byte) quoted as Redis's sdscatrepr: escapes for
    the quote, the backslash and the usual controls, \\xHH for other unprintables."""
    parts = ['"']
    for char in text:
        escape = _ESCAPES.get(char)
        if escape is not None:
            parts.append(escape)
        elif " " <= char <= "~":
            parts.append(char)
        else:
            parts.append("\\x%02x" % ord(char))
    parts.append('"')
    return "".join(parts)


def _c_int(text: str) -> int:
    """C's atoi: the leading digits (after blanks and a sign), 0 without any."""
    text = text.lstrip(" \t\n\v\f\r")
    sign, digits = 1, ""
    if text[:1] in ("+", "-"):
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    for char in text:
        if not char.isdigit() or not char.isascii():
            break
        digits += char
    return sign * int(digits) if digits else 0


def _strict_int(text: str) -> int | None:
    """Redis's string2l: a whole integer, no blanks, no "+", no leading zeros."""
    body = text[1:] if text.startswith("-") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    if (body[0] == "0" and len(body) > 1) or text == "-0":
        return None
    return int(text)


def lua_value_text(value, level: int = 0) -> str:
    """A Lua value as the debugger shows it (Redis's ldbCatStackValue): strings
    quoted, numbers as %g, a table as {1; 2} when it is an array, else as
    {["k"]=v; ...}; functions by address."""
    if level == MAX_VALUE_DEPTH:
        return "<max recursion level reached! Nested table?>"
    kind = type(value)
    if kind is str:
        return quoted(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return "%g" % value
    if value is None:
        return "nil"
    if kind is LuaTable:
        values, pairs = [], []
        is_array = True
        for index, (key, item) in enumerate(_lua_order(value), 1):
            if is_array and (type(key) is not float or key != index):
                is_array = False
            values.append(lua_value_text(item, level + 1))
            pairs.append(f"[{lua_value_text(key, level + 1)}]="
                         f"{lua_value_text(item, level + 1)}")
        return "{" + "; ".join(values if is_array else pairs) + "}"
    kind_name = "function" if kind is LuaFunction or callable(value) else "userdata"
    return f'"{kind_name}@0x{id(value):x}"'


def _lua_order(table: LuaTable):
    """A table's entries in the order Lua's next() gives them: its array part (1, 2,
    ... up to the first nil) first, then the other keys (in the order they came, where
    Lua would follow its hash)."""
    array = table.array()
    yield from ((float(i), item) for i, item in enumerate(array, 1))
    for key, item in table.items():
        if not (type(key) is float and key.is_integer() and 1 <= key <= len(array)):
            yield key, item


def reply_text(data: bytes) -> str:
    """A reply, in RESP, as the debugger shows it (Redis's ldbRedisProtocolToHuman):
    `"+OK"`, `1`, `"bulk"`, `NULL`, `[1,"a"]`; RESP3 sets ~(...), maps {k => v},
    null (null), booleans #true and doubles (double) 1.5."""
    text, _ = _reply_text(data.decode("latin-1"), 0)
    return text


def _reply_text(data: str, pos: int) -> tuple[str, int]:
    """The text of the reply at `pos`, and where the next one starts."""
    kind = data[pos:pos + 1]
    end = data.find("\r", pos + 1)
    header = data[pos + 1:end]
    after = end + 2
    if kind == ":":
        return header, after
    if kind == "$":
        length = int(header)
        if length == -1:
            return "NULL", after
        return quoted(data[after:after + length]), after + length + 2
    if kind in ("+", "-"):
        return quoted(data[pos:end]), after
    if kind in ("*", "~", "%"):
        count = int(header)
        if kind == "*" and count == -1:
            return "NULL", after
        items = []
        for _ in range(count):
            item, after = _reply_text(data, after)
            if kind == "%":
                value, after = _reply_text(data, after)
                item += " => " + value
            items.append(item)
        opening, closing = {"*": ("[", "]"), "~": ("~(", ")"), "%": ("{", "}")}[kind]
        return opening + ",".join(items) + closing, after
    if kind == "_":
        return "(null)", after
    if kind == "#":
        return ("#true" if header == "t" else "#false"), after
    if kind == ",":
        return "(double) " + header, after
    return "", pos                     # a type Redis does not show either


def _header(buffer: bytes, pos: int) -> tuple[int, int] | None:
    """The number of the `*n` or `$n` line at `pos` (1 to 1024, else ProtocolError) and
    where the next line starts; None if the line is not all there yet."""
    end = buffer.find(b"\r\n", pos)
    if end == -1:
        return None
    number = _c_int(buffer[pos + 1:end].decode("latin-1"))
    if not 0 < number <= MAX_COMMAND_ARGS:
        raise ProtocolError
    return number, end + 2


def parse_command(buffer: bytes) -> list[bytes] | None:
    """The first command in the client's buffer, a RESP array of bulk strings as
    redis-cli sends them (Redis's ldbReplParseCommand: as forgiving, and as strict:
    at most 1024 arguments of 1 to 1024 bytes). None: more is to be read."""
    if not buffer:
        return None
    star = buffer.find(b"*")
    if star == -1:
        raise ProtocolError
    header = _header(buffer, star)
    if header is None:
        return None
    count, pos = header
    argv = []
    while len(argv) < count:
        if pos >= len(buffer):
            return None
        if buffer[pos:pos + 1] != b"$":
            raise ProtocolError
        header = _header(buffer, pos)
        if header is None:
            return None
        length, start = header
        if start + length + 2 > len(buffer):
            return None
        argv.append(buffer[start:start + length])
        if buffer[start + length:start + length + 2] != b"\r\n":
            raise ProtocolError
        pos = start + length + 2
    return argv


# -- the session ----------------------------------------------------------------------

class Frame:
    """A Lua function being run, as the debugger sees it: its innermost scope and
    current line as of its last statement."""

    __slots__ = ("name", "root", "scope", "line", "tail_call")

    def __init__(self, name: str | None, tail_call: bool):
        self.name = name            # how its caller named it ("f"), None: unknown
        self.root = None            # the scope of its parameters: its locals start there
        self.scope = None
        self.line = None            # None: the next statement is a new line for Lua
        self.tail_call = tail_call  # `return f()`: Lua dropped the caller's frame

    def locals(self) -> list[tuple[str, object]]:
        """Its local variables in the order Lua numbers them (the outermost block's
        first), names as in the source."""
        scopes = []
        scope = self.scope
        while scope is not None:
            scopes.append(scope)
            if scope is self.root:
                break
            scope = scope.parent
        variables = []
        for scope in reversed(scopes):
            for key, value in scope.vars.items():
                if key != "...":
                    variables.append((key.split("#", 1)[0], value))
        return variables


class Debugger:
    """One session: the script's source, the breakpoints, whether to stop at the next
    line, the logs not sent yet, and the client's connection."""

    def __init__(self, source: bytes, connection, busy_threshold_ms: int):
        self.lines = split_source(source)
        self.connection = connection
        self.logs: list[str] = []
        self.step = True            # stop at the next line (the first, to begin with)
        self.lua_breakpoint = False  # redis.breakpoint() was called
        self.breakpoints: list[int] = []
        self.maxlen = DEFAULT_MAXLEN
        self.maxlen_hint_sent = False
        self.buffer = b""           # what the client sent that is no whole command yet
        self.current_line = 0
        self.frames: list[Frame] = []
        self.evaluating = False     # running "eval" code, which is not the script's
        self.timeout_due = False    # it ran too long: stop at the next line it runs
        # A script that runs this long without stopping is stopped ("infinite loop?").
        self.timeout = (busy_threshold_ms or 5000) / 1000
        self.started = time.monotonic()
        self._tail_call_node = None
        self._next_frame = None
        self._interp = None

    # -- logs -----------------------------------------------------------------------

    def log(self, entry: str) -> None:
        self.logs.append(entry)

    def log_with_maxlen(self, entry: str) -> None:
        """A reply or a value, cut at maxlen; the first cut adds a hint."""
        if self.maxlen and len(entry) > self.maxlen:
            self.log(entry[:self.maxlen] + " ...")
            if not self.maxlen_hint_sent:
                self.maxlen_hint_sent = True
                self.log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable "
                         "trimming.")
            return
        self.log(entry)

    def send_logs(self) -> None:
        """Send the logs as one array of status lines (line breaks made spaces)."""
        parts = [b"*%d\r\n" % len(self.logs)]
        for entry in self.logs:
            line = entry.replace("\r", " ").replace("\n", " ")
            parts.append(b"+" + line.encode("latin-1", "replace") + b"\r\n")
        self.logs.clear()
        self.connection.send(b"".join(parts))

    def log_command(self, argv: list) -> None:
        """What redis.call runs, while stepping: "<redis> set k v"."""
        words = ["<redis>"]
        for index, arg in enumerate(argv):
            if index == MAX_LOGGED_ARGS:
                # (Redis counts one fewer than it leaves out.)
                words.append(f"... ({len(argv) - index - 1} more)")
                break
            words.append(arg.decode("latin-1"))
        self.log(" ".join(words))

    def log_reply(self, resp: bytes) -> None:
        self.log_with_maxlen("<reply> " + reply_text(resp))

    def log_error(self, message: str) -> None:
        self.log("<error> " + message)

    @property
    def logging_calls(self) -> bool:
        """Whether redis.call's commands and replies are logged: while stepping."""
        return self.step

    # -- source lines ------------------------------------------------------------------

    def source_line(self, number: int) -> str:
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return "<out of range source code line>"

    def log_source_line(self, number: int) -> None:
        current = number == self.current_line
        breakpoint_ = number in self.breakpoints
        prefix = ("->#" if breakpoint_ else "-> ") if current else ("  #" if breakpoint_
                                                                    else "   ")
        self.log("%s%-3d %s" % (prefix, number, self.source_line(number)))

    def list_lines(self, around: int, context: int) -> None:
        for number in range(1, len(self.lines) + 1):
            if around == 0 or abs(around - number) <= context:
                self.log_source_line(number)

    # -- breakpoints -------------------------------------------------------------------

    def add_breakpoint(self, line: int) -> bool:
        if line <= 0 or line > len(self.lines) or line in self.breakpoints:
            return False
        self.breakpoints.append(line)
        return True

    def remove_breakpoint(self, line: int) -> bool:
        if line not in self.breakpoints:
            return False
        index = self.breakpoints.index(line)
        # Redis closes the gap with memmove(bp+j, bp+j+1, count-j): that many bytes,
        # not ints, so the breakpoints after the removed one may come out changed.
        # Listing them as Redis does means moving the same bytes.
        count = len(self.breakpoints) - 1
        raw = bytearray(struct.pack(f"<{len(self.breakpoints)}i", *self.breakpoints))
        moved = count - index
        raw[index * 4:index * 4 + moved] = raw[(index + 1) * 4:(index + 1) * 4 + moved]
        self.breakpoints = list(struct.unpack(f"<{count}i", bytes(raw[:count * 4])))
        return True

    # -- stopping ----------------------------------------------------------------------

    def line_event(self, line: int) -> None:
        """The script starts running `line`: stop there if stepping or at a
        breakpoint, and take the client's commands until one lets it go on."""
        if self.evaluating:
            return          # Lua runs no hook while one runs: "eval" code has no lines
        self.current_line = line
        at_breakpoint = self.lua_breakpoint or line in self.breakpoints
        if not (self.step or at_breakpoint):
            return
        reason = "step over"
        if at_breakpoint:
            reason = "redis.breakpoint() called" if self.lua_breakpoint else "break point"
        self.stop(line, reason)

    def stop(self, line: int, reason: str) -> bool:
        """Stop at `line`; returns False if the client is gone."""
        self.step = self.lua_breakpoint = False
        self.log(f"* Stopped at {line}, stop reason = {reason}")
        self.log_source_line(line)
        self.send_logs()
        going_on = self.repl()
        self.started = time.monotonic()
        return going_on

    def count_hook(self) -> None:
        """Called now and then while the script runs: one that runs on for too long
        without stopping is stopped (at the line it runs next), so that the client can
        see where."""
        if self.step or self.evaluating or self.current_line in self.breakpoints:
            return
        if time.monotonic() - self.started >= self.timeout:
            self.timeout_due = True

    def stop_for_timeout(self, line: int) -> None:
        self.timeout_due = False
        self.current_line = line
        if not self.stop(line, "timeout reached, infinite loop?"):
            # Nobody will ever stop it now: end it rather than block forever.
            raise self.script_error("timeout during Lua debugging with client closing "
                                    "connection")

    def script_error(self, message: str) -> LuaError:
        """An error that ends the script, as Redis's luaPushError + luaError."""
        return LuaError(LuaTable({"err": "ERR " + message}), level=0,
                        line=self.current_line)

    # -- the client's commands -----------------------------------------------------------

    def read_command(self) -> list[str] | None:
        """The client's next command (its buffer then emptied, as in Redis: a command
        sent right behind it is lost); None if the client is gone."""
        while True:
            try:
                argv = parse_command(self.buffer)
            except ProtocolError:
                raise self.script_error("protocol error") from None
            if argv is not None:
                self.buffer = b""
                return [arg.decode("latin-1") for arg in argv]
            data = self.connection.receive()
            if not data:
                return None
            self.buffer += data
            if len(self.buffer) > MAX_COMMAND_BUFFER:
                self.buffer = b""
                raise self.script_error("max client buffer reached")

    def repl(self) -> bool:
        """Run the client's commands until one lets the script go on (True), or the
        client is gone (False: the script then runs to its end without stopping)."""
        while True:
            argv = self.read_command()
            if argv is None:
                self.step = False
                self.breakpoints = []
                return False
            name = argv[0].lower()
            if name in ("s", "step", "n", "next"):
                self.step = True
                return True
            if name in ("c", "continue"):
                return True
            if name in ("a", "abort"):
                raise self.script_error("script aborted for user request")
            self.run_command(name, argv)
            self.send_logs()

    def run_command(self, name: str, argv: list[str]) -> None:
        """A command that logs what it found and leaves the script stopped."""
        if name in ("h", "help"):
            for line in HELP:
                self.log(line)
        elif name in ("t", "trace"):
            self.trace()
        elif name in ("m", "maxlen"):
            self.set_maxlen(argv)
        elif name in ("b", "break"):
            self.break_command(argv)
        elif name in ("e", "eval"):
            self.eval(" ".join(argv[1:]))
        elif name in ("r", "redis") and len(argv) > 1:
            self.redis(argv[1:])
        elif name in ("p", "print"):
            if len(argv) == 2:
                self.print_variable(argv[1])
            else:
                self.print_locals()
        elif name in ("l", "list"):
            around, context = self.current_line, 5
            if len(argv) > 1 and _c_int(argv[1]) > 0:
                around = _c_int(argv[1])
            if len(argv) > 2:
                context = _c_int(argv[2])
            self.list_lines(around, context)
        elif name in ("w", "whole"):
            self.list_lines(1, WHOLE_SOURCE)
        else:
            self.log(UNKNOWN_COMMAND)

    def set_maxlen(self, argv: list[str]) -> None:
        if len(argv) == 2:
            maxlen = _c_int(argv[1])
            self.maxlen_hint_sent = True        # the user knows about maxlen
            self.maxlen = MIN_MAXLEN if 0 != maxlen <= MIN_MAXLEN else maxlen
        if self.maxlen:
            self.log(f"<value> replies are truncated at {self.maxlen} bytes.")
        else:
            self.log("<value> replies are unlimited.")

    def break_command(self, argv: list[str]) -> None:
        if len(argv) == 1:
            if not self.breakpoints:
                self.log("No breakpoints set. Use 'b <line>' to add one.")
                return
            self.log(f"{len(self.breakpoints)} breakpoints set:")
            for line in self.breakpoints:
                self.log_source_line(line)
            return
        for arg in argv[1:]:
            line = _strict_int(arg)
            if line is None:
                self.log(f"Invalid argument:'{arg}'")
            elif line == 0:
                self.breakpoints = []
                self.log("All breakpoints removed.")
            elif line > 0:
                if len(self.breakpoints) == MAX_BREAKPOINTS:
                    self.log("Too many breakpoints set.")
                elif self.add_breakpoint(line):
                    self.list_lines(line, 1)
                else:
                    self.log("Wrong line number.")
            elif self.remove_breakpoint(-line):
                self.log("Breakpoint removed.")
            else:
                self.log("No breakpoint in the specified line.")

    # -- looking at the script -----------------------------------------------------------

    def visible_frames(self) -> list[tuple[int, Frame]]:
        """The frames Lua still has, innermost first, with their stack levels: a
        tail call took the place of its caller's frame."""
        frames, level, skip = [], 0, False
        for frame in reversed(self.frames):
            if skip:
                skip = False
                level += 1               # Lua's "(tail call)" level, not the script's
                continue
            frames.append((level, frame))
            skip = frame.tail_call
            level += 1
        return frames

    def print_locals(self) -> None:
        shown = 0
        if self.frames:
            for name, value in self.frames[-1].locals():
                self.log_with_maxlen(f"<value> {name} = {lua_value_text(value)}")
                shown += 1
        if not shown:
            self.log("No local variables in the current context.")

    def print_variable(self, wanted: str) -> None:
        for _, frame in self.visible_frames():
            for name, value in frame.locals():
                if name == wanted:
                    self.log_with_maxlen("<value> " + lua_value_text(value))
                    return
        if wanted in ("KEYS", "ARGV"):
            self.log_with_maxlen("<value> " + lua_value_text(
                self._interp.globals.hash.get(wanted)))
            return
        self.log("No such variable.")

    def trace(self) -> None:
        frames = self.visible_frames()
        for level, frame in frames:
            name = frame.name if frame.name is not None and not frame.tail_call \
                else "top level"
            self.log(f"{'In' if level == 0 else 'From'} {name}:")
            self.log_source_line(frame.line if frame.line is not None else 0)
        if not frames:
            self.log("<error> Can't retrieve Lua stack.")

    def eval(self, code: str) -> None:
        """Run Lua code given by the client, in its own function (no access to the
        script's locals): as an expression if it compiles as one, else as a chunk."""
        interp = self._interp
        saved_name, interp.chunk_name = interp.chunk_name, "ldb_eval"
        self.evaluating = True
        try:
            try:
                function = interp.load("return " + code)
            except LuaSyntaxError:
                function = interp.load(code)
            results = interp.call(function, [])
        except (LuaSyntaxError, LuaError) as error:
            message = error.value if isinstance(error, LuaError) else str(error)
            if isinstance(message, LuaTable):
                message = message.get("err")
            self.log(f"<error> {message}" if type(message) is str else "<error> nil")
            return
        finally:
            interp.chunk_name = saved_name
            self.evaluating = False
        self.log_with_maxlen("<retval> " + lua_value_text(results[0] if results else None))

    def redis(self, args: list[str]) -> None:
        """Run a command as redis.call would, stepping so that it is logged."""
        interp = self._interp
        call = interp.globals.hash["redis"].get("call")
        self.step = True
        try:
            interp.call(call, list(args))
        except LuaError:
            pass                       # logged as "<error> ..." already
        finally:
            self.step = False

    # -- the interpreter, stepped ----------------------------------------------------------

    def install(self, interp) -> None:
        """Run `interp` line by line for this session: its block runner, loop runners,
        function calls and count hook are replaced by ones that report to us (only
        for the session: the normal path pays nothing)."""
        self._interp = interp
        self._plain_call_lua = interp.call_lua
        self._plain_call_at = interp.call_at
        self._plain_execute = interp.execute
        self._plain_hook = interp.hook
        interp.exec_block = self._exec_block
        interp.call_lua = self._call_lua
        interp.call_at = self._call_at
        interp.execute = dict(interp.execute)
        interp.execute.update({
            n.While: self._exec_while, n.Repeat: self._exec_repeat,
            n.NumericFor: self._exec_numeric_for, n.GenericFor: self._exec_generic_for,
        })
        # Each part of an expression on a line of its own is a line for Lua (a call's
        # arguments, a table's fields), but for a function's body.
        self._plain_evaluate_node = interp.evaluate_node
        interp.evaluate_node = {kind: (evaluate if kind is n.Function
                                       else self._line_checked(evaluate))
                                for kind, evaluate in interp.evaluate_node.items()}
        interp.hook = self.count_hook

    def _line_checked(self, evaluate):
        frames = self.frames

        def evaluate_on_its_line(expr, scope):
            if frames and expr.line != frames[-1].line:
                self._frame_line(frames[-1], expr.line)
            return evaluate(expr, scope)
        return evaluate_on_its_line

    def uninstall(self) -> None:
        interp = self._interp
        for name in ("exec_block", "call_lua", "call_at"):
            interp.__dict__.pop(name, None)
        interp.execute = self._plain_execute
        interp.evaluate_node = self._plain_evaluate_node
        interp.hook = self._plain_hook

    def _frame_line(self, frame: Frame, line: int) -> None:
        """Frame `frame` runs `line`: a line event if it is a new one."""
        if self.timeout_due and not self.evaluating:
            frame.line = line
            self.stop_for_timeout(line)
        elif line != frame.line:
            frame.line = line
            self.line_event(line)

    def _call_at(self, function, args: list, node, function_node):
        # The call itself is on the line of its "(", where arguments may have left.
        if self.frames and node.line != self.frames[-1].line:
            self._frame_line(self.frames[-1], node.line)
        if type(function) is LuaFunction:
            self._next_frame = (_call_name(node, function_node),
                                node is self._tail_call_node)
        return self._plain_call_at(function, args, node, function_node)

    def _call_lua(self, function, args: list) -> list:
        name, tail_call = self._next_frame or (None, False)
        self._next_frame = None
        frame = Frame(name, tail_call)
        self.frames.append(frame)
        try:
            return self._plain_call_lua(function, args)
        finally:
            self.frames.pop()

    def _exec_block(self, block: list, scope: Scope):
        interp = self._interp
        interp._until_hook -= 1
        if interp._until_hook <= 0:
            interp._until_hook = HOOK_EVERY
            self.count_hook()
        frame = self.frames[-1] if self.frames else None
        if frame is not None and frame.root is None:
            frame.root = scope
        execute = interp.execute
        for statement in block:
            if frame is not None:
                frame.scope = scope
                kind = type(statement)
                if kind is n.Return and len(statement.exprs) == 1 \
                        and type(statement.exprs[0]) in (n.Call, n.MethodCall):
                    self._tail_call_node = statement.exprs[0]
                if kind is not n.Do and kind is not n.Repeat:
                    self._frame_line(frame, _statement_line(statement))
            try:
                signal = execute[type(statement)](statement, scope)
            except LuaError as error:
                error.locate(statement.line, interp.chunk_name)
                raise
            if signal is not None:
                return signal
        return None

    def _jump_back(self) -> None:
        """A loop jumps back: Lua reports the line it lands on, even the same."""
        if self.frames:
            self.frames[-1].line = None

    def _exec_while(self, node: n.While, scope: Scope):
        interp = self._interp
        first = True
        while True:
            if not first:                       # each test but the first, on its line
                self._jump_back()
                self._loop_test(scope, node.line)
            first = False
            if not truthy(interp.evaluate(node.cond, scope)):
                break
            signal = interp.exec_block(node.body, Scope(scope))
            if signal is BREAK:
                break
            if signal is not None:
                return signal
        return None

    def _exec_repeat(self, node: n.Repeat, scope: Scope):
        interp = self._interp
        first = True
        while True:
            if not first:
                self._jump_back()
            first = False
            inner = Scope(scope)
            signal = interp.exec_block(node.body, inner)
            if signal is BREAK:
                break
            if signal is not None:
                return signal
            self._loop_test(inner, node.cond.line)
            if truthy(interp.evaluate(node.cond, inner)):
                break
        return None

    def _loop_test(self, scope: Scope, line: int) -> None:
        """A loop's test of whether to go on, on its line (`for`, `while`, `until`)."""
        if self.frames:
            frame = self.frames[-1]
            frame.scope = scope
            self._frame_line(frame, line)

    def _exec_numeric_for(self, node: n.NumericFor, scope: Scope):
        # The loop's state is in three hidden locals Lua lists as "(for index)",
        # "(for limit)" and "(for step)": `print` shows them.
        interp = self._interp
        start, stop, step = interp.numeric_for_bounds(node, scope)
        i = start
        while (i <= stop) if step > 0 else (i >= stop):
            state = Scope(scope, {"(for index)": i, "(for limit)": stop, "(for step)": step})
            self._jump_back()
            signal = interp.exec_block(node.body, Scope(state, {node.var: i}))
            if signal is BREAK:
                break
            if signal is not None:
                return signal
            self._loop_test(state, node.line)
            i += step
        return None

    def _exec_generic_for(self, node: n.GenericFor, scope: Scope):
        interp = self._interp
        values = interp.evaluate_list(node.exprs, scope)
        iterator, state_value, control = (values + [None, None, None])[:3]
        while True:
            state = Scope(scope, {"(for generator)": iterator, "(for state)": state_value,
                                  "(for control)": control})
            results = interp.call_at(iterator, [state_value, control], node, None)
            control = results[0] if results else None
            if control is None:
                break
            state.vars["(for control)"] = control
            variables = {key: (results[i] if i < len(results) else None)
                         for i, key in enumerate(node.keys)}
            self._jump_back()
            signal = interp.exec_block(node.body, Scope(state, variables))
            if signal is BREAK:
                break
            if signal is not None:
                return signal
            self._loop_test(state, node.line)
        return None


def _statement_line(statement) -> int:
    """The line Lua reports first for a statement: a function's closure is made at
    its `end`."""
    kind = type(statement)
    if kind is n.LocalFunction:
        return statement.func.end_line or statement.line
    if (kind is n.LocalAssign or kind is n.Assign) and len(statement.exprs) == 1 \
            and type(statement.exprs[0]) is n.Function:
        return statement.exprs[0].end_line or statement.line
    return statement.line


def _call_name(node, function_node) -> str | None:
    """The name Lua gives a called function in a backtrace: the variable, field or
    method it was called through."""
    if type(node) is n.MethodCall:
        return node.method
    if type(function_node) in (n.Local, n.Global):
        return function_node.name
    if type(function_node) is n.Index and type(function_node.key) is n.Constant \
            and type(function_node.key.value) is str:
        return function_node.key.value
    return None
