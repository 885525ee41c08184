"""protocol_specs/resp.md lists exactly the commands the table declares."""

import os
import re

from fromscratch.kvdb import commands  # noqa: F401  (fills the table)
from fromscratch.kvdb.table import TABLE

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "protocol_specs", "resp.md")


def listed_commands() -> set[str]:
    with open(SPEC, encoding="utf-8") as handle:
        text = handle.read()
    section = text.split("## 7. Commands", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("- **"):
            body = line.split(":", 1)[1]
            for parent, subs in re.findall(r"([A-Z][A-Z_-]*)(?: \(([^)]*)\))?", body):
                names.add(parent.lower())
                for sub in re.findall(r"[A-Z][A-Z_-]*", subs or ""):
                    names.add(f"{parent.lower()}|{sub.lower()}")
    return names


def declared_commands() -> set[str]:
    return {each.full_name for cmd in TABLE for each in (cmd, *cmd.subcommands.values())}


def test_every_declared_command_is_documented():
    assert declared_commands() - listed_commands() == set()


def test_every_documented_command_exists():
    assert listed_commands() - declared_commands() == set()
