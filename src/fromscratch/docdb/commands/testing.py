"""Test commands (only with `--enable-test-commands`, as mongod's `enableTestCommands`):
configureFailPoint with the `failCommand` fail point, which drivers' test suites use to
make the next commands fail on purpose.

    {configureFailPoint: "failCommand", mode: {times: 1} | "alwaysOn" | "off",
     data: {failCommands: ["insert"], errorCode: 8, closeConnection: false,
            errorLabels: [...], appName: "..."}}

The server asks `FailCommand.trigger(command name, app name)` before running each
command; a triggered fail point answers with the error (or closes the connection)
instead of running it.
"""

from __future__ import annotations

from ..errors import MongoError, failed_to_parse
from . import command


class FailCommand:
    def __init__(self):
        self.remaining: int | None = 0           # None: always on; 0: off
        self.data: dict = {}

    def configure(self, mode, data: dict) -> None:
        if mode == "off":
            self.remaining = 0
        elif mode == "alwaysOn":
            self.remaining = None
        elif isinstance(mode, dict) and isinstance(mode.get("times"), int):
            self.remaining = mode["times"]
        else:
            raise failed_to_parse(f"unsupported fail point mode {mode!r}")
        self.data = data or {}

    def trigger(self, name: str, app_name: str | None) -> dict | None:
        """The fail point's data if it fires for this command, else None."""
        if self.remaining == 0 or name not in self.data.get("failCommands", []):
            return None
        if "appName" in self.data and self.data["appName"] != app_name:
            return None
        if self.remaining is not None:
            self.remaining -= 1
        return self.data

    @staticmethod
    def error_reply(data: dict) -> dict:
        reply = MongoError(data.get("errorCode", 1), "Failing command via 'failCommand' "
                                                     "failpoint").to_reply()
        if "errorLabels" in data:
            reply["errorLabels"] = data["errorLabels"]
        return reply


@command("configureFailPoint")
def configure_fail_point(ctx, cmd):
    if not ctx.server.test_commands:
        raise MongoError(59, "no such command: 'configureFailPoint' (start the server with "
                             "--enable-test-commands)")
    if cmd["configureFailPoint"] != "failCommand":
        raise MongoError(2, f"unknown fail point {cmd['configureFailPoint']!r}: only "
                            f"failCommand is supported")
    ctx.server.fail_command.configure(cmd.get("mode"), cmd.get("data"))
    return {}
