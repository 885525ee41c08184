"""The server side of one PostgreSQL connection, as a state machine without I/O.

    backend = Backend(engine, auth)
    backend.feed(bytes_from_client)
    while backend.step():            # handles one message
        send(backend.take_output())
    if backend.closed: close the connection

States: startup (SSL/GSS negotiation, StartupMessage, CancelRequest) -> authenticating
(SCRAM-SHA-256, MD5 or cleartext, when a password is configured) -> ready (simple and
extended queries) <-> copy_in (COPY FROM STDIN) -> closed.

Extended protocol rules kept here: ReadyForQuery only after Sync; after an error every
message up to the next Sync is discarded; the unnamed statement and portal survive until
replaced; statements between two Syncs run in one implicit transaction.
"""

from __future__ import annotations

import logging

from .. import types as T
from ..engine import CopyInResult, CopyOutResult, Engine, Prepared
from ..errors import (FEATURE_NOT_SUPPORTED, INTERNAL_ERROR, INVALID_AUTHORIZATION,
                      INVALID_PASSWORD, PROTOCOL_VIOLATION, UNDEFINED_CURSOR,
                      UNDEFINED_PSTATEMENT, SqlError)
from . import messages as M
from .auth import AuthFailed, ScramVerifier, md5_password_hash
from ..binary import decode_binary, encode_binary

log = logging.getLogger("fromscratch.reldb")

FLUSH_THRESHOLD = 65536


class Portal:
    def __init__(self, prepared: Prepared, params: list, result_formats: list[int]):
        self.prepared = prepared
        self.params = params
        self.result_formats = result_formats
        self.result = None
        self.position = 0


