"""TLS as Redis serves it: `tls-port` beside the plain port, certificates from files,
client certificates (tls-auth-clients), settings changed at run time, replication over
TLS; through redis-py, redis-cli and redis-benchmark, against ours and redis-server.

The certificates are made with the openssl command (see make_certificates)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from compat_tests.servers import free_port, make_certificates, missing_reference, start_kvdb


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """The directory of the test certificates (see make_certificates)."""
    directory = tmp_path_factory.mktemp("tls")
    make_certificates(directory)
    return directory


def tls_options(certs, tls_port: int, *more: str) -> list[str]:
    return ["--tls-port", str(tls_port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file",
            str(certs / "ca.crt"), *more]


def tls_client(certs, port: int, with_certificate: bool = True, **options) -> redis.Redis:
    identity = ({"ssl_certfile": str(certs / "client.crt"),
                 "ssl_keyfile": str(certs / "client.key")} if with_certificate else {})
    return redis.Redis(port=port, ssl=True, ssl_ca_certs=str(certs / "ca.crt"),
                       retry=Retry(NoBackoff(), 0), **identity, **options)


def refused(client: redis.Redis) -> bool:
    try:
        client.ping()
    except redis.ConnectionError:
        return True
    return False


def test_clients_talk_over_tls(start, certs, protocol):
    tls_port = free_port()
    start(*tls_options(certs, tls_port))
    client = tls_client(certs, tls_port, protocol=protocol)
    assert client.set("greeting", "hello") and client.get("greeting") == b"hello"
    pipe = client.pipeline(transaction=False)
    for _ in range(5000):
        pipe.incr("counter")
    assert pipe.execute()[-1] == 5000
    big = bytes(range(256)) * 20000                       # 5 MB, many TLS records
    client.set("big", big)
    assert client.get("big") == big
    # Pub/sub over TLS, with another TLS client publishing.
    pubsub = client.pubsub()
    pubsub.subscribe("news")
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    assert tls_client(certs, tls_port).publish("news", "hi") == 1
    assert pubsub.get_message(timeout=5)["data"] == b"hi"
    info = client.info("server")
    assert info["tcp_port"] != tls_port                    # the plain port comes first


def test_client_certificates_as_tls_auth_clients_says(start, certs):
    tls_port = free_port()
    start(*tls_options(certs, tls_port))
    admin = tls_client(certs, tls_port)
    assert admin.config_get("tls-auth-clients") == {"tls-auth-clients": "yes"}
    assert refused(tls_client(certs, tls_port, with_certificate=False))
    admin.config_set("tls-auth-clients", "optional")
    assert tls_client(certs, tls_port, with_certificate=False).ping()
    assert tls_client(certs, tls_port).ping()
    admin.config_set("tls-auth-clients", "no")
    assert tls_client(certs, tls_port, with_certificate=False).ping()
    admin.config_set("tls-auth-clients", "yes")
    assert refused(tls_client(certs, tls_port, with_certificate=False))
    assert admin.ping()                         # connections already open stay open


def test_plain_text_on_the_tls_port_is_refused_and_others_carry_on(start, certs):
    tls_port = free_port()
    server = start(*tls_options(certs, tls_port))
    client = tls_client(certs, tls_port)
    client.set("k", "v")
    assert refused(redis.Redis(port=tls_port, retry=Retry(NoBackoff(), 0)))
    with socket.create_connection(("127.0.0.1", tls_port)) as sock:   # not a handshake
        sock.sendall(b"\x16\x03\x01\x00\x20" + b"\x00" * 32)
        sock.settimeout(5)
        try:
            while sock.recv(4096):              # an alert maybe, then the server closes
                pass
        except ConnectionResetError:
            pass
    assert client.get("k") == b"v"
    assert redis.Redis(port=server.port).get("k") == b"v"           # the plain port too


def test_tls_settings_change_at_run_time(start, certs):
    tls_port = free_port()
    server = start(*tls_options(certs, tls_port))
    admin = tls_client(certs, tls_port)

    def common_name() -> str:
        context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        context.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
        with socket.create_connection(("127.0.0.1", tls_port)) as raw_socket, \
                context.wrap_socket(raw_socket, server_hostname="localhost") as sock:
            return dict(field[0] for field in sock.getpeercert()["subject"])["commonName"]

    assert common_name() == "Server-only"
    # Certificate and key set together are loaded together.
    admin.config_set("tls-cert-file", str(certs / "other.crt"),
                     "tls-key-file", str(certs / "other.key"))
    assert common_name() == "Other server"
    # A key that does not match: refused, and what was in use stays in use.
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        admin.config_set("tls-key-file", str(certs / "server.key"))
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        admin.config_set("tls-cert-file", str(certs / "missing.crt"))
    with pytest.raises(redis.ResponseError, match="Unable to update TLS configuration"):
        admin.config_set("tls-protocols", "TLSv9")
    assert admin.config_get("tls-cert-file")["tls-cert-file"] == str(certs / "other.crt")
    assert admin.config_get("tls-protocols") == {"tls-protocols": ""}
    assert common_name() == "Other server"
    # Only TLS 1.2 allowed: a client that wants 1.3 only can't connect.
    admin.config_set("tls-protocols", "TLSv1.2")
    assert refused(tls_client(certs, tls_port, ssl_min_version=ssl.TLSVersion.TLSv1_3))
    assert tls_client(certs, tls_port).ping()
    # The plain port can go (TLS only), and come back.
    admin.config_set("port", 0)
    assert refused(redis.Redis(port=server.port, retry=Retry(NoBackoff(), 0)))
    assert admin.info("server")["tcp_port"] == tls_port
    admin.config_set("port", server.port)
    assert redis.Redis(port=server.port).ping()
    # And the TLS port can move.
    new_port = free_port()
    admin.config_set("tls-port", new_port)
    assert tls_client(certs, new_port).ping()
    assert refused(tls_client(certs, tls_port))


def test_a_server_that_cannot_configure_tls_does_not_start(start, certs):
    with pytest.raises(RuntimeError, match="server exited"):
        start("--tls-port", str(free_port()), "--tls-key-file", str(certs / "server.key"),
              "--tls-ca-cert-file", str(certs / "ca.crt"))        # no certificate
    with pytest.raises(RuntimeError, match="server exited"):
        start(*tls_options(certs, free_port(), "--tls-protocols", "SSLv2"))


def test_a_replica_follows_its_primary_over_tls(start, certs):
    primary_tls = free_port()
    primary = start(*tls_options(certs, primary_tls, "--tls-replication", "yes",
                                 "--repl-diskless-sync-delay", "0"))
    tls_client(certs, primary_tls).set("before", "1")
    # Without a tls-client-cert-file, the replica presents its tls-cert-file.
    replica = start(*tls_options(certs, free_port(), "--tls-replication", "yes",
                                 "--tls-cert-file", str(certs / "other.crt"),
                                 "--tls-key-file", str(certs / "other.key"),
                                 "--replicaof", f"127.0.0.1 {primary_tls}"))
    follower = redis.Redis(port=replica.port)
    deadline = time.monotonic() + 20
    while follower.info("replication")["master_link_status"] != "up":
        assert time.monotonic() < deadline, "the replica never synced over TLS"
        time.sleep(0.1)
    source = tls_client(certs, primary_tls)
    source.set("after", "2")
    source.wait(1, 5000)
    assert follower.mget("before", "after") == [b"1", b"2"]
    assert redis.Redis(port=primary.port).info("replication")["connected_slaves"] == 1


def test_migrate_over_tls_with_tls_cluster(start, certs):
    source_tls, target_tls = free_port(), free_port()
    start(*tls_options(certs, source_tls, "--tls-cluster", "yes", "--tls-client-cert-file",
                       str(certs / "client.crt"), "--tls-client-key-file",
                       str(certs / "client.key")))
    start(*tls_options(certs, target_tls))
    source, target = tls_client(certs, source_tls), tls_client(certs, target_tls)
    source.set("moving", "along")
    assert source.migrate("127.0.0.1", target_tls, "moving", 0, 5000) in (b"OK", "OK", True)
    assert target.get("moving") == b"along" and not source.exists("moving")
    source.set("again", "1")                      # on the cached connection
    assert source.migrate("127.0.0.1", target_tls, "again", 0, 5000) in (b"OK", "OK", True)
    assert target.get("again") == b"1"


def test_redis_cli_and_redis_benchmark_over_tls(start, certs):
    for tool in ("redis-cli", "redis-benchmark"):
        if shutil.which(tool) is None:
            missing_reference(tool)
    tls_port = free_port()
    start(*tls_options(certs, tls_port))
    flags = ["--tls", "--cacert", str(certs / "ca.crt"), "--cert", str(certs / "client.crt"),
             "--key", str(certs / "client.key"), "-p", str(tls_port)]
    done = subprocess.run(["redis-cli", *flags, "SET", "k", "from cli"], capture_output=True,
                          text=True, timeout=30)
    assert done.stdout.strip() == "OK"
    done = subprocess.run(["redis-cli", *flags, "GET", "k"], capture_output=True, text=True,
                          timeout=30)
    assert done.stdout.strip() == "from cli"
    done = subprocess.run(["redis-benchmark", *flags, "-n", "2000", "-c", "10", "-P", "4",
                           "-t", "set,get,lpush,lrange_100", "--csv"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith('"')]
    assert {row.split(",")[0].strip('"') for row in rows} >= {"SET", "GET", "LPUSH"}


def test_the_pubsub_server_serves_tls_too(certs, tmp_path):
    tls_port = free_port()
    server = start_kvdb(str(tmp_path), *tls_options(certs, tls_port), command="pubsub")
    try:
        subscriber = tls_client(certs, tls_port, protocol=3).pubsub()
        subscriber.subscribe("chat")
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
        publisher = tls_client(certs, tls_port)
        assert publisher.publish("chat", "over tls") == 1
        assert subscriber.get_message(timeout=5)["data"] == b"over tls"
        publisher.xadd("jobs", {"n": 1})
        assert publisher.xlen("jobs") == 1
    finally:
        server.stop()
