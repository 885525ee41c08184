"""The engine: the cluster of databases and one `Session` per client connection.

A session owns what PostgreSQL keeps per backend: the current database and user, the
settings (SET/SHOW), the transaction state, prepared statements and cursors. It
exposes what the protocol needs and nothing about the wire:

    session.prepare(sql, param_types)   -> Prepared (parameter types, result columns)
    session.execute(prepared, params)   -> Result (columns, rows, command tag)
    session.simple_query(sql)           -> Results, one per statement
    session.status                      -> 'I' idle, 'T' in a transaction, 'E' failed

Transactions: outside BEGIN each statement runs in its own transaction (autocommit);
several statements in one simple query share an implicit one, as in PostgreSQL. After an
error inside BEGIN every statement but ROLLBACK fails with 25P02 until the block ends.

The catalog lives in memory and is saved through the storage engine: a transaction that
changed it (DDL) hands the new catalog document to its commit (catalog_store.py).
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import os
import secrets
import threading
import time

from . import functions as F
from . import types as T
from .catalog import Cluster, Role
from .catalog_store import dump_cluster, dump_database, load_cluster
from .copy import CopyIn, CopyOptions, copy_out_lines
from .ddl import DDL
from .dml import DeletePlan, InsertPlan, Result, TableWriter, UpdatePlan, target_columns
from .errors import (ACTIVE_TRANSACTION, DUPLICATE_DATABASE, DUPLICATE_OBJECT,
                     DUPLICATE_PSTATEMENT, FEATURE_NOT_SUPPORTED, IN_FAILED_TRANSACTION,
                     INVALID_CATALOG_NAME, INVALID_PARAMETER_VALUE,
                     NO_ACTIVE_TRANSACTION, OBJECT_IN_USE, QUERY_CANCELED, QUERY_CANCELED_MESSAGE,
                     SAVEPOINT_EXCEPTION, SYNTAX_ERROR, UNDEFINED_CURSOR, UNDEFINED_OBJECT,
                     UNDEFINED_PSTATEMENT, SqlError)
from .blocking import before_blocking
from .executor import ExecContext, instrument, run_modifications
from .plancache import GenericPlans, Template, numeric_tokens, parameterize
from .planner import Planner
from .sql import ast as A
from .sql.lexer import tokenize
from .sql.parser import parse
from .storage import StorageEngine
from .storage.engine import CATALOG
from .storage.locks import (ACCESS_EXCLUSIVE, ACCESS_SHARE, EXCLUSIVE, ROW_EXCLUSIVE, ROW_SHARE,
                            SHARE, SHARE_ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE)

# Settings a fresh session has, by lower-case name; the values are PostgreSQL 15's.
DEFAULT_SETTINGS = {
    "server_version": F.SERVER_VERSION,
    "server_version_num": "150000",
    "server_encoding": "UTF8",
    "client_encoding": "UTF8",
    "datestyle": "ISO, MDY",
    "intervalstyle": "postgres",
    "timezone": "UTC",
    "integer_datetimes": "on",
    "standard_conforming_strings": "on",
    "application_name": "",
    "search_path": '"$user", public',
    "default_transaction_isolation": "read committed",
    "transaction_isolation": "read committed",
    "default_transaction_read_only": "off",
    "transaction_read_only": "off",
    "statement_timeout": "0",
    "lock_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
    "extra_float_digits": "1",
    "lc_collate": "C",
    "lc_ctype": "C",
    "lc_messages": "C",
    "lc_monetary": "C",
    "lc_numeric": "C",
    "lc_time": "C",
    "max_connections": "100",
    "max_identifier_length": "63",
    "block_size": "8192",
    "is_superuser": "on",
    "session_authorization": "postgres",
    "bytea_output": "hex",
    "client_min_messages": "notice",
    "synchronous_commit": "on",
    "work_mem": "4MB",
    "maintenance_work_mem": "64MB",
    "shared_buffers": "128MB",
    "default_table_access_method": "heap",
    "in_hot_standby": "off",
    "jit": "off",
    "row_security": "on",
    "enable_seqscan": "on",
    "enable_indexscan": "on",
    "enable_hashjoin": "on",
    "enable_nestloop": "on",
    "enable_mergejoin": "on",
    "enable_bitmapscan": "on",
    "random_page_cost": "4",
    "seq_page_cost": "1",
    "wal_level": "replica",
    "fsync": "on",
    "max_parallel_workers_per_gather": "2",
    "check_function_bodies": "on",
    "default_with_oids": "off",
    "escape_string_warning": "on",
    "xmloption": "content",
    "geqo": "on",
    "cursor_tuple_fraction": "0.1",
    "log_statement": "none",
    "log_min_duration_statement": "-1",
    "track_io_timing": "off",
    "password_encryption": "scram-sha-256",
    "plan_cache_mode": "auto",
    "temp_buffers": "8MB",
    "vacuum_cost_delay": "0",
    "array_nulls": "on",
    "backslash_quote": "safe_encoding",
    "effective_cache_size": "4GB",
    "data_directory_mode": "0700",
}
# Settings whose changes the server reports to the client (GUC_REPORT), by display name.
REPORTED = {"application_name": "application_name", "client_encoding": "client_encoding",
            "datestyle": "DateStyle", "intervalstyle": "IntervalStyle", "timezone": "TimeZone",
            "is_superuser": "is_superuser", "session_authorization": "session_authorization",
            "standard_conforming_strings": "standard_conforming_strings",
            "server_version": "server_version", "server_encoding": "server_encoding",
            "integer_datetimes": "integer_datetimes",
            "default_transaction_read_only": "default_transaction_read_only",
            "in_hot_standby": "in_hot_standby"}
READ_ONLY_SETTINGS = {"server_version", "server_version_num", "server_encoding", "lc_collate",
                      "lc_ctype", "max_connections", "max_identifier_length", "block_size",
                      "integer_datetimes", "is_superuser", "in_hot_standby", "shared_buffers",
                      "wal_level", "data_directory_mode"}
_SETTING_ALIASES = {"transaction isolation level": "transaction_isolation",
                    "time zone": "timezone", "names": "client_encoding"}


class Prepared:
    """A parsed (and, for queries and DML, planned) statement."""

    def __init__(self, text: str, ast, param_types: list[T.SqlType], columns, plan,
                 version: int, from_sql: bool = False):
        self.text = text
        self.ast = ast
        self.param_types = param_types
        self.columns = columns            # [(name, type)] or None (no result set)
        self.plan = plan                  # operator tree, DML plan, or None (utility)
        self.version = version
        self.from_sql = from_sql
        self.search_path = None
        self.text_inputs = None           # parameter input functions, made at first Bind


class WithModifications:
    """A DML statement whose WITH holds data-modifying queries: those run first."""

    def __init__(self, modifications, statement):
        self.modifications = list(modifications)
        self.statement = statement
        self.columns = statement.columns

    def execute(self, ctx):
        run_modifications(self.modifications, ctx)
        return self.statement.execute(ctx)


class CopyInResult:
    """COPY ... FROM STDIN: the protocol streams data into `copy_in`, then calls done()."""

    def __init__(self, copy_in: CopyIn, ncolumns: int, session, opts: CopyOptions):
        self.copy_in = copy_in
        self.ncolumns = ncolumns
        self.session = session
        self.csv = opts.csv
        self.binary = opts.binary
        self.tag = "COPY"
        self.columns = None


class CopyOutResult:
    def __init__(self, lines, ncolumns: int, opts: CopyOptions, count: int):
        self.lines = lines
        self.count = count
        self.ncolumns = ncolumns
        self.csv = opts.csv
        self.binary = opts.binary
        self.tag = "COPY"
        self.columns = None


class Cursor:
    def __init__(self, name, columns, rows, hold):
        self.name = name
        self.columns = columns
        self.rows = iter(rows)
        self.hold = hold


class Engine:
    """The whole server's state: databases and roles, and the sessions connected.

    `data_dir` holds the cluster (created on first use); `cache_bytes` sizes the buffer
    pool; `synchronous_commit` is the default of the setting of that name."""

    def __init__(self, data_dir: str, password: str | None = None,
                 cache_bytes: int = 256 * 1024 * 1024, synchronous_commit: bool = True,
                 **storage_options):
        self.storage = StorageEngine(data_dir, cache_bytes=cache_bytes,
                                     synchronous_commit=synchronous_commit, **storage_options)
        self.storage.open()
        image = self.storage.catalog_image(0)
        if image is None:
            self.cluster = Cluster(self.storage)
            self._save_new_cluster()
        else:
            self.cluster = load_cluster(image, self.storage)
        self.storage.remove_orphans([db.oid for db in self.cluster.databases.values()])
        self.default_settings = dict(DEFAULT_SETTINGS,
                                     synchronous_commit="on" if synchronous_commit else "off")
        if password is not None:
            self.cluster.roles["postgres"].password = password
        self.sessions: dict[int, "Session"] = {}
        self.listeners: dict[str, set["Session"]] = {}     # LISTEN channel -> sessions
        self._pids = itertools.count(os.getpid() % 10000 * 100 + 1)
        self.lock = threading.Lock()
        self.started_at = dt.datetime.now(dt.timezone.utc)

    def _save_new_cluster(self) -> None:
        """initdb: the first catalog documents, committed and checkpointed."""
        txn = self.storage.begin()
        txn.catalog_images[(0, CATALOG)] = dump_cluster(self.cluster)
        for db in self.cluster.databases.values():
            txn.catalog_images[(db.oid, CATALOG)] = dump_database(db)
        txn.commit()
        self.storage.checkpoint()

    def close(self) -> None:
        """Shut the storage down cleanly (a checkpoint: the next start recovers nothing)."""
        self.storage.close()

    def add_user(self, name: str, password: str) -> None:
        """A login role with a password (from the server's users file)."""
        role = self.cluster.roles.get(name)
        if role is None:
            role = Role(self.cluster.next_oid(), name, superuser=False, login=True)
            self.cluster.roles[name] = role
        role.password = password

    def new_session(self) -> "Session":
        with self.lock:
            pid = next(self._pids)
        session = Session(self, pid, secrets.randbits(31))
        self.sessions[pid] = session
        return session

    def end_session(self, session: "Session") -> None:
        session.close()
        self.unlisten(session, None)
        self.sessions.pop(session.pid, None)

    def unlisten(self, session: "Session", channel: str | None) -> None:
        with self.lock:
            for name in ([channel] if channel is not None else list(self.listeners)):
                listeners = self.listeners.get(name)
                if listeners is not None:
                    listeners.discard(session)
                    if not listeners:
                        del self.listeners[name]

    def deliver(self, sender: "Session", notifications: list[tuple[str, str]]) -> None:
        """Hand committed NOTIFYs to every session listening on their channels."""
        for channel, payload in notifications:
            with self.lock:
                listeners = list(self.listeners.get(channel, ()))
            for listener in listeners:
                listener.inbox.append((sender.pid, channel, payload))
                if listener.wake is not None:
                    listener.wake()

    def cancel(self, pid: int, secret: int) -> bool:
        """A CancelRequest: interrupts the session's running statement if the key matches."""
        session = self.sessions.get(pid)
        if session is None or session.secret != secret:
            return False
        if session.running:
            session.cancel_requested = True
        return True

    def cancel_backend(self, pid: int) -> bool:
        session = self.sessions.get(pid)
        if session is None:
            return False
        if session.running:
            session.cancel_requested = True
        return True

    def create_database(self, session, name: str) -> None:
        with self.lock:
            if name in self.cluster.databases:
                raise SqlError(DUPLICATE_DATABASE, f'database "{name}" already exists')
            db = self.cluster.create_database(name)
            session.dirty_catalogs.update((0, db.oid))

    def drop_database(self, session, name: str, if_exists: bool, notices: list) -> None:
        with self.lock:
            db = self.cluster.databases.get(name)
            if db is None:
                if if_exists:
                    notices.append(f'database "{name}" does not exist, skipping')
                    return
                raise SqlError(INVALID_CATALOG_NAME, f'database "{name}" does not exist')
            if db is session.database:
                raise SqlError(OBJECT_IN_USE, "cannot drop the currently open database")
            if name in ("template0", "template1"):
                raise SqlError("55006", 'cannot drop a template database')
            # Like PostgreSQL, give sessions that are disconnecting a few seconds to go.
            deadline = time.monotonic() + 5
            others = [s for s in self.sessions.values() if s.database is db]
            while others and time.monotonic() < deadline:
                self.lock.release()
                before_blocking()
                time.sleep(0.02)
                self.lock.acquire()
                others = [s for s in self.sessions.values() if s.database is db]
            if others:
                raise SqlError(OBJECT_IN_USE, f'database "{name}" is being accessed by other users',
                               detail=f"There {'is' if len(others) == 1 else 'are'} "
                                      f"{len(others)} other session{'s' if len(others) > 1 else ''} "
                                      "using the database.")
            del self.cluster.databases[name]
            session.dirty_catalogs.add(0)
            # Its files go once the catalog without it is committed.
            session.txn.after_commit.append(lambda: self.storage.drop_database(db.oid))


class Session:
    def __init__(self, engine: Engine, pid: int, secret: int):
        self.engine = engine
        self.pid = pid
        self.secret = secret
        self.user = "postgres"
        self.database = None
        self.settings = dict(engine.default_settings)
        self.txn = None
        self.dirty_catalogs: set[int] = set()   # catalogs (0: the cluster's) to save at commit
        self.deadline = None
        self.block = None              # None, 'implicit' or 'explicit'
        self.failed = False
        self.savepoints: list[tuple[str, int]] = []
        self.prepared: dict[str, Prepared] = {}
        self.plan_cache: dict = {}
        self.generic_plans = GenericPlans()
        self.cursors: dict[str, Cursor] = {}
        self.notices: list[str] = []
        self.changed_parameters: dict[str, str] = {}
        self.last_sequence_values: dict[int, int] = {}
        self.last_sequence = None
        self.cancel_requested = False
        self.running = False
        self.current_query = ""
        self.started_at = dt.datetime.now(dt.timezone.utc)
        self._txn_time = None
        self.statement_time = None
        self._txn_settings_backup = None
        self._search_path = None          # (setting, parsed list, user): parsed once
        self.outbox: list[tuple[str, str]] = []      # NOTIFYs waiting for commit
        self.inbox = collections.deque()             # notifications received, to send
        self.wake = None        # set by the server: called when a notification arrives

    # -- connection ----------------------------------------------------------------------

    def connect(self, user: str, database: str, options: dict) -> None:
        db = self.engine.cluster.databases.get(database)
        if db is None:
            raise SqlError(INVALID_CATALOG_NAME, f'database "{database}" does not exist',
                           severity="FATAL")
        if database == "template0":
            raise SqlError("55000", 'database "template0" is not currently accepting connections',
                           severity="FATAL")
        self.user = user
        self.database = db
        self.settings["session_authorization"] = user
        role = self.engine.cluster.roles.get(user)
        self.settings["is_superuser"] = "on" if role is None or role.superuser else "off"
        for name, value in options.items():
            key = name.lower()
            if key in ("user", "database", "replication", "options"):
                continue
            try:
                self.set_setting(key, [value])
            except SqlError:
                pass
        self.changed_parameters.clear()

    def close(self) -> None:
        if self.txn is not None:
            self.txn.rollback()
            self.txn = None

    def check_interrupts(self) -> None:
        """Called while the session's statement waits for a lock: a cancel request or
        the statement timeout ends the wait."""
        if self.cancel_requested:
            self.cancel_requested = False
            raise SqlError(QUERY_CANCELED, QUERY_CANCELED_MESSAGE)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SqlError(QUERY_CANCELED, "canceling statement due to statement timeout")

    def reported_parameters(self) -> dict[str, str]:
        return {display: self.show_setting(name) for name, display in REPORTED.items()}

    # -- state for the protocol ----------------------------------------------------------

    @property
    def status(self) -> str:
        if self.block == "explicit":
            return "E" if self.failed else "T"
        return "I"

    def search_path(self) -> list[str]:
        setting = self.settings["search_path"]
        cached = self._search_path
        if cached is not None and cached[0] == setting and cached[2] == self.user:
            return cached[1]
        path = self._parse_search_path()
        self._search_path = (setting, path, self.user)
        return path

    def _parse_search_path(self) -> list[str]:
        path = []
        for part in self.settings["search_path"].split(","):
            name = part.strip().strip('"')
            if name == "$user":
                name = self.user
            if name:
                path.append(name)
        if "pg_catalog" not in path:
            path.insert(0, "pg_catalog")
        return path

    def current_schema(self) -> str | None:
        for name in self.search_path():
            if name != "pg_catalog" and name in self.database.schemas:
                return name
        return None

    def current_schemas(self, implicit: bool) -> list[str]:
        path = [n for n in self.search_path() if n in self.database.schemas]
        if not implicit:
            path = [n for n in path if n != "pg_catalog"]
        return path

    def transaction_time(self):
        return self._txn_time or dt.datetime.now(dt.timezone.utc)

    def statement_deadline(self):
        timeout = self.settings.get("statement_timeout", "0")
        if timeout == "0":
            return None
        ms = _parse_duration_ms(timeout)
        return time.monotonic() + ms / 1000 if ms > 0 else None

    def txid(self) -> int:
        self._ensure_txn()
        return self.txn.txid

    def _activate(self) -> None:
        """Point the thread-local formatting context at this session."""
        T.session_local.tz = _zone(self.settings["timezone"])
        T.session_local.catalog = (self.database, self.search_path())

    # -- settings ------------------------------------------------------------------------

    def show_setting(self, name: str, missing_ok: bool = False) -> str | None:
        key = _SETTING_ALIASES.get(name.lower(), name.lower())
        if key in self.settings:
            return self.settings[key]
        if "." in key:
            if missing_ok:
                return None
            raise SqlError(UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"')
        if missing_ok:
            return None
        raise SqlError(UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"')

    def set_setting(self, name: str, values: list[str] | None, local: bool = False) -> None:
        key = _SETTING_ALIASES.get(name.lower(), name.lower())
        if key not in self.settings and "." not in key:
            raise SqlError(UNDEFINED_OBJECT, f'unrecognized configuration parameter "{name}"')
        if key in READ_ONLY_SETTINGS:
            raise SqlError("55P02", f'parameter "{key}" cannot be changed')
        if values is None:
            value = DEFAULT_SETTINGS.get(key, "")
        elif key == "search_path":
            value = ", ".join(_quote_path(v) for v in values)
        else:
            value = ", ".join(values)
        value = self._validate(key, value)
        if key == "transaction_isolation":
            if self.txn is None:
                return     # outside a transaction it has no effect, as in PostgreSQL
        if (local or key == "transaction_isolation") and self.block is not None:
            if self._txn_settings_backup is None:
                self._txn_settings_backup = {}
            self._txn_settings_backup.setdefault(key, self.settings.get(key))
        self.settings[key] = value
        if key in REPORTED:
            self.changed_parameters[REPORTED[key]] = value
        if key in ("search_path", "timezone"):
            self._activate()

    def _validate(self, key: str, value: str) -> str:
        if key == "timezone":
            _zone(value)
            return value.strip("'") if value.upper() not in ("UTC", "GMT") else value.upper() \
                if value.upper() != "GMT" else "GMT"
        if key == "datestyle":
            parts = [p.strip().upper() for p in value.split(",")]
            if "ISO" not in parts and parts and parts[0] not in ("MDY", "DMY", "YMD"):
                raise SqlError(FEATURE_NOT_SUPPORTED, f'DateStyle "{value}" is not supported; '
                               "only ISO output is")
            order = next((p for p in parts if p in ("MDY", "DMY", "YMD")), "MDY")
            return f"ISO, {order}"
        if key == "client_encoding":
            if value.upper().replace("-", "") not in ("UTF8", "UNICODE", "SQL_ASCII"):
                raise SqlError(FEATURE_NOT_SUPPORTED, f'conversion to encoding "{value}" is not '
                               "supported; only UTF8 is")
            return "UTF8" if value.upper() != "SQL_ASCII" else "SQL_ASCII"
        if key in ("transaction_isolation", "default_transaction_isolation"):
            if value.lower() not in ("read committed", "read uncommitted", "repeatable read",
                                     "serializable"):
                raise SqlError(INVALID_PARAMETER_VALUE, f'invalid value for parameter "{key}": '
                               f'"{value}"')
            return value.lower()
        if key == "statement_timeout":
            return _format_duration_ms(_parse_duration_ms(value))
        if key == "synchronous_commit":
            word = value.lower()
            if word in ("true", "yes", "1"):
                word = "on"
            elif word in ("false", "no", "0"):
                word = "off"
            if word not in ("on", "off", "local", "remote_write", "remote_apply"):
                raise SqlError(INVALID_PARAMETER_VALUE, 'invalid value for parameter '
                               f'"synchronous_commit": "{value}"',
                               hint="Available values: local, remote_write, remote_apply, on, off.")
            return word
        if key == "intervalstyle" and value.lower() != "postgres":
            raise SqlError(FEATURE_NOT_SUPPORTED, "only IntervalStyle postgres is supported")
        if key == "standard_conforming_strings" and value.lower() not in ("on", "true", "1"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "standard_conforming_strings must be on")
        return value

    # -- statements ----------------------------------------------------------------------

    def prepare(self, sql: str, param_types: list[T.SqlType] | None = None) -> Prepared:
        """Parse and plan one statement (the extended protocol's Parse). An error here
        fails an open transaction block, as any error does."""
        try:
            return self._prepare(sql, param_types)
        except BaseException:
            if self.block == "explicit":
                self.failed = True
            raise

    def _prepare(self, sql: str, param_types: list[T.SqlType] | None) -> Prepared:
        self._activate()
        self.current_query = sql
        key = (sql, tuple(t.oid for t in param_types or ()))
        cached = self.plan_cache.get(key)
        if cached is not None and cached.version == self.database.version and \
                cached.search_path == self.settings["search_path"]:
            return cached
        statements = parse(sql)
        if len(statements) > 1:
            raise SqlError(SYNTAX_ERROR,
                           "cannot insert multiple commands into a prepared statement")
        if not statements:
            return Prepared(sql, None, [], None, None, self.database.version)
        ast = statements[0][0]
        prepared = self._plan(sql, ast, list(param_types or []))
        if len(self.plan_cache) > 200:
            self.plan_cache.clear()
        if prepared.plan is not None:
            prepared.search_path = self.settings["search_path"]
            self.plan_cache[key] = prepared
        return prepared

    def _plan(self, text, ast, param_types) -> Prepared:
        try:
            return self._plan_statement(text, ast, param_types)
        except RecursionError:
            from .sql.parser import too_complex
            raise too_complex() from None

    def _plan_statement(self, text, ast, param_types) -> Prepared:
        version = self.database.version
        planner = Planner(self, param_types)
        plan = columns = None
        if isinstance(ast, A.Query):
            if self.status == "E":
                raise _aborted()
            plan, columns = planner.plan_query(ast)
            if ast.body.__class__ is A.Select and ast.body.into is not None:
                raise SqlError(FEATURE_NOT_SUPPORTED, "SELECT INTO is not supported; "
                               "use CREATE TABLE AS")
        elif isinstance(ast, (A.Insert, A.Update, A.Delete)):
            if self.status == "E":
                raise _aborted()
            if ast.with_ is not None:
                planner.ctes.append({})
                for cte in ast.with_.tables:
                    planner.plan_cte(cte, ast.with_.recursive, None)
            cls = {A.Insert: InsertPlan, A.Update: UpdatePlan, A.Delete: DeletePlan}[type(ast)]
            plan = cls(planner, ast)
            if planner.modifications:
                plan = WithModifications(planner.modifications, plan)
            columns = plan.columns
        elif isinstance(ast, A.ExecutePrepared):
            target = self.prepared.get(ast.name)
            if target is None:
                raise SqlError(UNDEFINED_PSTATEMENT, f'prepared statement "{ast.name}" does not exist')
            columns = target.columns
        elif isinstance(ast, A.Fetch) and not ast.move:
            cursor = self.cursors.get(ast.name)
            columns = cursor.columns if cursor is not None else None
        elif isinstance(ast, A.ShowVariable):
            columns = self._show_columns(ast)
        elif isinstance(ast, A.Explain):
            columns = [("QUERY PLAN", T.TEXT)]
        for i, t in enumerate(planner.param_types):
            if t.oid == T.UNKNOWN.oid:
                planner.param_types[i] = T.TEXT
        return Prepared(text, ast, planner.param_types, columns, plan, version)

    def execute(self, prepared: Prepared, params: list) -> Result:
        """Run a prepared statement with parameter values (already converted to the
        statement's parameter types)."""
        if prepared.ast is None:
            return Result("EMPTY")
        if prepared.version != self.database.version and prepared.plan is not None:
            fresh = self._plan(prepared.text, prepared.ast, list(prepared.param_types))
            prepared.plan, prepared.columns = fresh.plan, fresh.columns
            prepared.version = fresh.version
        return self._run(prepared, params)

    def simple_query(self, sql: str):
        """Run each statement of a Query message; yields a Result per statement. The
        generator raises the first error (later statements are not run). A statement
        of a shape seen before reuses its plan (plancache.py)."""
        self._activate()
        self.current_query = sql
        plans = self.generic_plans
        search_path = self.settings["search_path"]
        found = plans.find_text(sql, search_path)
        tokens = key = None
        if found is None:
            tokens = tokenize(sql)
            key = GenericPlans.key(tokens)
            if key is not None:
                numbers = numeric_tokens(tokens)
                found = plans.find(key, numbers, search_path)
                if found is not None:
                    plans.learn_text(sql, key, numbers)
        statements = parse(sql, tokens) if found is None else None
        implicit = statements is not None and len(statements) > 1 and self.block is None
        if implicit:
            self.block = "implicit"
        try:
            if found is not None:
                yield self.execute(*found)
            for ast, text in statements or ():
                if len(statements) == 1 and key is not None:
                    prepared, params = self._plan_generic(text, ast, tokens, key, sql)
                else:
                    prepared, params = self._plan(text, ast, []), []
                result = self._run(prepared, params)
                yield result
        except BaseException:
            if self.block == "implicit":
                self._end_transaction(commit=False)
            elif self.block == "explicit":
                self.failed = True
            raise
        if self.block == "implicit":
            self._end_transaction(commit=True)

    def _plan_generic(self, text, ast, tokens, key, sql):
        """Plan a statement (`sql`: the whole query text) with its numbers as parameters,
        and keep the plan for the statements of the same shape; falls back to planning
        it as written."""
        shape = parameterize(ast, tokens)
        if shape is None:
            return self._plan(text, ast, []), []
        types, slots, fixed = shape
        try:
            prepared = self._plan(text, ast, types)
        except SqlError:
            return self._plan(text, parse(text)[0][0], []), []
        prepared.search_path = self.settings["search_path"]
        template = Template(prepared, slots, fixed)
        numbers = numeric_tokens(tokens)
        self.generic_plans.remember(key, template)
        self.generic_plans.learn_text(sql, key, numbers)
        return prepared, template.params(numbers)

    # -- running ---------------------------------------------------------------------------

    def _ensure_txn(self) -> None:
        if self.txn is None:
            self.txn = self.database.storage.begin(self.pid)
            self.txn.check_interrupts = self.check_interrupts
            self._txn_time = dt.datetime.now(dt.timezone.utc)

    def _end_transaction(self, commit: bool) -> None:
        committed = commit and not self.failed
        txn = self.txn
        error = None
        if txn is not None:
            txn.synchronous_commit = self.settings["synchronous_commit"] != "off"
            try:
                if committed:
                    self._save_catalogs(txn)
                    txn.commit()
                else:
                    txn.rollback()
            except SqlError as exc:      # a serialization failure at COMMIT: rolled back
                committed = False
                error = exc
        if not committed and self.database is not None and \
                self.database.oid in self.dirty_catalogs:
            self.database.version += 1        # the catalog changed back: replan
        self.dirty_catalogs.clear()
        self._finish_transaction(committed)
        if error is not None:
            raise error

    def _save_catalogs(self, txn) -> None:
        for oid in self.dirty_catalogs:
            if oid == 0:
                txn.catalog_images[(0, CATALOG)] = dump_cluster(self.engine.cluster)
                continue
            db = next((d for d in self.engine.cluster.databases.values() if d.oid == oid), None)
            if db is not None:
                txn.catalog_images[(oid, CATALOG)] = dump_database(db)

    def _finish_transaction(self, committed: bool) -> None:
        if self.outbox:
            # NOTIFY is transactional: delivered at commit, dropped on rollback.
            outbox, self.outbox = self.outbox, []
            if committed:
                self.engine.deliver(self, outbox)
        self.txn = None
        self.block = None
        self.failed = False
        self.savepoints.clear()
        self._txn_time = None
        self.settings["transaction_isolation"] = self.settings["default_transaction_isolation"]
        if self._txn_settings_backup:
            for key, value in self._txn_settings_backup.items():
                if key != "transaction_isolation":
                    self.settings[key] = value
                    if key in REPORTED:
                        self.changed_parameters[REPORTED[key]] = value
        self._txn_settings_backup = None
        for name in [n for n, c in self.cursors.items() if not c.hold]:
            del self.cursors[name]

    def _run(self, prepared: Prepared, params: list):
        ast = prepared.ast
        if self.failed and not _ends_failed_block(ast):
            raise _aborted()
        if isinstance(ast, A.Transaction):
            return self._transaction(ast)
        self._activate()
        autocommit = self.block is None
        self._ensure_txn()
        self.statement_time = dt.datetime.now(dt.timezone.utc)
        self.deadline = self.statement_deadline()
        self.txn.begin_statement(_ISOLATION[self.settings["transaction_isolation"]])
        self.running = True
        self.cancel_requested = False
        try:
            result = self._dispatch(prepared, params)
        except BaseException:
            self.running = False
            if autocommit or self.block == "implicit":
                # An implicit block (several statements of one query, or of one Sync in
                # the extended protocol) fails as a whole, as in PostgreSQL.
                self._end_transaction(commit=False)
            else:
                self.failed = True
            raise
        self.running = False
        if autocommit and not isinstance(result, CopyInResult):
            self._end_transaction(commit=True)
        return result

    def abort_implicit(self) -> None:
        """An error outside any statement (a bad Bind, say) inside an implicit block."""
        if self.block == "implicit":
            self._end_transaction(commit=False)
        elif self.block == "explicit":
            self.failed = True

    def finish_copy(self, result: CopyInResult, error: Exception | None) -> Result:
        """The end of COPY FROM STDIN: commit (autocommit) or fail."""
        autocommit = self.block is None
        try:
            if error is not None:
                raise error
            count = result.copy_in.finish()
        except BaseException:
            if autocommit:
                self._end_transaction(commit=False)
            elif self.block == "explicit":
                self.failed = True
            raise
        if autocommit:
            self._end_transaction(commit=True)
        return Result(f"COPY {count}")

    def fail_copy(self, result: CopyInResult, error: Exception) -> None:
        if self.block is None:
            self._end_transaction(commit=False)
        elif self.block == "explicit":
            self.failed = True

    def _context(self, params) -> ExecContext:
        return ExecContext(self, self.txn, self.database.storage, params)

    def _dispatch(self, prepared: Prepared, params):
        ast = prepared.ast
        plan = prepared.plan
        if isinstance(ast, A.Query):
            ctx = self._context(params)
            rows = list(plan.rows(ctx))
            return Result(f"SELECT {len(rows)}", prepared.columns, rows)
        if isinstance(ast, (A.Insert, A.Update, A.Delete)):
            return plan.execute(self._context(params))
        handler = getattr(self, "_do_" + type(ast).__name__, None)
        if handler is None:
            raise SqlError(FEATURE_NOT_SUPPORTED, f"{type(ast).__name__} is not supported")
        return handler(ast)

    def _ddl(self) -> DDL:
        # One transaction at a time changes a database's catalog (held until it ends),
        # so the catalog it saves at commit holds nobody else's unfinished changes.
        self.database.storage.lock_catalog(self.txn)
        self.dirty_catalogs.add(self.database.oid)
        return DDL(self, self.txn)

    def _with_notices(self, ddl: DDL, tag: str) -> Result:
        self.notices.extend(ddl.notices)
        return Result(tag)

    # -- transaction control -------------------------------------------------------------

    def _transaction(self, stmt: A.Transaction) -> Result:
        action = stmt.action
        if action == "begin":
            tag = stmt.tag or "BEGIN"
            if self.block == "explicit":
                self.notices.append("there is already a transaction in progress")
                return Result(tag)
            self._ensure_txn()
            self.block = "explicit"
            if "isolation" in stmt.options:
                self.settings["transaction_isolation"] = stmt.options["isolation"]
            return Result(tag)
        if action in ("commit", "rollback"):
            tag = "COMMIT" if action == "commit" else "ROLLBACK"
            if self.block is None:
                self.notices.append("there is no transaction in progress")
                return Result(tag)
            if self.failed and action == "commit":
                tag = "ROLLBACK"
            self._end_transaction(commit=action == "commit")
            if stmt.chain:
                self._ensure_txn()
                self.block = "explicit"
            return Result(tag)
        if self.block is None:
            raise SqlError(NO_ACTIVE_TRANSACTION,
                           f"{_SAVEPOINT_WORDS[action]} can only be used in transaction blocks")
        if action == "savepoint":
            if self.failed:
                raise _aborted()
            self.savepoints.append((stmt.savepoint, self.txn.savepoint()))
            return Result("SAVEPOINT")
        index = next((i for i in range(len(self.savepoints) - 1, -1, -1)
                      if self.savepoints[i][0] == stmt.savepoint), None)
        if index is None:
            raise SqlError(SAVEPOINT_EXCEPTION, f'savepoint "{stmt.savepoint}" does not exist')
        if action == "release":
            if self.failed:
                raise _aborted()
            del self.savepoints[index:]
            return Result("RELEASE")
        name, mark = self.savepoints[index]
        self.txn.rollback_to(mark)
        if self.database.oid in self.dirty_catalogs:
            self.database.version += 1
        del self.savepoints[index + 1:]
        self.failed = False
        return Result("ROLLBACK")

    # -- utility statements ------------------------------------------------------------------

    def _do_CreateTable(self, stmt: A.CreateTable) -> Result:
        ddl = self._ddl()
        if stmt.as_query is None:
            return self._with_notices(ddl, ddl.create_table(stmt))
        planner = Planner(self)
        plan, columns = planner.plan_query(stmt.as_query)
        names = [c.name for c in stmt.columns] + [n for n, _ in columns[len(stmt.columns):]]
        cdefs = [A.ColumnDef(n, A.TypeName(t.name if t.oid != T.UNKNOWN.oid else "text"))
                 for n, (_, t) in zip(names, columns)]
        for cdef, (_, t) in zip(cdefs, columns):
            cdef.type = _type_name_of(t)
        existed = self.database.find_relation(stmt.name, self.search_path()) is not None
        ddl.create_table(A.CreateTable(stmt.name, cdefs, [], stmt.if_not_exists, stmt.temporary))
        if existed and stmt.if_not_exists:
            return self._with_notices(ddl, "CREATE TABLE AS")
        table = self.database.relation(stmt.name, self.search_path())
        count = 0
        if stmt.with_data:
            ctx = self._context([])
            writer = TableWriter(Planner(self), table)
            for row in plan.rows(ctx):
                writer.insert(tuple(row), ctx)
                count += 1
        self.notices.extend(ddl.notices)
        return Result(f"SELECT {count}")

    def _do_DropObjects(self, stmt):
        if stmt.kind == "database" and self.block is not None:
            raise SqlError(ACTIVE_TRANSACTION, "DROP DATABASE cannot run inside a transaction block")
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.drop(stmt))

    def _do_AlterTable(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.alter_table(stmt))

    def _do_CreateIndex(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.create_index(stmt))

    def _do_CreateView(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.create_view(stmt))

    def _do_CreateEnum(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.create_enum(stmt))

    def _do_AlterEnum(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.alter_enum(stmt))

    def _do_CreateSequence(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.create_sequence(stmt))

    def _do_AlterSequence(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.alter_sequence(stmt))

    def _do_CreateSchema(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.create_schema(stmt))

    def _do_Truncate(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.truncate(stmt))

    def _do_Comment(self, stmt):
        ddl = self._ddl()
        return self._with_notices(ddl, ddl.comment(stmt))

    def _do_CreateDatabase(self, stmt):
        if self.block is not None:
            raise SqlError(ACTIVE_TRANSACTION,
                           "CREATE DATABASE cannot run inside a transaction block")
        self.engine.create_database(self, stmt.name)
        return Result("CREATE DATABASE")

    def _do_CreateRole(self, stmt: A.CreateRole):
        roles = self.engine.cluster.roles
        if stmt.alter:
            role = roles.get(stmt.name)
            if role is None:
                raise SqlError(UNDEFINED_OBJECT, f'role "{stmt.name}" does not exist')
            if "password" in stmt.options:
                role.password = stmt.options["password"]
            if "superuser" in stmt.options:
                role.superuser = True
            self.dirty_catalogs.add(0)
            return Result("ALTER ROLE")
        if stmt.name in roles:
            raise SqlError(DUPLICATE_OBJECT, f'role "{stmt.name}" already exists')
        roles[stmt.name] = Role(self.engine.cluster.next_oid(), stmt.name,
                                superuser=bool(stmt.options.get("superuser")),
                                password=stmt.options.get("password"),
                                login=bool(stmt.options.get("login")) or "login" in stmt.options)
        self.dirty_catalogs.add(0)
        return Result("CREATE ROLE")

    def _do_DropRole(self, stmt: A.DropRole):
        for name in stmt.names:
            if name not in self.engine.cluster.roles:
                if stmt.if_exists:
                    self.notices.append(f'role "{name}" does not exist, skipping')
                    continue
                raise SqlError(UNDEFINED_OBJECT, f'role "{name}" does not exist')
            if name == self.user:
                raise SqlError("55006", "current user cannot be dropped")
            del self.engine.cluster.roles[name]
            self.dirty_catalogs.add(0)
        return Result("DROP ROLE")

    def _do_SetVariable(self, stmt: A.SetVariable):
        if stmt.name == "transaction_isolation" and self.block is None:
            self.notices.append("SET TRANSACTION can only be used in transaction blocks")
            return Result("SET")
        self.set_setting(stmt.name, stmt.value, stmt.local)
        return Result("SET")

    def _show_columns(self, stmt: A.ShowVariable):
        if stmt.name == "all":
            return [("name", T.TEXT), ("setting", T.TEXT), ("description", T.TEXT)]
        return [(stmt.name.lower(), T.TEXT)]

    def _do_ShowVariable(self, stmt: A.ShowVariable):
        if stmt.name == "all":
            rows = [(k, self.show_setting(k), "") for k in sorted(self.settings)]
            return Result("SHOW", self._show_columns(stmt), rows)
        value = self.show_setting(stmt.name)
        display = {"timezone": "TimeZone", "datestyle": "DateStyle",
                   "intervalstyle": "IntervalStyle"}.get(stmt.name.lower(), stmt.name.lower())
        return Result("SHOW", [(display, T.TEXT)], [(value,)])

    def _do_ResetVariable(self, stmt: A.ResetVariable):
        if stmt.name == "all":
            for key in list(self.settings):
                if key not in READ_ONLY_SETTINGS and key in DEFAULT_SETTINGS:
                    if self.settings[key] != DEFAULT_SETTINGS[key]:
                        self.set_setting(key, None)
            return Result("RESET")
        self.set_setting(stmt.name, None)
        return Result("RESET")

    def _do_Prepare(self, stmt: A.Prepare):
        if stmt.name in self.prepared:
            raise SqlError(DUPLICATE_PSTATEMENT, f'prepared statement "{stmt.name}" already exists')
        types = [T.lookup_type(t.name, t.typmods, t.array_dims) for t in stmt.param_types]
        prepared = self._plan(stmt.statement_text, stmt.statement, types)
        prepared.from_sql = True
        prepared.text = self.current_query     # PostgreSQL shows the whole query string
        self.prepared[stmt.name] = prepared
        return Result("PREPARE")

    def _do_ExecutePrepared(self, stmt: A.ExecutePrepared):
        prepared = self.prepared.get(stmt.name)
        if prepared is None:
            raise SqlError(UNDEFINED_PSTATEMENT, f'prepared statement "{stmt.name}" does not exist')
        if len(stmt.params) != len(prepared.param_types):
            raise SqlError("42601", f"wrong number of parameters for prepared statement "
                           f'"{stmt.name}"', detail=f"Expected {len(prepared.param_types)} "
                           f"parameters but got {len(stmt.params)}.")
        planner = Planner(self)
        from .expressions import Scope
        values = []
        ctx = self._context([])
        for node, t in zip(stmt.params, prepared.param_types):
            e = planner.compiler.coerce(planner.compiler.compile(node, Scope([])), t, "assignment")
            values.append(e.fn((), ctx))
        if prepared.version != self.database.version and prepared.plan is not None:
            fresh = self._plan(prepared.text, prepared.ast, list(prepared.param_types))
            prepared.plan, prepared.columns, prepared.version = fresh.plan, fresh.columns, fresh.version
        return self._dispatch(prepared, values)

    def _do_Deallocate(self, stmt: A.Deallocate):
        if stmt.name is None:
            self.prepared = {k: v for k, v in self.prepared.items() if k == ""}
        elif self.prepared.pop(stmt.name, None) is None:
            raise SqlError(UNDEFINED_PSTATEMENT, f'prepared statement "{stmt.name}" does not exist')
        return Result("DEALLOCATE" + (" ALL" if stmt.name is None else ""))

    def _do_Discard(self, stmt: A.Discard):
        if stmt.what == "all":
            if self.block == "explicit":
                raise SqlError(ACTIVE_TRANSACTION, "DISCARD ALL cannot run inside a transaction block")
            self.prepared.clear()
            self.plan_cache.clear()
            self.generic_plans.clear()
            self.cursors.clear()
            for key in list(self.settings):
                if key not in READ_ONLY_SETTINGS and key in DEFAULT_SETTINGS and \
                        key != "session_authorization" and self.settings[key] != DEFAULT_SETTINGS[key]:
                    self.set_setting(key, None)
        elif stmt.what == "plans":
            self.plan_cache.clear()
            self.generic_plans.clear()
        return Result("DISCARD " + stmt.what.upper())

    def _do_Explain(self, stmt: A.Explain):
        target = stmt.statement
        started = time.perf_counter()
        planner = Planner(self)
        if isinstance(target, A.Query):
            plan, _ = planner.plan_query(target)
        elif isinstance(target, (A.Insert, A.Update, A.Delete)):
            cls = {A.Insert: InsertPlan, A.Update: UpdatePlan, A.Delete: DeletePlan}[type(target)]
            dml = cls(planner, target)
            verb = type(target).__name__
            table = getattr(dml, "table", None) or dml.target.table
            lines = [f"{verb} on {table.name}"]
            inner = getattr(dml, "target", None)
            if inner is not None:
                lines += inner.plan.explain_lines(1)
            return Result("EXPLAIN", [("QUERY PLAN", T.TEXT)], [(line,) for line in lines])
        else:
            raise SqlError(FEATURE_NOT_SUPPORTED, "EXPLAIN of this statement is not supported")
        if stmt.analyze:
            planned = time.perf_counter()
            instrument(plan)
            for _ in plan.rows(self._context([])):
                pass
            elapsed = (time.perf_counter() - planned) * 1000
            lines = plan.explain_lines()
            lines.append(f"Planning Time: {(planned - started) * 1000:.3f} ms")
            lines.append(f"Execution Time: {elapsed:.3f} ms")
        else:
            lines = plan.explain_lines()
        return Result("EXPLAIN", [("QUERY PLAN", T.TEXT)], [(line,) for line in lines])

    def _do_Listen(self, stmt: A.Listen):
        if stmt.action == "listen":
            with self.engine.lock:
                self.engine.listeners.setdefault(stmt.channel, set()).add(self)
            return Result("LISTEN")
        if stmt.action == "unlisten":
            self.engine.unlisten(self, stmt.channel)
            return Result("UNLISTEN")
        self.notify(stmt.channel, stmt.payload)
        return Result("NOTIFY")

    def notify(self, channel: str, payload: str) -> None:
        if len(payload) >= 8000:
            raise SqlError(INVALID_PARAMETER_VALUE, "payload string too long")
        if (channel, payload) not in self.outbox:      # duplicates in a transaction fold
            self.outbox.append((channel, payload))

    def _do_Utility(self, stmt: A.Utility):
        if stmt.tag == "CHECKPOINT":
            self.engine.storage.checkpoint()
        return Result(stmt.tag)

    def _do_Maintenance(self, stmt: A.Maintenance):
        """VACUUM [ANALYZE] and ANALYZE, of the named tables or of all."""
        if stmt.vacuum and self.block == "explicit":
            raise SqlError("25001", "VACUUM cannot run inside a transaction block")
        if stmt.tables:
            tables = [self.database.relation(n, self.search_path(), "r") for n in stmt.tables]
        else:
            tables = [r for r in self.database.relations() if r.kind == "r"]
        storage = self.database.storage
        for table in tables:
            if stmt.vacuum:
                storage.vacuum(table.oid)
            if stmt.analyze:
                storage.analyze(self.txn, table.oid)
        return Result("VACUUM" if stmt.vacuum else "ANALYZE")

    def _do_Reindex(self, stmt: A.Reindex):
        path = self.search_path()
        if stmt.kind == "index":
            indexes = [self.database.relation(stmt.name, path, "i", "index")]
        elif stmt.kind == "table":
            indexes = self.database.relation(stmt.name, path, "r").indexes
        else:
            indexes = [r for r in self.database.relations() if r.kind == "i" and
                       (stmt.kind != "schema" or r.schema.name == stmt.name[-1])]
        self._ddl()
        for index in indexes:
            if index.storage_backed:
                self.database.storage.reindex(self.txn, index.oid)
        return Result("REINDEX")

    def _do_LockTable(self, stmt: A.LockTable):
        if self.block != "explicit":
            raise SqlError("25P01", "LOCK TABLE can only be used in transaction blocks")
        mode = _LOCK_MODES.get(stmt.mode)
        if mode is None:
            raise SqlError(SYNTAX_ERROR, f'syntax error at or near "{stmt.mode.split()[0]}"')
        for names in stmt.tables:
            table = self.database.relation(names, self.search_path(), "r")
            self.database.storage.lock_table(self.txn, table.oid, mode, stmt.nowait)
        return Result("LOCK TABLE")

    def _do_DeclareCursor(self, stmt: A.DeclareCursor):
        if self.block != "explicit" and not stmt.hold:
            raise SqlError(NO_ACTIVE_TRANSACTION,
                           "DECLARE CURSOR can only be used in transaction blocks")
        if stmt.name in self.cursors:
            raise SqlError("42P03", f'cursor "{stmt.name}" already exists')
        plan, columns = Planner(self).plan_query(stmt.query)
        rows = list(plan.rows(self._context([])))
        self.cursors[stmt.name] = Cursor(stmt.name, columns, rows, stmt.hold)
        return Result("DECLARE CURSOR")

    def _do_Fetch(self, stmt: A.Fetch):
        cursor = self.cursors.get(stmt.name)
        if cursor is None:
            raise SqlError(UNDEFINED_CURSOR, f'cursor "{stmt.name}" does not exist')
        rows = []
        limit = stmt.count
        while limit is None or len(rows) < limit:
            row = next(cursor.rows, None)
            if row is None:
                break
            rows.append(row)
        if stmt.move:
            return Result(f"MOVE {len(rows)}")
        return Result(f"FETCH {len(rows)}", cursor.columns, rows)

    def _do_CloseCursor(self, stmt: A.CloseCursor):
        if stmt.name is None:
            self.cursors.clear()
        elif self.cursors.pop(stmt.name, None) is None:
            raise SqlError(UNDEFINED_CURSOR, f'cursor "{stmt.name}" does not exist')
        return Result("CLOSE CURSOR")

    def _do_Copy(self, stmt: A.Copy):
        if stmt.target not in ("stdin", "stdout"):
            raise SqlError("42501", "must be superuser or have privileges of the "
                           "pg_read_server_files role to COPY from a file",
                           hint="Anyone can COPY to stdout or from stdin. psql's \\copy command "
                                "also works for anyone.")
        opts = CopyOptions(stmt.options)
        planner = Planner(self)
        if stmt.direction == "to":
            if stmt.query is not None:
                plan, columns = planner.plan_query(stmt.query)
            else:
                table = self.database.relation(stmt.table, self.search_path(), "r")
                positions = target_columns(table, stmt.columns)
                query = A.Query(A.Select([A.Target(A.ColumnRef([table.columns[i].name]))
                                          for i in positions],
                                         from_=[A.TableRef(stmt.table)]))
                plan, columns = planner.plan_query(query)
            rows = list(plan.rows(self._context([])))
            lines = copy_out_lines(rows, [t for _, t in columns], opts, [n for n, _ in columns])
            return CopyOutResult(list(lines), len(columns), opts, len(rows))
        if stmt.target != "stdin":
            raise SqlError(FEATURE_NOT_SUPPORTED, "COPY FROM a file is not supported")
        table = self.database.relation(stmt.table, self.search_path(), "r")
        positions = target_columns(table, stmt.columns)
        writer = TableWriter(planner, table)
        ctx = self._context([])
        width = len(table.columns)

        def write(values):
            row = [None] * width
            provided = [False] * width
            for i, v in zip(positions, values):
                row[i] = v
                provided[i] = True
            writer.insert(writer.complete(row, provided, ctx), ctx)
        types = [table.columns[i].type for i in positions]
        return CopyInResult(CopyIn(opts, types, write), len(positions), self, opts)


# READ UNCOMMITTED behaves as READ COMMITTED, as in PostgreSQL.
_ISOLATION = {"read committed": "read committed", "read uncommitted": "read committed",
              "repeatable read": "repeatable read", "serializable": "serializable"}

_LOCK_MODES = {"access share": ACCESS_SHARE, "row share": ROW_SHARE,
               "row exclusive": ROW_EXCLUSIVE, "share update exclusive": SHARE_UPDATE_EXCLUSIVE,
               "share": SHARE, "share row exclusive": SHARE_ROW_EXCLUSIVE,
               "exclusive": EXCLUSIVE, "access exclusive": ACCESS_EXCLUSIVE}

_SAVEPOINT_WORDS = {"savepoint": "SAVEPOINT", "release": "RELEASE SAVEPOINT",
                    "rollback_to": "ROLLBACK TO SAVEPOINT"}


def _aborted() -> SqlError:
    return SqlError(IN_FAILED_TRANSACTION, "current transaction is aborted, commands ignored "
                    "until end of transaction block")


def _ends_failed_block(ast) -> bool:
    return isinstance(ast, A.Transaction) and ast.action in ("rollback", "rollback_to", "commit")


def _quote_path(value: str) -> str:
    v = value.strip()
    if v.startswith('"'):
        return v
    if v == "$user":
        return '"$user"'
    return v


def _zone(name: str):
    return F.zone_info(name)


def _format_duration_ms(ms: int) -> str:
    """A duration as SHOW prints it: the largest unit that divides it."""
    if ms == 0:
        return "0"
    for unit, size in (("d", 86400000), ("h", 3600000), ("min", 60000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _parse_duration_ms(value: str) -> int:
    text = value.strip().lower().replace(" ", "")
    for suffix, factor in (("ms", 1), ("min", 60000), ("s", 1000), ("h", 3600000), ("d", 86400000)):
        if text.endswith(suffix):
            number = text[:-len(suffix)]
            try:
                return int(float(number) * factor)
            except ValueError:
                break
    try:
        return int(float(text))
    except ValueError:
        raise SqlError(INVALID_PARAMETER_VALUE, f'invalid value for parameter "statement_timeout": '
                       f'"{value}"') from None


def _type_name_of(t: T.SqlType) -> A.TypeName:
    if t.oid == T.UNKNOWN.oid:
        return A.TypeName("text")
    if t.elem is not None:
        inner = _type_name_of(t.elem)
        inner.array_dims = 1
        return inner
    mods = []
    if t.typmod >= 0:
        if t.oid in (T.VARCHAR.oid, T.BPCHAR.oid):
            mods = [t.typmod - 4]
        elif t.oid == T.NUMERIC_T.oid:
            mods = [(t.typmod - 4) >> 16, (t.typmod - 4) & 0xFFFF]
    return A.TypeName(t.name, mods)

