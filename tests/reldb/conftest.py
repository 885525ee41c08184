import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "src"))

import pytest  # noqa: E402

from fromscratch.reldb.engine import Engine  # noqa: E402


@pytest.fixture
def make_engine(tmp_path):
    """Engine(**options) over a fresh data directory, closed after the test."""
    engines = []

    def make(**options):
        engine = Engine(str(tmp_path / f"data{len(engines)}"), **options)
        engines.append(engine)
        return engine
    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def engine(make_engine):
    return make_engine()
