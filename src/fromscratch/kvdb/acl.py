"""Users and what they may do: AUTH, requirepass and the basics of Redis ACLs.

A user has a state (on/off), passwords (kept as SHA-256 hex digests, compared in
constant time) or `nopass`, and selectors (Redis 7): each says the commands that may
be run, the key patterns that may be read and written and the pub/sub channels that
may be used. The root selector takes the rules given outside parentheses; each
`(rule rule...)` adds another; a call is allowed when one selector allows all of it.
Rules are applied in order, as `ACL SETUSER` gives them:

    on  off  >password  <password  #sha256  !sha256  nopass  resetpass
    +command  -command  +command|sub  +@category  -@category  allcommands  nocommands
    ~pattern  %R~pattern  %W~pattern  allkeys  resetkeys
    &pattern  allchannels  resetchannels      (selector rules)  clearselectors   reset

Command rules are turned at once into the set of command names the user may run
(subcommands as `parent|sub`), so checking a command costs one set lookup. The `default`
user is on, nopass, ~* &* +@all; `requirepass` sets its password, as in Redis. A new
user, and `reset`, get the channels `acl-pubsub-default` says (none, by default).

Users can also come from `user` lines (redis.conf, or an ACL file that ACL LOAD reads
and ACL SAVE writes), in ACL LIST's format: `user <name> <rule> <rule>...`.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import time
from collections import deque

from ..durable import write_file_atomically
from ..glob import compile_pattern
from ..resp import ErrorReply
from .table import ACL_CATEGORIES

PROTECTED_MODE_DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you may "
    b"adopt one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    b"the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    b"from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    b"Alternatively you can just disable the protected mode by editing the Redis configuration "
    b"file, and setting the protected mode option to 'no', and then restarting the server. 3) "
    b"If you started the server manually just for testing, restart it with the "
    b"'--protected-mode no' option. 4) Set up an authentication password for the default "
    b"user. NOTE: You only need to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n")
CHANNEL_COMMANDS = {"subscribe", "ssubscribe", "publish", "spublish", "psubscribe"}
# Redis's DEBUG is one command taking its operation as first argument, not a container:
# there `+debug|digest` allows a first argument, and so it does here, though our DEBUG
# dispatches to subcommands (rules on those still work: they are that first argument).
FIRST_ARG_COMMANDS = {"debug"}


def digest(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


READ, WRITE = 1, 2                      # a key pattern's permissions (%R~, %W~, ~)
# How relevant a refusal is, when no selector allows a call: the answer names the most
# relevant refusal of all the selectors' (then the one about the latest argument).
_RELEVANCE = {"command": 1, "key": 2, "channel": 4}


class Selector:
    """What may be run and touched: commands, key patterns (each readable, writable or
    both: %R~, %W~, ~) and pub/sub channels. A user's rights are its root selector's
    (the rules given outside parentheses) and those of any other selectors it has
    (`(rule rule...)`): a call is allowed when one selector allows all of it."""

    def __init__(self, acl: "Acl"):
        self.table = acl.table
        self.allowed: set[str] = set()          # full command names
        self.command_rules: list[str] = ["-@all"]   # as given, for ACL LIST
        self.first_args: dict[str, set[str]] = {}   # command -> the first arguments allowed
        self.key_patterns: dict[bytes, int] = {}    # pattern -> READ | WRITE
        self.all_keys = False
        self.channel_patterns: list[bytes] = []
        self.all_channels = acl.pubsub_default_all

    def copy(self) -> "Selector":
        clone = copy.copy(self)
        for name in ("allowed", "command_rules", "key_patterns", "channel_patterns"):
            setattr(clone, name, copy.copy(getattr(self, name)))
        clone.first_args = {name: set(args) for name, args in self.first_args.items()}
        return clone

    def apply(self, rule: str) -> None:
        lowered = rule.lower()
        if lowered == "allkeys" or rule == "~*":
            self.all_keys, self.key_patterns = True, {}
        elif lowered == "resetkeys":
            self.all_keys, self.key_patterns = False, {}
        elif rule[0] in "~%":
            if self.all_keys:
                raise RuleError(rule, "Adding a pattern after the * pattern (or the 'allkeys' "
                                      "flag) is not valid and does not have any effect. Try "
                                      "'resetkeys' to start with an empty list of patterns")
            permissions, pattern = _key_rule(rule)
            self.key_patterns[pattern] = self.key_patterns.get(pattern, 0) | permissions
        elif lowered == "allchannels" or rule == "&*":
            self.all_channels, self.channel_patterns = True, []
        elif lowered == "resetchannels":
            self.all_channels, self.channel_patterns = False, []
        elif rule.startswith("&"):
            if self.all_channels:
                raise RuleError(rule, "Adding a pattern after the * pattern (or the "
                                      "'allchannels' flag) is not valid and does not have any "
                                      "effect. Try 'resetchannels' to start with an empty "
                                      "list of channels")
            pattern = _checked_pattern(rule, rule[1:])
            if pattern not in self.channel_patterns:                # once is enough
                self.channel_patterns.append(pattern)
        elif lowered in ("allcommands", "+@all", "nocommands", "-@all"):
            everything = lowered in ("allcommands", "+@all")
            self.allowed = self._all_names() if everything else set()
            self.first_args = {}
            self.command_rules = ["+@all" if everything else "-@all"]
        elif rule[:2] in ("+@", "-@"):
            self._commands(rule[0], self._category(lowered[1:], rule), lowered)
        elif rule[:1] in ("+", "-") and len(rule) > 1:
            self._command_rule(rule[0], lowered[1:], rule)
        else:
            raise RuleError(rule, "Syntax error")

    def _commands(self, sign: str, names: set[str], rule: str) -> None:
        if sign == "+":
            self.allowed |= names
        else:
            self.allowed -= names
            for name in names:
                self.first_args.pop(name, None)
        self.command_rules.append(rule)

    def _command_rule(self, sign: str, name: str, rule: str) -> None:
        """+command, -command, +command|subcommand, -command|subcommand, and +command|arg
        for a command without subcommands: the one first argument it may be run with
        (how Redis lets a user SELECT only database 0)."""
        head, _, child = name.rpartition("|") if "|" in name else (name, "", "")
        parent, _, sub = head.partition("|")
        cmd = self.table.commands.get(parent)
        if cmd is not None and sub:
            # command|subcommand|argument: only whole commands take a first argument
            if sub in cmd.subcommands:
                raise RuleError(rule, "Allowing first-arg of a subcommand is not supported")
            cmd = None
        if cmd is None or (child == "" and "|" in name):
            raise RuleError(rule, "Unknown command or category name in ACL")
        if child and (not cmd.subcommands or cmd.name in FIRST_ARG_COMMANDS):
            if sign == "-":
                raise RuleError(rule, "Unknown command or category name in ACL")
            self.first_args.setdefault(cmd.full_name, set()).add(child)
            self.command_rules.append(rule.lower())
            return
        if child and child not in cmd.subcommands:
            raise RuleError(rule, "Unknown command or category name in ACL")
        names = ({cmd.subcommands[child].full_name} if child
                 else {cmd.full_name, *(each.full_name for each in cmd.subcommands.values())})
        before = set(self.allowed)
        # A rule on a whole command replaces the earlier rules on it and its subcommands,
        # so that the rules read back (ACL GETUSER) stay short and say what they do.
        if not child:
            self.command_rules = [r for r in self.command_rules
                                  if r[1:].split("|")[0] != cmd.full_name]
        self._commands(sign, names, rule.lower())
        if self.allowed == before and child:
            self.command_rules.pop()                    # it changed nothing: not worth saying

    def _all_names(self) -> set[str]:
        return {each.full_name for cmd in self.table for each in (cmd, *cmd.subcommands.values())}

    def _category(self, name: str, rule: str) -> set[str]:
        names = {each.full_name for cmd in self.table
                 for each in (cmd, *cmd.subcommands.values()) if name in each.acl_categories}
        if not names and name[1:] not in ACL_CATEGORIES:
            raise RuleError(rule, "Unknown command or category name in ACL")
        return names

    # -- checks ------------------------------------------------------------------------------

    @property
    def unrestricted(self) -> bool:
        return self.all_keys and self.all_channels and self.command_rules == ["+@all"]

    def refusal(self, cmd, argv: list) -> tuple[int, str, bytes | str] | None:
        """Why this selector does not allow `cmd` with these arguments, as (the index of
        the argument refused, the reason: command, key or channel, and what it refuses),
        or None when it allows it."""
        if cmd.full_name not in self.allowed and not (
                len(argv) > 1 and argv[1].decode("utf-8", "replace").lower()
                in self.first_args.get((cmd.parent or cmd).full_name, ())):
            return 0, "command", cmd.full_name
        if not self.all_keys:
            patterns = [(compile_pattern(pattern), permissions)
                        for pattern, permissions in self.key_patterns.items()]
            for index, flags in cmd.keys_and_flags(argv):
                if "not_key" in flags:          # a shard channel: checked as a channel
                    continue
                needed = _permissions(flags)
                if not any(permissions & needed == needed and match(argv[index])
                           for match, permissions in patterns):
                    return index, "key", argv[index]
        if not self.all_channels and cmd.name in CHANNEL_COMMANDS:
            channels = argv[1:2] if cmd.name in ("publish", "spublish") else argv[1:]
            for index, channel in enumerate(channels, 1):
                if not self.may_use_channel(channel, cmd.name == "psubscribe"):
                    return index, "channel", channel
        return None

    def may_use_channel(self, channel: bytes, is_pattern: bool = False) -> bool:
        if self.all_channels:
            return True
        if is_pattern:
            return channel in self.channel_patterns        # patterns match literally
        return any(compile_pattern(p)(channel) for p in self.channel_patterns)

    # -- descriptions --------------------------------------------------------------------

    def keys_text(self) -> str:
        if self.all_keys:
            return "~*"
        return " ".join(("~" if permissions == READ | WRITE else
                         "%R~" if permissions == READ else "%W~") + pattern.decode()
                        for pattern, permissions in self.key_patterns.items())

    def channels_text(self, listed: bool = False) -> str:
        """The channel rules; `listed` for ACL LIST, which starts a list with resetchannels."""
        if self.all_channels:
            return "&*"
        patterns = [f"&{p.decode()}" for p in self.channel_patterns]
        return " ".join(["resetchannels", *patterns] if listed else patterns)

    def describe(self) -> str:
        """The rules that make this selector, as ACL LIST shows them."""
        parts = [self.keys_text(), self.channels_text(listed=True),
                 *(self.command_rules or ["-@all"])]
        return " ".join(part for part in parts if part)

    def details(self) -> dict:
        return {"commands": " ".join(self.command_rules or ["-@all"]), "keys": self.keys_text(),
                "channels": self.channels_text()}


def _key_rule(rule: str) -> tuple[int, bytes]:
    """(permissions, pattern) of `~pattern` (read and write) or `%R~pattern`, `%W~...`,
    `%RW~...`."""
    if rule[0] == "~":
        permissions, offset = READ | WRITE, 1
    else:
        permissions, offset = 0, 1
        while offset < len(rule):
            letter = rule[offset].upper()
            if letter == "R" and not permissions & READ:
                permissions |= READ
            elif letter == "W" and not permissions & WRITE:
                permissions |= WRITE
            elif rule[offset] == "~":
                offset += 1
                break
            else:
                raise RuleError(rule, "Syntax error")
            offset += 1
    if not permissions:
        raise RuleError(rule, "Syntax error")
    return permissions, _checked_pattern(rule, rule[offset:])


def _checked_pattern(rule: str, pattern: str) -> bytes:
    """A key or channel pattern, which can't hold a space or a NUL."""
    if " " in pattern or "\0" in pattern:
        raise RuleError(rule, "Syntax error")
    return pattern.encode()


