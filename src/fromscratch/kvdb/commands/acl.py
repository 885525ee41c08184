"""ACL: users, their passwords and rights (see ../acl.py for the rules)."""

from __future__ import annotations

import secrets

from ...resp import ErrorReply
from ..acl import AclFileError, Denied, User, merge_selectors
from ..client import OK
from ..table import ACL_CATEGORIES, container, subcommand
from .args import parse_int, redact, subcommand_syntax_error

container("acl", group="server", since="6.0.0",
          summary="A container for Access List Control commands.")

_FLAGS = "admin noscript loading stale"


@subcommand("acl", "setuser", arity=-3, flags=_FLAGS, since="6.0.0",
            summary="Creates and modifies an ACL user and its rules.",
            complexity="O(N). Where N is the number of rules provided.", syntax="username [rule...]")
def acl_setuser(client, argv):
    kv = client.kv
    name_arg, *rules = redact(argv, 2)           # the rules may hold passwords
    if b" " in name_arg or b"\0" in name_arg:
        raise ErrorReply("ERR Usernames can't contain spaces or null characters")
    name = name_arg.decode("utf-8", "replace")
    old = kv.acl.users.get(name)
    user = old.copy() if old is not None else User(name, kv.acl)
    # a bad rule raises: nothing changes
    for rule in merge_selectors([rule.decode("utf-8", "replace") for rule in rules]):
        user.apply(rule)
    kv.acl.users[name] = user
    if name == "default":
        kv.acl.default = user
    for other in list(kv.clients.values()):
        if other.user is old:
            other.user = user                    # logged-in clients get the new rules
            if not user.may_keep(other.channels | other.shard_channels, other.patterns):
                _disconnect(other, client)
    return OK


def _disconnect(other, caller) -> None:
    """Close `other`'s connection: at once, or once its reply is written if it is the
    caller's."""
    if other is caller:
        other.close_after_reply = True
    else:
        other.close()


@subcommand("acl", "getuser", arity=3, flags=_FLAGS, since="6.0.0",
            summary="Lists the ACL rules of a user.",
            complexity="O(N). Where N is the number of password, command and pattern rules "
                       "that the user has.", syntax="username")
def acl_getuser(client, argv):
    user = client.kv.acl.users.get(argv[2].decode("utf-8", "replace"))
    return None if user is None else user.details()


@subcommand("acl", "deluser", arity=-3, flags=_FLAGS, since="6.0.0",
            summary="Deletes ACL users, and terminates their connections.",
            complexity="O(1) amortized time considering the typical user.",
            syntax="username...")
def acl_deluser(client, argv):
    kv = client.kv
    removed = 0
    for arg in argv[2:]:
        name = arg.decode("utf-8", "replace")
        if name == "default":
            raise ErrorReply("ERR The 'default' user cannot be removed")
        user = kv.acl.users.pop(name, None)
        if user is not None:
            removed += 1
            for other in list(kv.clients.values()):
                if other.user is user:
                    _disconnect(other, client)
    return removed


def _acl_file(client) -> str:
    if not client.kv.config["aclfile"]:
        raise ErrorReply("ERR This Redis instance is not configured to use an ACL file. You "
                         "may want to specify users via the ACL SETUSER command and then "
                         "issue a CONFIG REWRITE (assuming you have a Redis configuration "
                         "file set) in order to store users in the Redis configuration.")
    return client.kv.acl_file_path()


@subcommand("acl", "load", arity=2, flags=_FLAGS, since="6.0.0",
            summary="Reloads the rules from the configured ACL file.",
            complexity="O(N). Where N is the number of configured users.")
def acl_load(client, argv):
    kv = client.kv
    old_default = kv.acl.default
    try:
        kv.acl.load_file(_acl_file(client))
    except AclFileError as exc:
        raise ErrorReply(f"ERR {exc}") from None
    # As in Redis, every other user is made anew, so the clients logged in as one are
    # disconnected (this one too); those of the default user keep it, with its new rules.
    for other in list(kv.clients.values()):
        if other.user is old_default:
            other.user = kv.acl.default
        else:
            _disconnect(other, client)
    return OK