class Backend:
    def __init__(self, engine: Engine, auth_method: str = "trust"):
        self.engine = engine
        self.auth_method = auth_method          # trust | scram-sha-256 | md5 | password
        self.reader = M.FrontendReader()
        self.out: list[bytes] = []
        self.out_size = 0
        self.state = "startup"
        self.closed = False
        self.session = None
        self.startup_params: dict = {}
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self.skipping = False                   # discarding until Sync after an error
        self.copy = None                        # (CopyInResult, pending simple-query gen)
        self.copy_error = None
        self.pending_query = None               # the rest of a simple query paused by COPY
        self.scram = None
        self.md5_salt = b""
        self.flush_wanted = False

    # -- I/O boundary ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        self.reader.feed(data)

    def take_output(self) -> bytes:
        data = b"".join(self.out)
        self.out.clear()
        self.out_size = 0
        self.flush_wanted = False
        return data

    def should_flush(self) -> bool:
        return self.flush_wanted or self.out_size >= FLUSH_THRESHOLD

    def _send(self, data: bytes) -> None:
        self.out.append(data)
        self.out_size += len(data)

    def step(self) -> bool:
        """Handle one complete message; False when more input is needed."""
        if self.closed:
            return False
        try:
            message = self.reader.read()
        except M.ProtocolError as exc:
            self._fatal(exc.code, exc.message)
            return False
        if message is None:
            return False
        try:
            self._dispatch(message)
        except M.ProtocolError as exc:
            self._fatal(exc.code, exc.message)
        except SqlError as exc:
            if self.state in ("startup", "authenticating"):
                self._fatal(exc.code, exc.message)
            else:
                self._error(exc)
        except Exception as exc:            # a bug must not take the server down
            log.exception("internal error")
            self._error(SqlError(INTERNAL_ERROR, f"internal error: {type(exc).__name__}: {exc}"))
        return not self.closed

    def close(self) -> None:
        """The connection went away: release the session."""
        if self.session is not None:
            self.engine.end_session(self.session)
            self.session = None
        self.closed = True

    # -- errors --------------------------------------------------------------------------

    def _fatal(self, code: str, message: str) -> None:
        self._send(M.error_response("FATAL", code, message))
        self.flush_wanted = True
        self.close()

    def _error(self, exc: SqlError) -> None:
        extra = {k: v for k, v in exc.fields.items()}
        self._send(M.error_response(exc.severity if exc.severity != "FATAL" else "FATAL",
                                    exc.code, exc.message, exc.detail, exc.hint, exc.position,
                                    extra))
        self._flush_notices()
        if exc.severity == "FATAL":
            self.flush_wanted = True
            self.close()
            return
        if self.extended:
            self.skipping = True
            if self.session is not None:
                self.session.abort_implicit()
        else:
            self._ready()

    extended = False                       # whether the current message is extended-protocol

    def _ready(self) -> None:
        self._send(self.take_notifications())
        self._send(M.ready_for_query(self.session.status if self.session else "I"))
        self.flush_wanted = True

    def take_notifications(self) -> bytes:
        """NotificationResponse messages for what LISTEN brought in (thread-safe: the
        server may call it from another session's thread while this one is idle)."""
        session = self.session
        if session is None or not session.inbox:
            return b""
        out = []
        while session.inbox:
            pid, channel, payload = session.inbox.popleft()
            out.append(M.notification(pid, channel, payload))
        return b"".join(out)

    def _flush_notices(self) -> None:
        session = self.session
        if session is None:
            return
        for notice in session.notices:
            self._send(M.notice_response(notice))
        session.notices.clear()
        for name, value in session.changed_parameters.items():
            self._send(M.parameter_status(name, value))
        session.changed_parameters.clear()

    # -- dispatch ------------------------------------------------------------------------

    def _dispatch(self, message) -> None:
        if self.state == "startup":
            return self._startup(message)
        if self.state == "authenticating":
            return self._authenticate(message)
        if self.state == "copy_in":
            return self._copy_message(message)
        kind = type(message)
        if kind is M.Terminate:
            self.close()
            return
        self.extended = kind in _EXTENDED
        if self.skipping and self.extended and kind is not M.Sync:
            return
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise M.ProtocolError(f"unexpected message type {kind.__name__}")
        handler(self, message)

    # -- startup and authentication ------------------------------------------------------

    def _startup(self, message) -> None:
        if isinstance(message, (M.SSLRequest, M.GSSENCRequest)):
            self._send(b"N")
            self.flush_wanted = True
            return
        if isinstance(message, M.CancelRequest):
            self.engine.cancel(message.pid, message.secret)
            self.close()
            return
        if not isinstance(message, M.Startup):
            raise M.ProtocolError("expected startup message")
        params = message.params
        user = params.get("user")
        if not user:
            raise SqlError(INVALID_AUTHORIZATION,
                           "no PostgreSQL user name specified in startup packet")
        self.startup_params = params
        role = self.engine.cluster.roles.get(user)
        if role is None:
            raise SqlError(INVALID_AUTHORIZATION, f'role "{user}" does not exist')
        method = self.auth_method
        if method == "trust" or role.password is None and method != "trust":
            if method != "trust":
                raise SqlError(INVALID_PASSWORD, f'password authentication failed for user "{user}"')
            return self._authenticated()
        self.state = "authenticating"
        if method == "scram-sha-256":
            self.scram = ScramVerifier(role.password)
            self._send(M.auth_sasl(["SCRAM-SHA-256"]))
        elif method == "md5":
            import secrets
            self.md5_salt = secrets.token_bytes(4)
            self._send(M.auth_md5(self.md5_salt))
        else:
            self._send(M.auth_cleartext())
        self.flush_wanted = True

    def _authenticate(self, message) -> None:
        if not isinstance(message, M.PasswordData):
            raise M.ProtocolError("expected password response")
        user = self.startup_params["user"]
        role = self.engine.cluster.roles[user]
        failed = SqlError(INVALID_PASSWORD, f'password authentication failed for user "{user}"',
                          severity="FATAL")
        data = message.data
        try:
            if self.scram is not None:
                if not self.scram.client_first_bare:
                    end = data.find(b"\x00")
                    if end < 0 or len(data) < end + 5:
                        raise AuthFailed("malformed SASLInitialResponse")
                    mechanism = data[:end].decode("utf-8", "replace")
                    length = int.from_bytes(data[end + 1:end + 5], "big", signed=True)
                    payload = data[end + 5:end + 5 + length] if length >= 0 else b""
                    self._send(M.auth_sasl_continue(self.scram.client_first(mechanism, payload)))
                    self.flush_wanted = True
                    return
                final = self.scram.client_final(data)
                self._send(M.auth_sasl_final(final))
            elif self.md5_salt:
                given = data.rstrip(b"\x00").decode("utf-8", "replace")
                if given != md5_password_hash(user, role.password, self.md5_salt):
                    raise AuthFailed("md5 mismatch")
            else:
                if data.rstrip(b"\x00").decode("utf-8", "replace") != role.password:
                    raise AuthFailed("password mismatch")
        except AuthFailed:
            raise failed from None
        self._authenticated()

    def _authenticated(self) -> None:
        params = self.startup_params
        user = params["user"]
        session = self.engine.new_session()
        try:
            session.connect(user, params.get("database") or user, _startup_settings(params))
        except SqlError:
            self.engine.end_session(session)
            raise
        self.session = session
        self.state = "ready"
        self._send(M.auth_ok())
        for name, value in session.reported_parameters().items():
            self._send(M.parameter_status(name, value))
        self._send(M.backend_key_data(session.pid, session.secret))
        self._ready()

    # -- simple query ----------------------------------------------------------------------

    def _query(self, message: M.Query) -> None:
        self.skipping = False
        sql = message.sql
        if not sql.strip() or _only_comments_and_semicolons(sql):
            self._send(M.empty_query_response())
            self._ready()
            return
        self._run_simple(self.session.simple_query(sql))

    def _run_simple(self, results) -> None:
        try:
            for result in results:
                if isinstance(result, CopyInResult):
                    self.pending_query = results
                    self._begin_copy_in(result)
                    return
                self._send_result(result, [], 0, None)
        except SqlError as exc:
            self.pending_query = None
            self._error(exc)
            return
        self.pending_query = None
        self._ready()

    def _send_result(self, result, formats, max_rows, portal) -> bool:
        """Send a statement's result; returns False if the portal was suspended."""
        self._flush_notices()
        if isinstance(result, CopyOutResult):
            self._send(M.copy_out_response(result.ncolumns, result.binary))
            for chunk in result.lines:
                self._send(M.copy_data(chunk if isinstance(chunk, bytes) else chunk.encode()))
            self._send(M.copy_done())
            self._send(M.command_complete(f"COPY {result.count}"))
            return True
        if result.tag == "EMPTY":
            self._send(M.empty_query_response())
            return True
        columns = result.columns
        if columns is not None and portal is None:
            self._send(self._row_description(columns, formats))
        if columns is not None:
            encoders = self._encoders(columns, formats)
            rows = result.rows
            start = portal.position if portal is not None else 0
            end = len(rows) if not max_rows else min(len(rows), start + max_rows)
            send = self._send
            data_row = M.data_row
            for i in range(start, end):
                row = rows[i]
                send(data_row([None if v is None else enc(v) for v, enc in zip(row, encoders)]))
                if self.out_size >= FLUSH_THRESHOLD:
                    self.flush_wanted = True
            if portal is not None:
                portal.position = end
                if end < len(rows):
                    self._send(M.portal_suspended())
                    return False
            tag = result.tag
            if tag.startswith("SELECT") or tag.startswith("FETCH"):
                tag = f"{tag.split()[0]} {end - start if portal is not None else len(rows)}"
            self._send(M.command_complete(tag))
            return True
        self._send(M.command_complete(result.tag))
        return True

    def _row_description(self, columns, formats) -> bytes:
        fields = []
        for i, (name, t) in enumerate(columns):
            fmt = _format_for(formats, i)
            fields.append((name, t.oid, t.typlen if t.typlen != -2 else -2, t.typmod, fmt))
        return M.row_description(fields)

    def _encoders(self, columns, formats):
        encoders = []
        for i, (_, t) in enumerate(columns):
            if _format_for(formats, i) == 1:
                encoders.append(lambda v, t=t: encode_binary(v, t))
            elif t.oid in (23, 20, 21):
                encoders.append(_encode_int)
            elif t.oid in T.STRING_OIDS:
                encoders.append(_encode_str)
            else:
                encoders.append(lambda v, t=t: T.to_text(v, t).encode())
        return encoders

    # -- extended query ------------------------------------------------------------------

    def _parse(self, message: M.Parse) -> None:
        types = []
        for oid in message.param_types:
            if oid == 0:
                types.append(T.UNKNOWN)
            elif oid in T.BY_OID:
                types.append(T.BY_OID[oid])
            else:
                raise SqlError("42704", f"type with OID {oid} does not exist")
        if message.name and message.name in self.statements:
            raise SqlError("42P05", f'prepared statement "{message.name}" already exists')
        prepared = self.session.prepare(message.sql, types)
        if message.name:
            self.session.prepared[message.name] = prepared
        self.statements[message.name] = prepared
        self._send(M.parse_complete())

    def _statement(self, name: str) -> Prepared:
        prepared = self.statements.get(name) if name == "" else self.session.prepared.get(name)
        if prepared is None:
            if name == "":
                raise SqlError(UNDEFINED_PSTATEMENT, "unnamed prepared statement does not exist")
            raise SqlError(UNDEFINED_PSTATEMENT, f'prepared statement "{name}" does not exist')
        return prepared

    def _bind(self, message: M.Bind) -> None:
        prepared = self._statement(message.statement)
        types = prepared.param_types
        if len(message.params) != len(types):
            raise SqlError(PROTOCOL_VIOLATION,
                           f"bind message supplies {len(message.params)} parameters, but prepared "
                           f'statement "{message.statement}" requires {len(types)}')
        formats = message.param_formats
        if len(formats) not in (0, 1, len(types)):
            raise SqlError(PROTOCOL_VIOLATION, f"bind message has {len(formats)} parameter formats "
                           f"but {len(types)} parameters")
        params = []
        inputs = prepared.text_inputs
        if inputs is None:
            inputs = prepared.text_inputs = [T.input_function(t) for t in types]
        for i, (raw, t) in enumerate(zip(message.params, types)):
            if raw is None:
                params.append(None)
                continue
            try:
                if _format_for(formats, i) == 1:
                    params.append(decode_binary(raw, t))
                else:
                    params.append(inputs[i](decode_utf8_param(raw)))
            except SqlError as exc:
                if exc.code == "22P03":
                    exc.message = f"incorrect binary data format in bind parameter {i + 1}"
                raise
        if message.portal and message.portal in self.portals:
            raise SqlError("42P03", f'cursor "{message.portal}" already exists')
        self.portals[message.portal] = Portal(prepared, params, message.result_formats)
        self._send(M.bind_complete())

    def _describe(self, message: M.Describe) -> None:
        if message.kind == "S":
            prepared = self._statement(message.name)
            self._send(M.parameter_description([t.oid for t in prepared.param_types]))
            columns, formats = prepared.columns, []
        else:
            portal = self.portals.get(message.name)
            cursor = self.session.cursors.get(message.name)
            if portal is not None:
                columns, formats = portal.prepared.columns, portal.result_formats
            elif cursor is not None:
                # A cursor made by DECLARE is a portal too (psycopg describes it).
                columns, formats = cursor.columns, []
            else:
                raise SqlError(UNDEFINED_CURSOR, f'portal "{message.name}" does not exist')
        if columns is None:
            self._send(M.no_data())
        else:
            self._send(self._row_description(columns, formats))

    def _execute(self, message: M.Execute) -> None:
        portal = self.portals.get(message.portal)
        if portal is None:
            raise SqlError(UNDEFINED_CURSOR, f'portal "{message.portal}" does not exist')
        session = self.session
        if portal.result is None:
            if session.block is None and not _outside_transactions(portal.prepared.ast):
                session.block = "implicit"
            portal.result = session.execute(portal.prepared, portal.params)
            if isinstance(portal.result, CopyInResult):
                self._begin_copy_in(portal.result)
                return
        elif portal.position >= len(getattr(portal.result, "rows", ())) and \
                portal.result.columns is not None and portal.position > 0:
            self._send(M.command_complete(f"{portal.result.tag.split()[0]} 0"))
            return
        # The row description of a portal was sent by Describe, not here.
        self._send_result(portal.result, portal.result_formats, message.max_rows, portal)

    def _close(self, message: M.Close) -> None:
        if message.kind == "S":
            if message.name:
                self.session.prepared.pop(message.name, None)
            self.statements.pop(message.name, None)
        else:
            self.portals.pop(message.name, None)
            self.session.cursors.pop(message.name, None)
        self._send(M.close_complete())

    def _sync(self, message) -> None:
        self.skipping = False
        session = self.session
        if session.block == "implicit":
            session._end_transaction(commit=True)
        # Portals live until the end of the transaction.
        if session.block is None:
            self.portals = {k: v for k, v in self.portals.items() if k == ""}
        self._flush_notices()
        self._ready()

    def _flush(self, message) -> None:
        self.flush_wanted = True

    def _function_call(self, message) -> None:
        raise SqlError(FEATURE_NOT_SUPPORTED, "the function call protocol is not supported")

    def _unexpected_copy(self, message) -> None:
        # CopyData/CopyDone/CopyFail outside COPY are ignored, as PostgreSQL does.
        pass

    def _password_outside_auth(self, message) -> None:
        raise M.ProtocolError("unexpected password message")

    # -- COPY FROM STDIN -------------------------------------------------------------------

    def _begin_copy_in(self, result: CopyInResult) -> None:
        self._flush_notices()
        self.copy = result
        self.copy_error = None
        self.state = "copy_in"
        self._send(M.copy_in_response(result.ncolumns, result.binary))
        self.flush_wanted = True

    def _copy_message(self, message) -> None:
        result = self.copy
        if isinstance(message, M.CopyData):
            if self.copy_error is None:
                try:
                    result.copy_in.feed(message.data)
                except SqlError as exc:
                    self.copy_error = exc
            return
        if isinstance(message, (M.Flush, M.Sync)):
            return
        if isinstance(message, M.Terminate):
            self.close()
            return
        self.state = "ready"
        self.copy = None
        session = self.session
        if isinstance(message, M.CopyDone):
            try:
                done = session.finish_copy(result, self.copy_error)
            except SqlError as exc:
                self._copy_failed(exc)
                return
            self._flush_notices()
            self._send(M.command_complete(done.tag))
            if self.pending_query is not None:
                self._run_simple(self.pending_query)
            return
        if isinstance(message, M.CopyFail):
            exc = SqlError("57014", f"COPY from stdin failed: {message.message}")
            session.fail_copy(result, exc)
            self._copy_failed(exc)
            return
        exc = SqlError(PROTOCOL_VIOLATION,
                       f"unexpected message type 0x{_type_byte(message):02X} during COPY from stdin")
        session.fail_copy(result, exc)
        self._copy_failed(exc)

    def _copy_failed(self, exc: SqlError) -> None:
        self.pending_query = None
        if self.extended:
            self._error(exc)
        else:
            self.extended = False
            self._error(exc)


