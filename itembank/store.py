"""The item bank: one SQLite file, opened as a :class:`Bank`.

The bank is the only place in certbank that speaks SQL (this module and the mixins it is built from:
``frameworks_store``, ``items_store``, ``records_store``, ``administrations_store``, ``parameters_store``). Every write runs in one transaction
(``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` on any error) and appends to the audit log in that same
transaction, so a failed operation leaves the file exactly as it was. Transactions nest: an outer
``with bank.transaction():`` makes several writes one unit (``load_sample`` uses this).

Connections use WAL journaling, foreign keys and a busy timeout, so a second process (or a second
connection in this one) can read while another writes and waits rather than failing when the bank is busy.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from certbank_core.errors import BankError
from itembank import schema
from itembank.administrations_store import AdministrationsMixin
from itembank.frameworks_store import FrameworksMixin
from itembank.items_store import ItemsMixin
from itembank.model import AuditEntry, utc_now
from itembank.parameters_store import ParametersMixin
from itembank.records_store import RecordsMixin

#: How long a writer waits for another connection's lock before giving up (milliseconds).
BUSY_TIMEOUT_MS = 10_000
MEMORY = ":memory:"


def database_fault(err: BaseException, path) -> BankError | None:
    """The sentence for an SQLite error the user's environment caused (a read-only or damaged bank, a full
    disk), or None for any other error, which is a bug and keeps its traceback."""
    if not isinstance(err, sqlite3.DatabaseError):
        return None
    text = str(err)
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return BankError(f"The bank {path} is read-only ({text}); this command changes the bank, so run it where "
                         "the file and its folder can be written. Nothing was changed.")
    if "malformed" in low:
        return BankError(f"The bank {path} is damaged ({text}). Restore it from your latest backup (keep the "
                         "damaged copy for inspection); certbank changed nothing.")
    if "disk is full" in low or "disk i/o error" in low:
        return BankError(f"The bank {path} could not be written ({text}): free some disk space and run the "
                         "command again. The bank is as it was before the command.")
    return None


def _writable(path: str) -> bool:
    """Whether SQLite can write the bank: the file, and its folder (for the WAL and shared-memory files)."""
    folder = Path(path).parent
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)


def _connect_read_only(path: str) -> sqlite3.Connection:
    """Open a bank that cannot be written (permissions, a read-only mount) for reading only. A WAL bank on a
    read-only mount has no shared-memory file to make, so it is opened as immutable: nothing can change it."""
    uri = Path(path).resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)


@contextmanager
def _no_interrupt():
    """Hold SIGINT (Ctrl-C) back while the block runs; it is delivered right after. The Python handler is
    swapped, not the signal mask: the kernel may hand a process's SIGINT to any thread (numpy's BLAS threads
    among them), and only the handler, which always runs in the main thread, sees every one. Outside the main
    thread the block runs as it is."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if caught and callable(old):
            old(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt here
        elif caught and old == signal.SIG_DFL:
            raise KeyboardInterrupt


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Bank(FrameworksMixin, ItemsMixin, RecordsMixin, AdministrationsMixin, ParametersMixin):
    """An open item bank. Use :meth:`open` / :meth:`create`, and close it (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: str, user: str):
        self.read_only = False
        self.committed_actions: Counter = Counter()  # audit actions committed through this object
        self._pending_actions: Counter = Counter()
        self._conn = conn
        self.path = path
        self.user = user or "unknown"
        self._depth = 0

    # ---- opening and closing ----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, user: str = "unknown", must_exist: bool = True) -> "Bank":
        """Open the bank at ``path``; with ``must_exist=False`` create it (schema and all) if it is missing.

        Raises :class:`BankError` if the file is missing (and must exist), is not a certbank bank, or was
        made by a newer certbank.
        """
        path = str(path)
        is_new = path == MEMORY or not Path(path).exists() or Path(path).stat().st_size == 0
        if is_new and must_exist and path != MEMORY:
            raise BankError(f"There is no bank at {path}. Create one with `certbank init` (or pass --bank).")
        if path != MEMORY and not Path(path).parent.exists():
            raise BankError(f"Cannot create a bank at {path}: the folder {Path(path).parent} does not exist.")
        read_only = not is_new and path != MEMORY and not _writable(path)
        try:
            conn = _connect_read_only(path) if read_only else \
                sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as err:
            raise BankError(f"Cannot open the bank at {path}: {err}.") from None
        conn.row_factory = sqlite3.Row
        bank = cls(conn, path, user)
        bank.read_only = read_only
        try:
            bank._prepare(is_new)
        except BaseException:
            conn.close()
            raise
        return bank

    @classmethod
    def create(cls, path: str | Path, user: str = "unknown") -> "Bank":
        """Create a new, empty bank at ``path``. Refuses to touch a file that already exists."""
        if str(path) != MEMORY and Path(path).exists() and Path(path).stat().st_size > 0:
            raise BankError(f"{path} already exists; open it instead of creating it.")
        return cls.open(path, user=user, must_exist=False)

    def _prepare(self, is_new: bool) -> None:
        conn = self._conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            version = schema.schema_version(conn)
            if not is_new:
                self._check_is_bank(version)
            if self.path != MEMORY and not self.read_only \
                    and conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as err:
            fault = database_fault(err, self.path)
            if fault is not None:
                raise fault from None
            raise BankError(f"{self.path} is not a certbank bank ({err}).") from None
        if version < schema.SCHEMA_VERSION and self.read_only:
            raise BankError(f"The bank {self.path} is read-only and was made by an older certbank (schema "
                            f"{version}); open it once where it can be written so that it is upgraded.")
        if version < schema.SCHEMA_VERSION:
            with self.transaction():
                schema.migrate(conn)

    def _check_is_bank(self, version: int) -> None:
        if version > schema.SCHEMA_VERSION:
            raise BankError(
                f"{self.path} was made by a newer certbank (schema {version}; this one knows up to "
                f"{schema.SCHEMA_VERSION}). Upgrade certbank to open it."
            )
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and tables:
            raise BankError(f"{self.path} is an SQLite file but not a certbank bank.")
        if version > 0:
            row = self._conn.execute("SELECT value FROM meta WHERE name = 'application'").fetchone()
            if row is None or row[0] != schema.APPLICATION_TAG:
                raise BankError(f"{self.path} is an SQLite file but not a certbank bank.")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Bank":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return schema.schema_version(self._conn)

    # ---- transactions and the audit log -----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One unit of writes: all or nothing. Nested calls join the outermost transaction."""
        if self._conn is None:
            raise BankError("The bank is closed.")
        if self._depth == 0:
            if self.read_only:
                raise database_fault(sqlite3.OperationalError("attempt to write a readonly database"), self.path)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as err:
                raise database_fault(err, self.path) or \
                    BankError(f"The bank {self.path} is busy ({err}); try again.") from None
        self._depth += 1
        try:
            yield self._conn
        except BaseException as err:
            self._depth -= 1
            if self._depth == 0:
                self._rollback()
                fault = database_fault(err, self.path)
                if fault is not None:
                    raise fault from err
            raise
        self._depth -= 1
        if self._depth == 0:
            with _no_interrupt():  # Ctrl-C waits until the commit and its bookkeeping are done
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.DatabaseError as err:
                    self._rollback()
                    self._pending_actions.clear()
                    raise database_fault(err, self.path) or err
                self.committed_actions.update(self._pending_actions)
                self._pending_actions.clear()

    def committed_summary(self) -> str:
        """The audit actions committed through this object, e.g. 'item.create ×50,000, framework.create ×1'."""
        return ", ".join(f"{action} ×{n:,}" for action, n in self.committed_actions.most_common())

    def _rollback(self) -> None:
        """Undo the open transaction; SQLite may have rolled it back itself (a full disk), which is fine."""
        self._pending_actions.clear()
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _q(self, sql: str, params=()) -> list[sqlite3.Row]:
        if self._conn is None:
            raise BankError("The bank is closed.")
        return self._conn.execute(sql, params).fetchall()

    def _x(self, sql: str, params=()) -> sqlite3.Cursor:
        """Execute a write; only valid inside :meth:`transaction`."""
        assert self._depth > 0, "writes must run inside bank.transaction()"
        return self._conn.execute(sql, params)

    def _audit(self, action: str, item_id: str | None = None, before=None, after=None) -> None:
        self._pending_actions[action] += 1
        self._x(
            "INSERT INTO audit_log(at, user, action, item_id, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (utc_now(), self.user, action, item_id, _json(before), _json(after)),
        )

    def audit_log(self, item_id: str | None = None) -> list[AuditEntry]:
        """Every audit entry (oldest first), or only those about ``item_id``."""
        sql = "SELECT * FROM audit_log"
        params: tuple = ()
        if item_id is not None:
            sql += " WHERE item_id = ?"
            params = (item_id,)
        rows = self._q(sql + " ORDER BY id", params)
        return [
            AuditEntry(
                entry_id=r["id"], at=r["at"], user=r["user"], action=r["action"], item_id=r["item_id"],
                before=None if r["before"] is None else json.loads(r["before"]),
                after=None if r["after"] is None else json.loads(r["after"]),
            )
            for r in rows
        ]