def _permissions(key_flags) -> int:
    """What a key's flags (its key spec's) ask of a key pattern: read for `access`, write
    for an insert, a delete or an update."""
    needed = READ if "access" in key_flags else 0
    if {"insert", "delete", "update"} & set(key_flags):
        needed |= WRITE
    return needed


class User:
    """A user: on or off, its passwords, its root selector and other selectors."""

    def __init__(self, name: str, acl: "Acl"):
        self.name = name
        self.acl = acl
        self.enabled = False
        self.nopass = False
        self.passwords: set[str] = set()
        self.root = Selector(acl)
        self.selectors: list[Selector] = []

    def copy(self) -> "User":
        clone = User(self.name, self.acl)
        clone.enabled, clone.nopass = self.enabled, self.nopass
        clone.passwords = set(self.passwords)
        clone.root = self.root.copy()
        clone.selectors = [selector.copy() for selector in self.selectors]
        return clone

    # -- rules ---------------------------------------------------------------------------

    def apply(self, rule: str) -> None:
        lowered = rule.lower()
        if not rule:
            return                                  # an empty rule does nothing, as in Redis
        if lowered == "on":
            self.enabled = True
        elif lowered == "off":
            self.enabled = False
        elif lowered == "nopass":
            self.nopass, self.passwords = True, set()
        elif lowered == "resetpass":
            self.nopass, self.passwords = False, set()
        elif rule[0] in ">#":
            self.passwords.add(digest(rule[1:].encode()) if rule[0] == ">"
                               else _checked_hash(rule))
            self.nopass = False
        elif rule[0] in "<!":
            stored = digest(rule[1:].encode()) if rule[0] == "<" else _checked_hash(rule)
            if stored not in self.passwords:
                raise RuleError(rule, "The password you are trying to remove from the user "
                                      "does not exist")
            self.passwords.discard(stored)
        elif rule[0] == "(" and rule[-1] == ")":
            selector = Selector(self.acl)
            try:
                for inner in rule[1:-1].split(" "):
                    if inner:
                        selector.apply(inner)
            except RuleError as error:             # told about as the whole selector
                raise RuleError(rule, error.reason) from None
            self.selectors.append(selector)
        elif lowered == "clearselectors":
            self.selectors = []
        elif lowered == "reset":
            channels = "allchannels" if self.acl.pubsub_default_all else "resetchannels"
            for step in ("resetpass", "resetkeys", channels, "off", "clearselectors", "-@all"):
                self.apply(step)
        else:
            self.root.apply(rule)

    # -- checks ------------------------------------------------------------------------------

    @property
    def unrestricted(self) -> bool:
        return self.enabled and self.root.unrestricted

    def may_read_any_key(self, cmd, argv: list) -> bool:
        """Whether a selector that allows this call may also read every key (SORT's BY
        and GET patterns name keys ACL can't check before the command runs)."""
        return any((selector.all_keys or selector.key_patterns.get(b"*", 0) & READ)
                   and selector.refusal(cmd, argv) is None
                   for selector in (self.root, *self.selectors))

    @property
    def needs_no_auth(self) -> bool:
        """A new connection (or RESET) starts authenticated as this user, the default one,
        only when it is on and has no password."""
        return self.enabled and self.nopass

    def check_password(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        candidate = digest(password)
        found = False
        for stored in self.passwords:             # compare with every one: constant time
            found |= hmac.compare_digest(stored, candidate)
        return found

    def check(self, cmd, argv: list) -> None:
        """Raise NOPERM unless one of this user's selectors allows `cmd` with these
        arguments; the refusal raised is the most relevant of theirs, as in Redis."""
        worst = None
        for selector in (self.root, *self.selectors):
            refusal = selector.refusal(cmd, argv)
            if refusal is None:
                return
            index, reason, refused = refusal
            rank = (_RELEVANCE[reason], index)
            if worst is None or rank > worst[0]:
                worst = rank, reason, refused
        raise Denied(worst[1], worst[2], self.name)

    def may_use_channel(self, channel: bytes, is_pattern: bool = False) -> bool:
        return any(selector.may_use_channel(channel, is_pattern)
                   for selector in (self.root, *self.selectors))

    def may_keep(self, channels, patterns) -> bool:
        """Whether a client subscribed to these may stay so under this user's rights (when
        ACL SETUSER takes a channel away, its subscribers are disconnected)."""
        return (all(self.may_use_channel(channel) for channel in channels)
                and all(self.may_use_channel(pattern, True) for pattern in patterns))

    # -- descriptions --------------------------------------------------------------------

    def describe(self) -> str:
        """This user as ACL LIST shows it."""
        parts = [f"user {self.name}", "on" if self.enabled else "off"]
        parts += ["nopass"] if self.nopass else [f"#{h}" for h in sorted(self.passwords)]
        parts.append(self.root.describe())
        parts += [f"({selector.describe()})" for selector in self.selectors]
        return " ".join(part for part in parts if part)

    def details(self) -> dict:
        """ACL GETUSER's reply."""
        flags = ["on" if self.enabled else "off"] + (["nopass"] if self.nopass else [])
        return {"flags": flags, "passwords": sorted(self.passwords), **self.root.details(),
                "selectors": [selector.details() for selector in self.selectors]}


def merge_selectors(rules: list[str]) -> list[str]:
    """Rules as given, with a selector split over several (`(+get`, `~x)`) joined back
    into one, as Redis joins them."""
    merged: list[str] = []
    opened = None
    for rule in rules:
        if opened is not None:
            opened += " " + rule
            if rule.endswith(")"):
                merged.append(opened)
                opened = None
        elif rule.startswith("(") and not rule.endswith(")"):
            opened = rule
        else:
            merged.append(rule)
    if opened is not None:
        raise ErrorReply(f"ERR Unmatched parenthesis in acl selector starting at '{opened}'.")
    return merged


class RuleError(ErrorReply):
    """A rule ACL SETUSER refuses, and why (`reason`: what an ACL file's error says)."""

    def __init__(self, rule: str, reason: str):
        super().__init__(f"ERR Error in ACL SETUSER modifier '{rule}': {reason}")
        self.reason = reason


def _checked_hash(rule: str) -> str:
    """The SHA-256 hex digest of a #hash or !hash rule, which must be one exactly."""
    text = rule[1:]
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise RuleError(rule, "The password hash must be exactly 64 characters and contain "
                              "only lowercase hexadecimal characters")
    return text


class Denied(ErrorReply):
    """A NOPERM refusal of `username`, carrying what ACL LOG records of it: the reason
    (command, key or channel) and the object refused, as text (the command's name, the
    key, the channel). In Redis 7.2's words; 7.0 named no user ("NOPERM this user has no
    permissions to run the 'get' command", "...to access one of the keys used as
    arguments")."""

    def __init__(self, reason: str, refused: bytes | str, username: str):
        self.reason = reason
        self.refused = (refused.decode("utf-8", "replace") if isinstance(refused, bytes)
                        else refused)
        self.username = username
        super().__init__("NOPERM " + self.explanation(verbose=False))

    def explanation(self, verbose: bool) -> str:
        """The refusal in words (Redis's getAclErrorMessage); `verbose`, as ACL DRYRUN
        has it, names the key or channel too."""
        if self.reason == "command":
            return (f"User {self.username} has no permissions to run the '{self.refused}' "
                    f"command")
        if verbose:
            return (f"User {self.username} has no permissions to access the "
                    f"'{self.refused}' {self.reason}")
        return f"No permissions to access a {self.reason}"


class AclLog:
    """ACL LOG: the latest refusals, newest first. A refusal like a recent one (same
    reason, context, object and user, within a minute) counts on that entry instead of
    adding one, as Redis groups them."""

    GROUPING_MS = 60_000

    def __init__(self):
        self.entries: deque[dict] = deque()
        self.next_id = 0

    def record(self, reason: str, context: str, refused: str, username: str,
               client_info: str, max_len: int) -> None:
        now = int(time.time() * 1000)
        for entry in self.entries:
            if (entry["reason"], entry["context"], entry["object"], entry["username"]) == (
                    reason, context, refused, username) and now - entry["updated"] < self.GROUPING_MS:
                self.entries.remove(entry)
                break
        else:
            entry = {"count": 0, "reason": reason, "context": context, "object": refused,
                     "username": username, "entry-id": self.next_id, "created": now}
            self.next_id += 1
        entry["count"] += 1
        entry["updated"] = now
        entry["client-info"] = client_info
        self.entries.appendleft(entry)
        while len(self.entries) > max_len:
            self.entries.pop()

    def reply(self, count: int | None = None) -> list[dict]:
        now = int(time.time() * 1000)
        entries = list(self.entries)[:count] if count is not None else self.entries
        return [{"count": e["count"], "reason": e["reason"], "context": e["context"],
                 "object": e["object"], "username": e["username"],
                 "age-seconds": (now - e["created"]) / 1000, "client-info": e["client-info"],
                 "entry-id": e["entry-id"], "timestamp-created": e["created"],
                 "timestamp-last-updated": e["updated"]} for e in entries]

    def reset(self) -> None:
        self.entries.clear()


class AclFileError(Exception):
    """Users that can't be loaded: the message says where and why, in Redis's words."""


class Acl:
    def __init__(self, table):
        self.table = table
        self.log = AclLog()
        self.pubsub_default_all = False          # acl-pubsub-default: resetchannels
        self.users: dict[str, User] = {}
        self.default = self.users["default"] = self._new_default()

    def _new_default(self) -> User:
        return self.unrestricted_user("default")

    def unrestricted_user(self, name: str) -> User:
        """A user allowed everything, with no password: the default user as Redis
        starts it, and the one the server's own clients act as (replaying the
        append-only file, following a primary), as Redis's have no user to check."""
        user = User(name, self)
        for rule in ("on", "nopass", "~*", "&*", "+@all"):
            user.apply(rule)
        return user

    def user(self, name: str) -> User:
        """The user called `name`, created (off, no rights) if new."""
        if name not in self.users:
            self.users[name] = User(name, self)
        return self.users[name]

    # -- user lines: redis.conf's `user` directives and ACL files -------------------------

    def load_lines(self, lines: list[str], source: str) -> None:
        """Make the users `user <name> <rule>...` lines describe (blank lines skipped),
        with a default user if none is given, the only users; or (AclFileError, with
        every problem found) change nothing."""
        users: dict[str, User] = {}
        errors = []
        for number, line in enumerate(lines, 1):
            line = line.strip(" \t\r\n")
            if not line:
                continue
            words = line.split(" ")
            if words[0] != "user" or len(words) < 2:
                errors.append(f"{source}:{number} should start with user keyword followed "
                              f"by the username. ")
                continue
            name = words[1]
            if name in users:
                errors.append(f"WARNING: Duplicate user '{name}' found on line {number}. ")
                continue
            user = users[name] = User(name, self)
            try:
                for rule in merge_selectors([word.strip("\t\r\n") for word in words[2:]]):
                    user.apply(rule)
            except ErrorReply as error:
                reason = error.reason if isinstance(error, RuleError) else error.message
                errors.append(f"{source}:{number}: {reason}. ")
        if errors:
            raise AclFileError("".join(errors))
        if "default" not in users:
            users["default"] = self._new_default()
        self.users, self.default = users, users["default"]

    def load_file(self, path: str) -> None:
        """ACL LOAD: every user from the file, or (AclFileError) no change at all."""
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                lines = handle.read().split("\n")
        except OSError as exc:
            raise AclFileError(f"Error loading ACLs, opening file '{path}': "
                               f"{exc.strerror}") from None
        try:
            self.load_lines(lines, path)
        except AclFileError as exc:
            raise AclFileError(f"{exc}WARNING: ACL errors detected, no change to the "
                               f"previously active ACL rules was performed") from None

    def save_file(self, path: str) -> None:
        """ACL SAVE: the users in ACL LIST's format, replacing the file in one rename."""
        text = "".join(user.describe() + "\n" for user in self.users.values()).encode()
        write_file_atomically(path, lambda handle: handle.write(text))

    def set_default_password(self, password: str) -> None:
        """requirepass: the default user's only password, or nopass when empty."""
        self.default.apply("resetpass")
        self.default.apply(f">{password}" if password else "nopass")

    def authenticate(self, name: bytes, password: bytes) -> User | None:
        user = self.users.get(name.decode("utf-8", "replace"))
        if user is None:
            digest(password)                        # the same work either way
            return None
        return user if user.check_password(password) else None
