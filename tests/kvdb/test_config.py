"""redis.conf directives as Redis reads them (the parts CONFIG GET can't show alone)."""

from fromscratch.kvdb.config import Config


def test_save_directives_replace_then_add_and_an_empty_one_clears():
    config = Config()
    assert config["save"] == [(3600, 1), (300, 100), (60, 10000)]      # the defaults
    config.load_text("save 900 1\n")
    assert config["save"] == [(900, 1)]                  # the first replaces the defaults
    config.apply_directive("save", ["100", "100"], "--save")
    assert config["save"] == [(900, 1), (100, 100)]      # the next ones add theirs
    config.apply_directive("save", [""], "--save")
    assert config["save"] == []                          # an empty one removes them all
    config.apply_directive("save", ["60", "5"], "--save")
    assert config["save"] == [(60, 5)]


def test_user_directives_are_kept_for_the_acl():
    config = Config()
    config.load_text("user alice on >pw ~* +@all\n")
    config.apply_directive("user", ["bob", "on", "nopass"], "--user")
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
