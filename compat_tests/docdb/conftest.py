"""Fixtures for the docdb compat tests: our server, started as a user starts it
(`python -m fromscratch docdb`) on free ports in a temporary directory.

No MongoDB server can be installed here (it is not packaged for Debian), so the tests
run against ours only; they are written from MongoDB's documented behaviour. Set
FROMSCRATCH_MONGODB_URI to a real server's URI and the `client` fixture runs each
client-level test against it as well.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pymongo
import pytest

from compat_tests.servers import SOURCE, free_port, wait_for_port

if SOURCE not in sys.path:          # the tests build raw messages with our own codec
    sys.path.insert(0, SOURCE)

REFERENCE_URI = os.environ.get("FROMSCRATCH_MONGODB_URI")


class DocdbServer:
    def __init__(self, directory: str, *options: str):
        self.directory = directory
        self.options = options
        self.port = free_port()
        self.http_port = free_port()
        self.process = None
        self.start()

    def start(self) -> None:
        log = open(os.path.join(self.directory, "server.log"), "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fromscratch", "docdb", "--port", str(self.port),
             "--http-port", str(self.http_port), "--dir", self.directory, *self.options],
            env=dict(os.environ, PYTHONPATH=SOURCE), stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process)
        wait_for_port(self.http_port, self.process)

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def client(self, **options) -> pymongo.MongoClient:
        return pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=5000, **options)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """kill -9: no chance to flush anything."""
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="session")
def docdb(tmp_path_factory):
    server = DocdbServer(str(tmp_path_factory.mktemp("docdb")), "--ttl-interval", "0.2",
                         "--enable-test-commands")
    yield server
    server.stop()


@pytest.fixture(params=["fromscratch"] + (["mongodb"] if REFERENCE_URI else []))
def client(request, docdb):
    uri = docdb.uri if request.param == "fromscratch" else REFERENCE_URI
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    client.drop_database("compat")
    yield client
    client.close()


@pytest.fixture
def db(client):
    return client.compat