_EXTENDED = {M.Parse, M.Bind, M.Describe, M.Execute, M.Close, M.Sync, M.Flush}
_HANDLERS = {
    M.Query: Backend._query,
    M.Parse: Backend._parse,
    M.Bind: Backend._bind,
    M.Describe: Backend._describe,
    M.Execute: Backend._execute,
    M.Close: Backend._close,
    M.Sync: Backend._sync,
    M.Flush: Backend._flush,
    M.FunctionCall: Backend._function_call,
    M.CopyData: Backend._unexpected_copy,
    M.CopyDone: Backend._unexpected_copy,
    M.CopyFail: Backend._unexpected_copy,
    M.PasswordData: Backend._password_outside_auth,
}


def decode_utf8_param(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise SqlError("22021", 'invalid byte sequence for encoding "UTF8"') from None


def _format_for(formats: list[int], i: int) -> int:
    if not formats:
        return 0
    if len(formats) == 1:
        return formats[0]
    return formats[i] if i < len(formats) else 0


def _encode_int(v) -> bytes:
    return str(v).encode()


def _encode_str(v) -> bytes:
    return v.encode()


def _type_byte(message) -> int:
    return {M.Query: ord("Q"), M.Parse: ord("P"), M.Bind: ord("B")}.get(type(message), 0)


def _outside_transactions(ast) -> bool:
    """Statements that manage transactions themselves or refuse to run inside one."""
    from ..sql import ast as A
    return isinstance(ast, (A.Transaction, A.CreateDatabase, A.Discard)) or (
        isinstance(ast, A.DropObjects) and ast.kind == "database")


def _only_comments_and_semicolons(sql: str) -> bool:
    if sql.lstrip()[:1] not in ("-", "/", ";"):
        return False          # anything else starts a statement: no need to tokenize
    from ..sql.lexer import EOF, tokenize
    try:
        tokens = tokenize(sql)
    except SqlError:
        return False
    return all(t.kind == EOF or (t.kind == "punct" and t.value == ";") for t in tokens)


def _startup_settings(params: dict) -> dict:
    settings = {k: v for k, v in params.items() if k not in ("user", "database", "options")}
    options = params.get("options", "")
    # options='-c name=value -c other=value' (psql and libpq's PGOPTIONS)
    words = options.replace("--", "-c ").split()
    i = 0
    while i < len(words):
        if words[i] == "-c" and i + 1 < len(words) and "=" in words[i + 1]:
            name, _, value = words[i + 1].partition("=")
            settings[name] = value
            i += 2
        elif words[i].startswith("-c") and "=" in words[i]:
            name, _, value = words[i][2:].partition("=")
            settings[name] = value
            i += 1
        else:
            i += 1
    return settings

