"""The ledger: an SQLite file with one record per answered request.

Where: $ORCLI_LEDGER, else $XDG_DATA_HOME/orcli/ledger.db, else
~/.local/share/orcli/ledger.db; `ORCLI_LEDGER=off` or config `ledger = false`
turn it off. The file is created 0600 in a 0700 directory before SQLite opens
it (SQLite gives its -wal and -shm files the database's own mode).

Many orcli processes may write at once (a batch, a CI matrix on one runner):
WAL lets readers and one writer work together, writes take the lock up front
(`BEGIN IMMEDIATE`, so no reader-turned-writer deadlock) and wait up to
BUSY_TIMEOUT_MS for it, and every record carries a random `record_id` that
is UNIQUE, so an import or a retried write never doubles a record.
`synchronous=NORMAL` in WAL mode skips the fsync per commit (a power cut may
lose the last records, never corrupt the file): the write must not be felt.

Schema changes go in MIGRATIONS, one step per `PRAGMA user_version`; a file
of a newer orcli is left alone (neither read nor written) by this one.

`Ledger.record` never raises: a ledger that cannot be written warns once
and changes neither the output nor the exit code of the call it records.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orcli.errors import ConfigError
from orcli.store.config import home_dir
from orcli.store.ledger_record import LedgerRecord, money_from_text, money_text

if TYPE_CHECKING:
    import sqlite3

OFF = "off"
BUSY_TIMEOUT_MS = 30_000
COLUMNS = ("record_id", "time", "command", "base_url", "model_asked", "model_served",
           "provider", "generation_id", "prompt_tokens", "completion_tokens",
           "reasoning_tokens", "cached_tokens", "cost", "cost_source", "worst_case",
           "exit_code", "duration_ms", "tags", "batch_id", "row_id", "counted_prompt_tokens",
           "count_kind")

# MIGRATIONS[n] takes a ledger from user_version n to n + 1. Never edit a step once
# released: add one. Version 1 is the first release's schema.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE record (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL UNIQUE,
        time TEXT NOT NULL,
        command TEXT NOT NULL,
        base_url TEXT NOT NULL,
        model_asked TEXT NOT NULL,
        model_served TEXT,
        provider TEXT,
        generation_id TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        reasoning_tokens INTEGER,
        cached_tokens INTEGER,
        cost TEXT,
        cost_source TEXT NOT NULL CHECK (cost_source IN ('billed', 'estimated', 'unknown')),
        worst_case TEXT,
        exit_code INTEGER NOT NULL,
        duration_ms INTEGER,
        tags TEXT NOT NULL DEFAULT '{}',
        batch_id TEXT,
        row_id TEXT,
        counted_prompt_tokens INTEGER,
        count_kind TEXT
    );
    CREATE INDEX record_time ON record (time);
    CREATE INDEX record_generation ON record (generation_id) WHERE generation_id IS NOT NULL;
    -- token-count calibration (issue 19) reads a served model's latest calls
    CREATE INDEX record_model_time ON record (model_served, time);
    CREATE TABLE tag (
        record INTEGER NOT NULL REFERENCES record (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (record, key)
    ) WITHOUT ROWID;
    CREATE INDEX tag_key_value ON tag (key, value, record);
    """,
    # Calibration reads only the calls orcli counted by estimate: without this, a
    # model's every record was scanned for them (10 ms a model at 100,000 records).
    """
    CREATE INDEX record_calibration ON record (model_served, time)
        WHERE count_kind = 'estimate' AND counted_prompt_tokens > 0 AND prompt_tokens > 0;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class LedgerError(ConfigError):
    """The ledger cannot be opened, read or written (exit 3 where it must be read)."""


def ledger_path(env: Mapping[str, str], config_enabled: bool = True) -> Path | None:
    """Where the ledger lives, or None when it is turned off."""
    named = env.get("ORCLI_LEDGER", "")
    if named.strip().lower() == OFF or not config_enabled:
        return None
    if named:
        return Path(named).expanduser()
    data_home = env.get("XDG_DATA_HOME", "")
    # The XDG spec: a relative path in XDG_DATA_HOME is invalid and must be ignored.
    base = Path(data_home) if os.path.isabs(data_home) else home_dir(env) / ".local" / "share"
    return base / "orcli" / "ledger.db"


def open_ledger(env: Mapping[str, str], config_enabled: bool,
                warn: Callable[[str], None]) -> Ledger | None:
    """The ledger to record into and read from, or None when it is turned off.

    Nothing is touched on disk until the first read or write.
    """
    path = ledger_path(env, config_enabled)
    return None if path is None else Ledger(path, warn)


class Ledger:
    """One ledger file; the connection opens on first use. Safe to share between threads."""

    def __init__(self, path: Path, warn: Callable[[str], None]) -> None:
        self.path = path
        self.warn = warn
        self._conn: sqlite3.Connection | None = None
        self._broken = False  # a write failed once: warned, and no more tries this run
        # batch's workers record from their own threads through one connection.
        self._lock = threading.RLock()

    # ---- writing ---------------------------------------------------------------

    def record(self, rec: LedgerRecord) -> bool:
        """Add one record; never raises. False (after one warning) when it could not be."""
        with self._lock:
            if self._broken:
                return False
            try:
                conn = self.connect(create=True)
                with _write(conn):
                    _insert(conn, rec)
                return True
            except Exception as exc:  # noqa: BLE001 - the ledger must never cost the answer
                self._broken = True
                problem = exc.message if isinstance(exc, LedgerError) else \
                    f"cannot write the ledger {self.path}: {_why(exc)}"
                self.warn(f"orcli: warning: {problem}; this call is not recorded")
                return False

    def import_records(self, records: Iterable[LedgerRecord]) -> tuple[int, int]:
        """Add records not yet present, in one transaction: (added, already there)."""
        added = seen = 0
        with self._lock, _write(self.connect(create=True)) as conn:
            for rec in records:
                if _insert(conn, rec):
                    added += 1
                else:
                    seen += 1
        return added, seen

    def set_billed_cost(self, generation_id: str, amount: Any, base_url: str) -> int:
        """The billed cost of a generation replaces its estimate; the records changed.

        Only records made against `base_url`: ids are unique per server, not across them.
        """
        if not self.path.exists():
            return 0
        with self._lock, _write(self.connect()) as conn:
            cursor = conn.execute(
                "UPDATE record SET cost = ?, cost_source = 'billed' WHERE generation_id = ? "
                "AND base_url = ?", (money_text(amount), generation_id, base_url))
        return cursor.rowcount

    # ---- reading ---------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read query; an absent ledger file reads as empty (and is not created)."""
        if not self.path.exists():
            return []
        try:
            with self._lock:
                return self.connect().execute(sql, tuple(params)).fetchall()
        except LedgerError:
            raise
        except Exception as exc:  # noqa: BLE001 - sqlite3.Error, OSError: say which file
            raise LedgerError(f"cannot read the ledger {self.path}: {_why(exc)}") from None

    def iter_records(self, where: str = "", params: Iterable[Any] = ()) -> Iterator[LedgerRecord]:
        """The records matching a WHERE clause over `record r`, oldest first."""
        columns = ", ".join(f"r.{c}" for c in COLUMNS)
        rows = self.query(f"SELECT {columns} FROM record r {where} ORDER BY r.time, r.id", params)
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            values["cost"] = money_from_text(values["cost"])
            values["worst_case"] = money_from_text(values["worst_case"], "worst_case")
            values["tags"] = json.loads(values["tags"])
            yield LedgerRecord(**values)

    # ---- the connection -----------------------------------------------------------

    def connect(self, create: bool = False) -> sqlite3.Connection:
        """The open connection, with the schema brought up to date."""
        if self._conn is not None:
            return self._conn
        import sqlite3

        try:
            if create:
                _create_file(self.path)
            # isolation_level=None: transactions are the explicit BEGIN IMMEDIATE of _write.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            _migrate(conn, self.path)
        except LedgerError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(f"cannot open the ledger {self.path}: {_why(exc)}") from None
        self._conn = conn
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _create_file(path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL-free: another process may create it at the same moment, which is fine.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise LedgerError(f"the ledger {path} has schema version {version}, newer than this "
                          f"orcli knows ({SCHEMA_VERSION}); upgrade orcli")
    conn.execute("PRAGMA journal_mode = WAL")  # persistent: set once, when the file is made
    with _write(conn):
        # Read again under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {max(version, SCHEMA_VERSION)}")


class _write:
    """A write transaction that takes the write lock at once; rolled back on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


_INSERT = (f"INSERT OR IGNORE INTO record ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(COLUMNS))})")


def _insert(conn: sqlite3.Connection, rec: LedgerRecord) -> bool:
    """Insert one record and its tags; False when its record_id is already there."""
    values = {name: getattr(rec, name) for name in COLUMNS}
    values["cost"] = money_text(rec.cost)
    values["worst_case"] = money_text(rec.worst_case)
    values["tags"] = json.dumps(rec.tags, ensure_ascii=False, sort_keys=True)
    cursor = conn.execute(_INSERT, tuple(values[name] for name in COLUMNS))
    if cursor.rowcount == 0:
        return False
    conn.executemany("INSERT INTO tag (record, key, value) VALUES (?, ?, ?)",
                     [(cursor.lastrowid, k, v) for k, v in rec.tags.items()])
    return True


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
