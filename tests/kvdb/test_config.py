"""redis.conf directives as Redis reads them (the parts CONFIG GET can't show alone)."""

import pytest

from fromscratch.kvdb.config import (Config, ConfigError, parse_command_line, quote_arg,
                                     split_args)
from fromscratch.kvdb import commands  # noqa: F401  (fills the command table)
from fromscratch.kvdb.table import TABLE


def test_save_directives_replace_then_add_and_an_empty_one_clears():
    config = Config()
    assert config["save"] == [(3600, 1), (300, 100), (60, 10000)]      # the defaults
    config.load_text("save 900 1\n")
    assert config["save"] == [(900, 1)]                  # the first replaces the defaults
    config.apply_directive("save", ["100", "100"])
    assert config["save"] == [(900, 1), (100, 100)]      # the next ones add theirs
    config.apply_directive("save", [""])
    assert config["save"] == []                          # an empty one removes them all
    config.apply_directive("save", ["60", "5"])
    assert config["save"] == [(60, 5)]


def test_user_directives_are_kept_for_the_acl():
    config = Config()
    config.load_text("user alice on >pw ~* +@all\n")
    config.apply_directive("user", ["bob", "on", "nopass"])
    assert config.user_lines == ["user alice on >pw ~* +@all", "user bob on nopass"]


def test_a_forced_rewrite_of_every_parameter_reads_back_the_same(tmp_path):
    """DEBUG CONFIG-REWRITE-FORCE-ALL: every parameter written, defaults included, and
    the file read back gives every value as it was."""
    path = str(tmp_path / "redis.conf")
    config = Config(path)
    config.set("maxmemory", "10mb")
    config.set("save", "900 1 300 10")
    config.set("notify-keyspace-events", "KEA")
    config.rewrite([], force_all=True)
    written = open(path).read().splitlines()
    assert len(written) > 100                          # defaults too, not only changes
    again = Config(path)
    again.load_file(path)
    assert again.rendered() == config.rendered()


@pytest.mark.parametrize("line, words", [
    ("a b  c", ["a", "b", "c"]),
    ('a "b c" d', ["a", "b c", "d"]),
    ("x 'it\\'s' y", ["x", "it's", "y"]),
    ('"a\\x41\\n\\t\\q"', ["aA\n\tq"]),
    ('ab"cd" e', ["abcd", "e"]),
    ('save ""', ["save", ""]),
    ("   ", []),
])
def test_config_lines_split_as_redis_splits_them(line, words):
    assert split_args(line) == words


@pytest.mark.parametrize("line", ['"a"b', '"abc', "'abc", "'a'b"])
def test_unbalanced_quotes_are_refused(line):
    with pytest.raises(ValueError):
        split_args(line)
    with pytest.raises(ConfigError, match="Unbalanced quotes"):
        Config().load_text(f"logfile {line}")


def test_quoted_arguments_read_back_the_same():
    for text in ["", "plain", "two words", 'q"uote', "back\\slash", "new\nline", "h\u00e9",
                 "\x01\x7f"]:
        assert split_args(quote_arg(text)) == [text]


@pytest.mark.parametrize("argv, lines", [
    (["--port", "6380", "--loglevel"], 'port "6380" \nloglevel '),
    (["--port", "6379", "6380"], 'port "6379" "6380" '),
    (["--port", "--loglevel", "verbose"], 'port "--loglevel" "verbose" '),
    (["--maxmemory 700mb", "--loglevel", "debug"], 'maxmemory 700mb \nloglevel "debug" '),
    (["--save"], 'save ""'),
    (["--host", "0.0.0.0"], 'bind "0.0.0.0" '),
    (["--save", "--port", "1"], 'save ""\nport "1" '),
])
def test_the_command_line_becomes_config_lines_as_in_redis_server(argv, lines):
    assert parse_command_line(argv) == (None, False, lines)


def test_a_config_file_comes_first_and_dash_reads_stdin():
    assert parse_command_line(["redis.conf", "--port", "1"]) == ("redis.conf", False,
                                                                 'port "1" ')
    assert parse_command_line(["-"]) == (None, True, "")
    assert parse_command_line(["redis.conf", "--port", "1", "-"])[1] is True


def test_errors_name_the_line_and_the_reason():
    with pytest.raises(ConfigError) as error:
        Config().load_text('# a comment\nport "6379" "6380"')
    assert str(error.value) == ("Reading the configuration file, at line 2\n"
                                ">>> 'port \"6379\" \"6380\"'\nwrong number of arguments")
    with pytest.raises(ConfigError, match="Bad directive"):
        Config().load_text("no-such-directive 1")
    config = Config()
    config.load_text("list-max-ziplist-entries 10\nsave \"60 1 300 10\"")  # old and ignored
    assert config["save"] == [(60, 1), (300, 10)]                         # several in one


def test_rename_command_renames_or_removes_commands():
    config = Config()
    config.load_text('rename-command config c0nf1g\nrename-command flushall ""')
    table = TABLE.renamed(config.renamed_commands)
    assert table.lookup(b"c0nf1g") is TABLE.lookup(b"config")
    assert table.lookup(b"CONFIG") is None and table.lookup(b"flushall") is None
    with pytest.raises(ValueError, match="No such command"):
        TABLE.renamed([("nosuch", "x")])
    with pytest.raises(ValueError, match="already exists"):
        TABLE.renamed([("get", "set")])


def test_unixsocketperm_is_octal_as_in_redis():
    config = Config()
    config.set("unixsocketperm", "770", at_startup=True)
    assert config["unixsocketperm"] == 0o770
    assert config.render("unixsocketperm") == "770"
    with pytest.raises(ConfigError, match="couldn't be parsed as an octal number"):
        config.set("unixsocketperm", "8", at_startup=True)
    with pytest.raises(ConfigError, match="between 0 and 777 inclusive"):
        config.set("unixsocketperm", "1000", at_startup=True)
