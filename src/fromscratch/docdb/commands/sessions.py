"""Sessions: startSession endSessions refreshSessions killSessions, and the transaction
commands, which a standalone server refuses.

Drivers attach a logical session id (`lsid`) to every command once `hello` reports
`logicalSessionTimeoutMinutes`. A standalone MongoDB keeps no state a driver can observe
for a session outside transactions and retryable writes (both need a replica set), so
neither do we: a session id is handed out and accepted, and ending it is a no-op.
"""

from __future__ import annotations

import uuid

from ..bson import Binary
from ..errors import MongoError
from . import command


@command("startSession")
def start_session(ctx, cmd):
    return {"id": {"id": Binary(uuid.uuid4().bytes, 4)}, "timeoutMinutes": 30}


@command("endSessions", "refreshSessions", "killSessions", "killAllSessions", requires_auth=False)
def end_sessions(ctx, cmd):
    return {}


@command("commitTransaction", "abortTransaction")
def transactions(ctx, cmd):
    raise MongoError(20, "Transaction numbers are only allowed on a replica set member or mongos")
