"""The command table: every command declared once.

Each command module declares its commands with `@command(...)`:

    @command("get", arity=2, flags="readonly fast", keys=(1, 1, 1), group="string",
             since="1.0.0", summary="Returns the string value of a key.", syntax="key")
    def get(client, argv): ...

From that one declaration come dispatch (`lookup`), the arity check and its error, the
replies of COMMAND / COMMAND INFO / COMMAND DOCS / COMMAND LIST / COMMAND COUNT, which
commands MULTI may queue, what counts as a write, and each command's ACL categories.

Arity follows Redis: a positive number is the exact argument count including the
command name; a negative one is a minimum (-2 means "at least two"). Key positions
are (first, last, step) as in Redis: last -1 means "up to the last argument", -2 "up
to the one before it".

Container commands (CLIENT, CONFIG, OBJECT...) declare their subcommands with
`@subcommand(parent, name, ...)`; the client looks the subcommand up before running it,
so each has its own arity, flags and statistics, as in Redis.

`syntax` is the argument list in a compact form, turned into COMMAND DOCS' nested
argument structures (which redis-cli shows as hints as you type):

    key value [condition: NX | XX] [GET] [expiration: EX seconds | PX milliseconds]
    (data: field value)...        key...        cursor [MATCH pattern] [COUNT count]

An UPPERCASE word is a token; a token followed by a lowercase name is one argument with
that token (`EX seconds`); `[...]` is optional, `(...)` groups, `a | b` is one of,
`...` after an item means it repeats, `name: ` at the start of a group names it, and
`word:type` gives a type explicitly (otherwise it is guessed from the name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from ..resp import ErrorReply, OrderedSet, SimpleString
from .diagnostics import new_histogram
from .help_texts import HELP_TEXTS
from .key_specs import flags_by_index, only_channels, specs_of

# Groups as Redis names them in COMMAND DOCS, and the ACL category each implies. (The
# pub/sub commands are @pubsub by their flag, as in Redis: PUBSUB HELP is not.)
GROUP_CATEGORIES = {
    "string": "@string", "generic": "@keyspace", "list": "@list", "hash": "@hash",
    "set": "@set", "sorted-set": "@sortedset", "stream": "@stream",
    "pubsub": "", "transactions": "@transaction", "connection": "@connection",
    "server": "", "scripting": "@scripting", "hyperloglog": "@hyperloglog",
    "bitmap": "@bitmap", "geo": "@geo",
}

# Redis 7's ACL categories in its order: ACL CAT and COMMAND INFO list them so.
ACL_CATEGORIES = (
    "keyspace read write set sortedset list hash string bitmap hyperloglog geo stream "
    "pubsub admin fast slow blocking dangerous connection transaction scripting").split()
_CATEGORY_RANK = {f"@{name}": rank for rank, name in enumerate(ACL_CATEGORIES)}

FLAG_NAMES = frozenset({
    "write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "fast", "no_auth",
    "may_replicate", "no_mandatory_keys", "allow_busy", "no_multi", "movablekeys",
    "protected", "no_async_loading", "touches_arbitrary_keys", "asking",
})


@dataclass
class Command:
    name: str                      # lower case, e.g. "get" or, for a subcommand, "setname"
    handler: Callable
    arity: int
    flags: frozenset
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    group: str = "generic"
    since: str = "1.0.0"
    summary: str = ""
    complexity: str = ""
    syntax: str = ""
    acl: frozenset = frozenset()   # extra ACL categories (e.g. @dangerous)
    # whether the group's category applies: not to a container (CLIENT is not
    # @connection, its subcommands are), nor to Redis's exceptions (WAIT, SORT)
    group_category: bool = True
    numkeys_at: int = 0            # for `numkeys key...` commands: where numkeys is
    # for `... STREAMS key... id...`: the keyword and where its search starts; the keys
    # are the first half of the arguments after it
    keyword: tuple = ()
    # for keys only the options reveal (SORT ... STORE dest): (argv, the positions
    # found so far) -> all the positions
    option_keys: Callable | None = None
    # for commands whose flags depend on what they run (a script declares its own):
    # (server, argv) -> the flags of that call
    call_flags: Callable | None = None
    # for a command that can serve a pipeline's run of its calls at once (XADD):
    # (client, commands, index) -> the replies (bulk strings) of the calls it served,
    # the first of the run from commands[index] on; the handler takes the rest
    run_handler: Callable | None = None
    parent: "Command | None" = None
    subcommands: dict = field(default_factory=dict)
    # statistics for INFO commandstats and LATENCY HISTOGRAM (see Client.count_calls)
    histogram: list = field(default_factory=new_histogram)
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0

    # Hot-path shortcuts, computed once.
    def __post_init__(self):
        self.arguments = parse_syntax(self.syntax)     # checked once, when declared
        self.is_write = "write" in self.flags
        self.is_readonly = "readonly" in self.flags
        self.is_blocking = "blocking" in self.flags
        self.denyoom = "denyoom" in self.flags          # refused when out of memory
        self.no_auth = "no_auth" in self.flags
        self.no_multi = "no_multi" in self.flags
        # Inside MULTI every command is queued except these, which act at once.
        self.queued_in_multi = self.name not in ("exec", "discard", "multi", "watch",
                                                 "quit", "reset")
        self.is_pubsub = "pubsub" in self.flags
        self.protected = "protected" in self.flags     # DEBUG: off unless configured
        self.skip_monitor = "skip_monitor" in self.flags
        self.skip_slowlog = "skip_slowlog" in self.flags
        # The argument counts the request loop's fast lane runs this command with; any
        # other count is an arity error, for the careful lane to word.
        self.fast_min_argc = abs(self.arity)
        self.fast_max_argc = self.arity if self.arity > 0 else 1 << 62
        # The command whose statistics a call counts in: itself, but for the
        # subcommands of what Redis has as one command (DEBUG), that command.
        self.counted_as = self
        self.one_command = False

    def take_careful_lane(self) -> None:
        """Always run this command in the careful lane: a container, whose subcommand
        the careful lane resolves."""
        self.fast_min_argc, self.fast_max_argc = 1, 0       # no count fits

    def reset_stats(self) -> None:
        self.histogram = new_histogram()
        self.calls = self.usec = self.rejected_calls = self.failed_calls = 0

    @property
    def full_name(self) -> str:
        return f"{self.parent.name}|{self.name}" if self.parent else self.name

    def arity_allows(self, argc: int) -> bool:
        return argc == self.arity if self.arity > 0 else argc >= -self.arity

    def check_arity(self, argc: int) -> None:
        if not self.arity_allows(argc):
            raise ErrorReply(f"ERR wrong number of arguments for '{self.full_name}' command")

    def key_indexes(self, argv: list) -> list[int]:
        """Where the keys are in argv: the fixed positions, then those counted by a
        numkeys argument (ZUNIONSTORE dest numkeys key..., LMPOP numkeys key...)."""
        indexes: list[int] = []
        if self.first_key:
            last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
            indexes += range(self.first_key, last + 1, self.key_step or 1)
        if self.numkeys_at and self.numkeys_at < len(argv) and argv[self.numkeys_at].isdigit():
            # More keys counted than there are arguments: none (the call is an error).
            first = self.numkeys_at + 1
            if first + int(argv[self.numkeys_at]) <= len(argv):
                indexes += range(first, first + int(argv[self.numkeys_at]))
        if self.keyword:
            word, start = self.keyword
            for index in range(start, len(argv)):
                if argv[index].upper() == word:
                    indexes += range(index + 1, index + 1 + (len(argv) - index - 1) // 2)
                    break
        if self.option_keys is not None:
            indexes = self.option_keys(argv, indexes)
        return indexes

    def flags_of_call(self, kv, argv: list) -> frozenset:
        """The flags of running this command with `argv` (see call_flags)."""
        return self.flags if self.call_flags is None else self.call_flags(kv, argv)

    @property
    def runs_script(self) -> bool:
        """EVAL, FCALL and their variants: what they run declares its own flags."""
        return self.call_flags is not None

    @property
    def has_keys(self) -> bool:
        """Whether any argument of this command can be a key: it has key positions, and
        they are not all shard channels (SPUBLISH's are `not_key` in its key specs)."""
        return (bool(self.first_key or self.numkeys_at or self.keyword or self.option_keys)
                and not only_channels(self.full_name))

    def keys_and_flags(self, argv: list) -> list[tuple[int, tuple]]:
        """The keys of a call, each as (its index in argv, its key-spec flags: what the
        call does to it), as COMMAND GETKEYSANDFLAGS shows them and ACL checks them."""
        flags = flags_by_index(self.full_name, argv)
        return [(index, flags.get(index) or self.key_flags())
                for index in self.key_indexes(argv) if index < len(argv)]

    @property
    def acl_categories(self) -> list[str]:
        """The command's own categories and those its flags imply, as Redis's
        setImplicitACLCategories adds them (a script's read-only form is not @read),
        in Redis's order."""
        categories = set(self.acl)
        if self.group_category and GROUP_CATEGORIES.get(self.group):
            categories.add(GROUP_CATEGORIES[self.group])
        if self.is_write:
            categories.add("@write")
        if self.is_readonly and "@scripting" not in categories:
            categories.add("@read")
        if "admin" in self.flags:
            categories |= {"@admin", "@dangerous"}
        if self.is_pubsub:
            categories.add("@pubsub")
        categories.add("@fast" if "fast" in self.flags else "@slow")
        if self.is_blocking:
            categories.add("@blocking")
        return sorted(categories, key=lambda name: _CATEGORY_RANK.get(name, len(_CATEGORY_RANK)))

    # -- COMMAND replies -------------------------------------------------------------

    def key_flags(self) -> tuple:
        """The flags of this command's keys where Redis's key specs do not say (a command
        Redis 7.0 lacks): RW and update for a write, RO and access for a read."""
        return ("RW", "update") if self.is_write else ("RO", "access")

    def info(self) -> list:
        """This command's entry in COMMAND / COMMAND INFO (Redis 7's ten fields)."""
        return [
            self.full_name, self.arity,
            OrderedSet(_status(f) for f in sorted(self.flags - _UNREPORTED, key=_flag_rank)),
            self.first_key, self.last_key, self.key_step,
            OrderedSet(_status(c) for c in self.acl_categories), [], self._key_specs(),
            [sub.info() for sub in self.listed_subcommands()],
        ]

    def listed_subcommands(self):
        """The subcommands COMMAND shows: none of what Redis has as one command (DEBUG)."""
        return () if self.one_command else self.subcommands.values()

    def _key_specs(self) -> OrderedSet:
        """Redis's key specs of this command, in Redis's order (RESP3 shows a set)."""
        specs = [spec.info() for spec in specs_of(self.full_name)]
        for spec in specs:
            spec["flags"] = OrderedSet(map(_status, spec["flags"]))
        return OrderedSet(specs or self._key_specs_of_positions())

    def _key_specs_of_positions(self) -> list[dict]:
        """Key specs made from the key positions, for a command Redis 7.0 lacks."""
        flags = OrderedSet(map(_status, self.key_flags()))
        key_specs = []
        if self.first_key:
            key_specs.append({
                "flags": flags,
                "begin_search": {"type": "index", "spec": {"index": self.first_key}},
                "find_keys": {"type": "range", "spec": {
                    "lastkey": self.last_key - self.first_key if self.last_key >= 0 else self.last_key,
                    "keystep": self.key_step, "limit": 0}},
            })
        if self.numkeys_at:
            key_specs.append({
                "flags": flags,
                "begin_search": {"type": "index", "spec": {"index": self.numkeys_at}},
                "find_keys": {"type": "keynum", "spec": {"keynumidx": 0, "firstkey": 1,
                                                         "keystep": 1}},
            })
        if self.keyword:
            word, start = self.keyword
            key_specs.append({
                "flags": flags,
                "begin_search": {"type": "keyword", "spec": {"keyword": word.decode(),
                                                             "startfrom": start}},
                "find_keys": {"type": "range", "spec": {"lastkey": -1, "keystep": 1,
                                                        "limit": 2}},
            })
        return key_specs

    def docs(self) -> dict:
        """This command's entry in COMMAND DOCS."""
        doc = {"summary": self.summary, "since": self.since, "group": self.group}
        if self.complexity:
            doc["complexity"] = self.complexity
        if self.arguments:
            doc["arguments"] = self.arguments
        if self.listed_subcommands():
            doc["subcommands"] = {sub.full_name: sub.docs() for sub in self.listed_subcommands()}
        return doc


# Command flags in the order Redis lists them (its flag bits' order).
_FLAG_ORDER = {name: rank for rank, name in enumerate(
    "write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor "
    "skip_slowlog asking fast no_auth may_replicate sentinel only_sentinel no_mandatory_keys "
    "protected module_getkeys module_no_cluster no_async_loading no_multi movablekeys "
    "allow_busy module_getchannels touches_arbitrary_keys".split())}


# Flags Redis 7 keeps to itself: COMMAND INFO does not list them.
_UNREPORTED = frozenset({"touches_arbitrary_keys", "may_replicate", "protected"})


def _flag_rank(name: str) -> tuple:
    return _FLAG_ORDER.get(name, len(_FLAG_ORDER)), name


def _status(text: str) -> SimpleString:
    return SimpleString(text)


class CommandTable:
    """All commands by lower-case name, with a second index by the exact bytes sent."""

    def __init__(self):
        self.commands: dict[str, Command] = {}
        self._by_bytes: dict[bytes, Command] = {}
        # The request loop's first try: the name exactly as sent, in lower or upper case.
        self.lookup_exact = self._by_bytes.get

    def add(self, cmd: Command, name: str | None = None) -> None:
        """Add `cmd` under its own name, or under `name` (rename-command)."""
        name = name or cmd.name
        if name in self.commands:
            raise ValueError(f"command {name} declared twice")
        self.commands[name] = cmd
        self._by_bytes[name.encode()] = cmd
        self._by_bytes[name.upper().encode()] = cmd

    def lookup(self, name: bytes) -> Command | None:
        cmd = self._by_bytes.get(name)
        if cmd is None:
            cmd = self._by_bytes.get(name.lower())
        return cmd

    def resolve(self, argv: list) -> Command | None:
        """The command `argv` would run, down to its subcommand when there is one (the
        container itself when the subcommand is unknown); None if unknown."""
        cmd = self.lookup(argv[0])
        if cmd is not None and cmd.subcommands and len(argv) > 1:
            cmd = cmd.subcommands.get(argv[1].decode("utf-8", "replace").lower(), cmd)
        return cmd

    def subset(self, keep) -> "CommandTable":
        """A table of the commands for which `keep(cmd)` is true (same Command objects)."""
        table = CommandTable()
        for cmd in self.commands.values():
            if keep(cmd):
                table.add(cmd)
        return table

    def renamed(self, renames: list[tuple[str, str]]) -> "CommandTable":
        """A copy where redis.conf's `rename-command old new` lines took effect: the
        command is found as `new` only, or not at all when `new` is empty (a way to turn
        off CONFIG, FLUSHALL...). ValueError, in Redis's words, for an unknown `old` or
        a `new` already taken."""
        by_name = dict(self.commands)
        for old, new in renames:
            cmd = by_name.pop(old.lower(), None)
            if cmd is None:
                raise ValueError("No such command in rename-command")
            if new:
                if new.lower() in by_name:
                    raise ValueError("Target command name already exists")
                by_name[new.lower()] = cmd
        table = CommandTable()
        for name, cmd in by_name.items():
            table.add(cmd, name)
        return table

    def __iter__(self):
        return iter(self.commands.values())

    def __len__(self):
        return len(self.commands)


TABLE = CommandTable()


def _parse_flags(flags: str) -> frozenset:
    names = frozenset(flags.split())
    unknown = names - FLAG_NAMES
    if unknown:
        raise ValueError(f"unknown command flags {sorted(unknown)}")
    return names


def command(name: str, *, arity: int, flags: str = "", keys: tuple = (0, 0, 0),
            numkeys_at: int = 0, keyword: tuple = (), option_keys: Callable | None = None,
            call_flags: Callable | None = None, group: str = "generic",
            since: str = "1.0.0", summary: str = "", complexity: str = "", syntax: str = "",
            acl: str = "", group_category: bool = True, run_handler: Callable | None = None):
    """Declare a top-level command handled by the decorated function."""
    def register(handler):
        TABLE.add(Command(name, handler, arity, _parse_flags(flags), *keys, group=group,
                          since=since, summary=summary, complexity=complexity,
                          syntax=syntax, acl=frozenset(acl.split()), numkeys_at=numkeys_at,
                          keyword=keyword, option_keys=option_keys, call_flags=call_flags,
                          group_category=group_category, run_handler=run_handler))
        return handler
    return register


def container(name: str, *, flags: str = "", group: str = "server", since: str = "1.0.0",
              summary: str = "", acl: str = "", handler=None, arity: int = -2,
              one_command: bool = False) -> None:
    """Declare a command made of subcommands (CLIENT, CONFIG...), with a HELP subcommand.
    `handler` runs when it is called alone (COMMAND does that; arity -1 allows it).
    `one_command`: Redis has it as one command (DEBUG), and counts its calls as such."""
    if one_command:
        # Redis answers an unknown subcommand, or a wrong count of arguments, as a
        # reply of the command (counted as a failed call, not a rejected one).
        def handler(client, argv):
            raise ErrorReply(f"ERR unknown subcommand or wrong number of arguments for "
                             f"'{argv[1].decode('utf-8', 'replace')[:128]}'. "
                             f"Try {name.upper()} HELP.")
    container_cmd = Command(name, handler, arity, _parse_flags(flags), group=group,
                            since=since, summary=summary, acl=frozenset(acl.split()),
                            group_category=False)
    container_cmd.one_command = one_command
    TABLE.add(container_cmd)

    def help_reply(client, argv):
        # Redis's layout (addReplyHelp, 7.2's words): a header, each subcommand with
        # lines about it in Redis's own words (help_texts.py), and HELP itself last.
        lines = [f"{name.upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                 *HELP_TEXTS[name], "HELP", "    Print this help."]
        return [SimpleString(line) for line in lines]

    subcommand(name, "help", arity=2, flags="loading stale", since="5.0.0", acl=acl,
               summary="Shows helpful text about the different subcommands.")(help_reply)


def subcommand(parent: str, name: str, *, arity: int, flags: str = "", keys: tuple = (0, 0, 0),
               since: str = "1.0.0", summary: str = "", complexity: str = "", syntax: str = "",
               acl: str = ""):
    """Declare PARENT NAME (e.g. CLIENT SETNAME); the parent must be declared first."""
    def register(handler):
        owner = TABLE.commands[parent]
        sub = Command(name, handler, arity, _parse_flags(flags), *keys, group=owner.group,
                      since=since, summary=summary, complexity=complexity, syntax=syntax,
                      acl=frozenset(acl.split()), parent=owner)
        owner.subcommands[name] = sub
        if owner.one_command:
            sub.counted_as = owner
        owner.take_careful_lane()
        return handler
    return register


# -- COMMAND DOCS arguments from a syntax line ---------------------------------------------

_TOKEN = re.compile(r"\.\.\.|[\[\]()|]|[A-Za-z0-9_:\-]+:?|\S")
ARGUMENT_TYPES = {"string", "integer", "double", "key", "pattern", "unix-time"}
_INTEGER_NAMES = {"count", "cursor", "start", "end", "stop", "index", "seconds",
                  "milliseconds", "numkeys", "offset", "numerator", "len", "db",
                  "destination-db", "index1", "index2", "rank", "pivot-index",
                  "unix-time-seconds", "unix-time-milliseconds", "increment", "decrement",
                  "limit", "numkeys", "length", "client-id", "id", "maxlen", "port",
                  "number-of-commands", "protover", "timeout-ms"}
_DOUBLE_NAMES = {"timeout", "score", "min", "max", "weight", "float-increment"}


def _guess_type(name: str) -> str:
    if name in ("key", "source", "destination", "newkey") or name.endswith("key"):
        return "key"
    if name == "pattern":
        return "pattern"
    if name in _INTEGER_NAMES:
        return "integer"
    if name in _DOUBLE_NAMES:
        return "double"
    return "string"


def parse_syntax(syntax: str) -> list[dict]:
    """Turn a syntax line (see the module docstring) into COMMAND DOCS arguments."""
    tokens = _TOKEN.findall(syntax)
    items, pos = _parse_sequence(tokens, 0, stop=())
    if pos != len(tokens):
        raise ValueError(f"bad syntax line {syntax!r} at {tokens[pos:]}")
    return items


def _parse_sequence(tokens, pos, stop):
    items = []
    while pos < len(tokens) and tokens[pos] not in stop:
        item, pos = _parse_item(tokens, pos)
        items.append(item)
    return _merge_token_arguments(items), pos


def _merge_token_arguments(items):
    # `EX seconds` is one argument: the name `seconds` introduced by the token EX.
    merged = []
    for item in items:
        previous = merged[-1] if merged else None
        if (previous is not None and previous["type"] == "pure-token" and "flags" not in previous
                and item["type"] not in ("pure-token", "oneof", "block") and "token" not in item):
            item = {"name": item["name"], "type": item["type"], "token": previous["token"],
                    **({"flags": item["flags"]} if "flags" in item else {})}
            merged[-1] = item
        else:
            merged.append(item)
    return merged


def _parse_item(tokens, pos):
    word = tokens[pos]
    if word in ("[", "("):
        closing = "]" if word == "[" else ")"
        pos += 1
        name = None
        if tokens[pos].endswith(":") and len(tokens[pos]) > 1:
            name, pos = tokens[pos][:-1], pos + 1
        alternatives = []
        while True:
            sequence, pos = _parse_sequence(tokens, pos, stop=("|", closing))
            alternatives.append(sequence)
            if tokens[pos] == closing:
                pos += 1
                break
            pos += 1                                       # the '|'
        if len(alternatives) > 1:
            arg = {"name": name or "choice", "type": "oneof",
                   "arguments": [_single(seq) for seq in alternatives]}
        elif len(alternatives[0]) == 1 and name is None:
            arg = dict(alternatives[0][0])
        else:
            arg = {"name": name or "block", "type": "block", "arguments": alternatives[0]}
        if word == "[":
            _add_flag(arg, "optional")
    else:
        pos += 1
        if word.isupper() or (word[:1].isupper() and "-" in word):
            arg = {"name": word.lower(), "type": "pure-token", "token": word}
        else:
            name, _, kind = word.partition(":")
            if kind and kind not in ARGUMENT_TYPES:
                raise ValueError(f"unknown argument type {kind!r} in {word!r}")
            arg = {"name": name, "type": kind or _guess_type(name)}
            if arg["type"] == "key":
                arg["key_spec_index"] = 0
    if pos < len(tokens) and tokens[pos] == "...":
        pos += 1
        _add_flag(arg, "multiple")
        if "token" in arg:
            _add_flag(arg, "multiple_token")
    return arg, pos


def _single(sequence):
    return sequence[0] if len(sequence) == 1 else {"name": "block", "type": "block",
                                                    "arguments": sequence}


def _add_flag(arg, flag):
    # Flags are status replies in Redis's COMMAND DOCS; redis-cli checks that.
    arg.setdefault("flags", []).append(SimpleString(flag))
