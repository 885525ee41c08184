"""MongoDB's unified CRUD specification tests (pymongo 4.20.1's `test/crud/unified`),
run by our runner (unified_runner.py) against our server.

Every test of every file is a test case here. A test whose `runOnRequirements` our
server does not meet (a sharded cluster, a replica set, MongoDB 7.0 or 8.0 features) is
skipped with that reason, as the format specifies. A case we met the requirements for
but did not support would be listed in KNOWN_UNSUPPORTED with the reason, and expected
to fail (strictly: one that starts passing must be taken off the list).

`python compat_tests/docdb/unified_runner.py URI` prints passed/total per file.
"""

from __future__ import annotations

import glob
import os

import pymongo
import pytest

from . import unified_runner

# The tests check what the driver sends as well as what the server answers, so they go
# with the driver release they ship with; older pymongos send other (valid) commands.
if pymongo.version_tuple[:2] < (4, 20):
    pytest.skip("the unified CRUD tests are those of pymongo 4.20; this is pymongo "
                f"{pymongo.version}", allow_module_level=True)

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unified", "crud")

# (file, test description) -> why we do not support it. Empty today: every test whose
# requirements a standalone 6.0 meets passes. A case added here is expected to fail.
KNOWN_UNSUPPORTED: dict[tuple[str, str], str] = {
}


def _cases():
    for path in sorted(glob.glob(os.path.join(FOLDER, "*.json"))):
        spec = unified_runner.load(path)
        name = os.path.basename(path)
        for test in spec["tests"]:
            marks = []
            reason = KNOWN_UNSUPPORTED.get((name, test["description"]))
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=True))
            yield pytest.param(path, spec, test, id=f"{name}::{test['description']}",
                               marks=marks)


@pytest.mark.parametrize("path, spec, test", list(_cases()))
def test_unified(docdb, path, spec, test):
    outcome = unified_runner.run_test(docdb.uri, path, spec, test)
    if outcome.status == "not-applicable":
        pytest.skip(f"runOnRequirements not met by a standalone MongoDB 6.0: {outcome.detail}")
    if outcome.status == "driver-lacks":
        pytest.skip(f"the installed driver lacks an option this test uses: {outcome.detail}")
    assert outcome.status == "passed", outcome.detail
