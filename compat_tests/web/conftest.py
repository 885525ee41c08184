import os
import shutil

import pytest

from fromscratch.web.testing import LiveServer

from .apps import make_app


def require_tool(name: str) -> str:
    """The path of a reference tool; skip without it, or fail when CI demands it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("FROMSCRATCH_REQUIRE_REFERENCE") == "1":
            pytest.fail(message + " (FROMSCRATCH_REQUIRE_REFERENCE=1)")
        pytest.skip(message)
    return path


@pytest.fixture
def live():
    """Start our server for an app: `server = live(app, header_timeout=1)`."""
    servers = []

    def start(app=None, **options):
        server = LiveServer(app or make_app(), **options).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(live):
    return live()
