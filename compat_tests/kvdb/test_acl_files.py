"""Users from an ACL file (aclfile, ACL LOAD, ACL SAVE) and from `user` directives, and
acl-pubsub-default: each test starts its own server, ours or a real redis-server."""

import subprocess
import sys

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from compat_tests.servers import SOURCE, free_port

USERS = """user alice on allcommands allkeys &* >alice
user bob on -@all +@set +acl ~set* &* >bob
user default on nopass ~* &* +@all
"""


def client(server, **options) -> redis.Redis:
    return redis.Redis(port=server.port, retry=Retry(NoBackoff(), 0),
                       single_connection_client=True, **options)


def test_users_come_from_the_acl_file_and_go_back_to_it(start, tmp_path):
    (tmp_path / "users.acl").write_text(USERS)
    server = start("--aclfile", "users.acl")       # found in `dir`, as Redis finds it
    admin = client(server)
    assert sorted(admin.acl_users()) == ["alice", "bob", "default"]
    bob = client(server, username="bob", password="bob")
    assert bob.sadd("set", 1, 2, 3) == 3
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.set("key", "value")

    admin.acl_setuser("eve", enabled=True, passwords=["+eve"], commands=["+get"],
                      keys=["*"])
    assert admin.acl_save()
    saved = (tmp_path / "users.acl").read_text()
    assert "user eve on #" in saved and "+get" in saved

    # ACL LOAD makes every user anew: their clients are disconnected, the default
    # user's keep going.
    assert admin.acl_load()
    with pytest.raises(redis.ConnectionError):
        bob.sadd("set", 4)
    assert admin.ping()
    eve = client(server, username="eve", password="eve")
    assert eve.get("key") is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        eve.set("key", "value")

    # A file with an error changes nothing.
    with open(tmp_path / "users.acl", "a") as handle:
        handle.write("user alice on nopass ~* -@all\n")
    with pytest.raises(redis.ResponseError, match="Duplicate user 'alice' found"):
        admin.acl_load()
    assert admin.acl_getuser("alice")["categories"] == ["+@all"]     # as it was
    for each in (admin, eve):
        each.close()


def test_acl_load_and_save_need_an_acl_file(start):
    admin = client(start())
    for command in ("LOAD", "SAVE"):
        with pytest.raises(redis.ResponseError, match="not configured to use an ACL file"):
            admin.execute_command("ACL", command)
    admin.close()


def test_acl_pubsub_default_gives_new_users_their_channels(start):
    admin = client(start())
    admin.acl_setuser("closed")
    assert admin.acl_getuser("closed")["channels"] == []
    admin.config_set("acl-pubsub-default", "allchannels")
    admin.acl_setuser("open")
    assert admin.acl_getuser("open")["channels"] == ["&*"]
    admin.config_set("acl-pubsub-default", "resetchannels")
    assert admin.acl_getuser("open")["channels"] == ["&*"]         # existing users keep it
    admin.close()


def test_user_directives_make_the_users(start):
    server = start("--user", "default", "on", "nopass", "~*", "+@all")   # no &*: no channels
    admin = client(server)
    with pytest.raises(redis.exceptions.NoPermissionError):
        admin.publish("news", "hello")
    assert admin.set("k", "v")
    admin.close()


@pytest.mark.parametrize("kind", ["fromscratch", "redis"])
def test_a_duplicate_user_directive_stops_the_start(kind, tmp_path):
    port = str(free_port())
    if kind == "fromscratch":
        command = [sys.executable, "-m", "fromscratch", "kvdb", "--dir", str(tmp_path)]
        env = {"PYTHONPATH": SOURCE}
    else:
        command = ["redis-server", "--dir", str(tmp_path)]
        env = None
    done = subprocess.run([*command, "--port", port, "--user", "foo", "--user", "foo"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode != 0
    assert "Duplicate user" in done.stdout + done.stderr


def test_selectors_and_key_permissions_survive_acl_save_and_load(start, tmp_path):
    (tmp_path / "users.acl").write_text("user default on nopass ~* &* +@all\n")
    server = start("--aclfile", "users.acl")
    admin = client(server)
    admin.execute_command("ACL", "SETUSER", "sel", "on", "nopass", "+get", "%R~app*",
                          "(+set %W~app* &chan)", "(+lpush ~list*)")
    def sel_line():
        lines = [line if isinstance(line, str) else line.decode() for line in admin.acl_list()]
        return [line for line in lines if " sel " in line]

    listed = sel_line()
    assert admin.acl_save()
    assert "(%W~app* resetchannels &chan -@all +set)" in (tmp_path / "users.acl").read_text()
    assert admin.acl_load()
    assert sel_line() == listed
    for call in (("set", "app1", "v"), ("get", "app1"), ("lpush", "list1", "v")):
        assert admin.acl_dryrun("sel", *call) in (b"OK", "OK", True)
    admin.close()
