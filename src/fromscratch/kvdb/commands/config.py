"""CONFIG GET, SET, RESETSTAT and REWRITE (see ../config.py for the parameters)."""

from __future__ import annotations

from ...glob import compile_pattern
from ...resp import ErrorReply
from ..client import LOADING, OK
from ..config import ConfigError, find
from ..table import container, subcommand
from .args import redact

container("config", group="server", since="2.0.0",
          summary="A container for server configuration commands.")


@subcommand("config", "get", arity=-3, flags="admin noscript loading stale", since="2.0.0",
            summary="Returns the effective values of configuration parameters.",
            complexity="O(N) when N is the number of configuration parameters provided",
            syntax="parameter...")
def config_get(client, argv):
    config = client.kv.config
    found = {}
    for pattern in argv[2:]:
        pattern = pattern.lower()
        param = find(pattern.decode("utf-8", "replace"))
        if param is not None:                # a name: even a hidden parameter
            found[pattern] = config.render(pattern.decode()).encode()
            continue
        match = compile_pattern(pattern)
        for name, value in config.rendered().items():
            if match(name.encode()) is not None:
                found[name.encode()] = value.encode()
    return found


@subcommand("config", "set", arity=-4, flags="admin noscript loading stale", since="2.0.0",
            summary="Sets configuration parameters in-flight.",
            complexity="O(N) when N is the number of configuration parameters provided",
            syntax="(data: parameter value)...")
def config_set(client, argv):
    config = client.kv.config
    if len(argv) % 2:
        raise ErrorReply("ERR wrong number of arguments for 'config|set' command")
    pairs = []
    seen = set()
    for at in range(2, len(argv), 2):
        name_arg, value_arg = argv[at], argv[at + 1]
        name = name_arg.decode("utf-8", "replace")
        param = find(name)
        if param is not None and param.sensitive:
            redact(argv, at + 1, at + 2)
        if param is None:
            raise ErrorReply(f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
        if param.protected and not client.kv.allows_protected_config(client):
            raise ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') "
                             f"- can't set protected config")
        if param.deny_loading and client.kv.loading:
            raise ErrorReply(LOADING)
        if param.name in seen:
            raise ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') "
                             f"- duplicate parameter")
        seen.add(param.name)
        pairs.append((name, value_arg.decode("utf-8", "replace")))
    try:
        config.set_many(pairs)                  # all or nothing, as in Redis 7
    except ConfigError as exc:
        raise ErrorReply(f"ERR CONFIG SET failed (possibly related to argument "
                         f"'{exc.name}') - {exc}") from None
    return OK


@subcommand("config", "resetstat", arity=2, flags="admin noscript loading stale",
            since="2.0.0", summary="Resets the server's statistics.", complexity="O(1)")
def config_resetstat(client, argv):
    client.kv.reset_stats()
    return OK


@subcommand("config", "rewrite", arity=2, flags="admin noscript loading stale",
            since="2.8.0", summary="Persists the effective configuration to file.",
            complexity="O(1)")
def config_rewrite(client, argv):
    try:
        rewrite_config_file(client.kv)
    except OSError as exc:
        raise ErrorReply(f"ERR Rewriting config file: {exc}") from None
    return OK


def rewrite_config_file(kv, force_all: bool = False) -> None:
    """Write the configuration back to its file, with the users unless they live in an
    aclfile (see Config.rewrite). Raises OSError."""
    users = [] if kv.config["aclfile"] else [user.describe() for user in kv.acl.users.values()]
    kv.config.rewrite(users, force_all)