@subcommand("acl", "save", arity=2, flags=_FLAGS, since="6.0.0",
            summary="Saves the effective ACL rules in the configured ACL file.",
            complexity="O(N). Where N is the number of configured users.")
def acl_save(client, argv):
    try:
        client.kv.acl.save_file(_acl_file(client))
    except OSError:
        raise ErrorReply("ERR There was an error trying to save the ACLs. Please check the "
                         "server logs for more information") from None
    return OK


@subcommand("acl", "list", arity=2, flags=_FLAGS, since="6.0.0",
            summary="Dumps the effective rules in ACL file format.",
            complexity="O(N). Where N is the number of configured users.")
def acl_list(client, argv):
    return [user.describe().encode() for user in client.kv.acl.users.values()]


@subcommand("acl", "users", arity=2, flags=_FLAGS, since="6.0.0",
            summary="Lists all ACL users.", complexity="O(N). Where N is the number of "
                                                       "configured users.")
def acl_users(client, argv):
    return [name.encode() for name in client.kv.acl.users]


@subcommand("acl", "dryrun", arity=-4, flags=_FLAGS, since="7.0.0",
            summary="Simulates the execution of a command by a user, without executing the "
                    "command.", complexity="O(1).", syntax="username command [arg...]")
def acl_dryrun(client, argv):
    name = argv[2].decode("utf-8", "replace")
    user = client.kv.acl.users.get(name)
    if user is None:
        raise ErrorReply(f"ERR User '{name}' not found")
    target = argv[3:]
    cmd = client.kv.table.resolve(target)
    if cmd is None:
        raise ErrorReply(f"ERR Command '{target[0].decode('utf-8', 'replace')}' not found")
    cmd.check_arity(len(target))
    try:
        user.check(cmd, target)
    except Denied as denied:
        # The answer, not an error: what the refusal would be, naming what it refuses.
        return denied.explanation(verbose=True).encode()
    return OK


@subcommand("acl", "whoami", arity=2, flags="noscript loading stale", since="6.0.0",
            summary="Returns the authenticated username of the current connection.",
            complexity="O(1)")
def acl_whoami(client, argv):
    return client.user.name.encode()


@subcommand("acl", "cat", arity=-2, flags="noscript loading stale", since="6.0.0",
            summary="Lists the ACL categories, or the commands inside a category.",
            complexity="O(1) since the categories and commands are a fixed set.",
            syntax="[category]")
def acl_cat(client, argv):
    table = client.kv.table
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 2:
        return [name.encode() for name in ACL_CATEGORIES]
    category = "@" + argv[2].decode("utf-8", "replace").lower()
    if category.lstrip("@") not in ACL_CATEGORIES:
        raise ErrorReply(f"ERR Unknown category '{argv[2].decode('utf-8', 'replace')}'")
    return [each.full_name.encode() for cmd in table for each in (cmd, *cmd.listed_subcommands())
            if category in each.acl_categories]


@subcommand("acl", "genpass", arity=-2, flags="noscript loading stale", since="6.0.0",
            summary="Generates a pseudorandom, secure password that can be used to identify "
                    "ACL users.", complexity="O(1)", syntax="[bits:integer]")
def acl_genpass(client, argv):
    bits = parse_int(argv[2]) if len(argv) == 3 else 256
    if not 0 < bits <= 4096:
        raise ErrorReply("ERR ACL GENPASS argument must be the number of bits for the output "
                         "password, a positive number up to 4096")
    return secrets.token_hex((bits + 7) // 8)[: (bits + 3) // 4].encode()


@subcommand("acl", "log", arity=-2, flags=_FLAGS, since="6.0.0",
            summary="Lists recent security events generated due to commands rejected by "
                    "ACL rules.", complexity="O(N) with N being the number of entries shown.",
            syntax="[operation: count | RESET]")
def acl_log(client, argv):
    log = client.kv.acl.log
    if len(argv) == 2:
        return log.reply()
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if argv[2].upper() == b"RESET":
        log.reset()
        return OK
    return log.reply(max(parse_int(argv[2]), 0))
