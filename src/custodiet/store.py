"""The store: one folder (``--home`` / ``CUSTODIET_HOME``, default ``./custodiet-data``).

    <home>/keys/           pseudonym.key (mode 0600) and its fingerprint; ledger-signing.json (the ledger's
                           public key); ledger-signing.key only when the signing key is kept in the store
    <home>/config.toml     optional settings (``custodiet.config``): signing key, trust file, canary blocks
    <home>/ledger/         segments/*.parquet (the events), nodes.bin (Merkle tree), manifest.jsonl
                           (segment digests), heads.jsonl (signed tree heads), ids.bin (event id index),
                           journal.jsonl (the segments an append under way is publishing)
    <home>/quarantine/     rejected records (Parquet; raw text sealed)
    <home>/context/        actors, cases, case_subjects, protected, canaries (Parquet), network.toml
    <home>/findings/       findings per detector, each with the signed tree size it covers
    <home>/cases/          journal.jsonl: investigators' cases, every action hash-chained (``custodiet.cases``)
    <home>/index/          the leak-trace access index (rebuilt when the ledger changes)
    <home>/gateway/        tokens.jsonl: the gateway's bearer tokens as SHA-256 digests (``gateway.tokens``)
    <home>/tmp/            DuckDB spill space and detectors' scratch tables (one folder per process)
    <home>/catalog.duckdb  views over the tables above, for ad-hoc SQL (replaced after every write)
    <home>/lock            the writers' lock (``writelock``); it names the process holding it

Readers never lock: they work from one signed state of the ledger (``ledger.snapshot``). Writers lock
per commit (``Store.writer``), and remove what dead processes left behind (``scratch``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from custodiet.config import Config, load_config
from custodiet.events import EVENT_SCHEMA, sql_text
from custodiet.identifiers import IdentifierRules
from custodiet.pseudonym import Pseudonymiser, checked_key
from custodiet.writelock import DEFAULT_TIMEOUT, WriteLock, file_lock

if TYPE_CHECKING:
    from custodiet.ledger.snapshot import Snapshot

HOME_ENV = "CUSTODIET_HOME"
DEFAULT_HOME = "custodiet-data"

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),  # input file name
        pa.field("line", pa.int64(), nullable=False),  # 1-based line, row or frame
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw_sealed", pa.binary()),  # the raw record, cut short, AES-GCM sealed
        pa.field("record_key", pa.string()),  # keyed digest of channel, source, line, raw: no double entries
        pa.field("channel", pa.string()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

# Context tables: name -> schema of the stored (pseudonymised) form.
CONTEXT_SCHEMAS: dict[str, pa.Schema] = {
    "actors": pa.schema([("actor", pa.string()), ("org", pa.string()), ("role", pa.string()),
                         ("region", pa.string())]),
    "cases": pa.schema([("case_id", pa.string()), ("org", pa.string()),
                        ("opened", pa.timestamp("us", tz="UTC")), ("closed", pa.timestamp("us", tz="UTC"))]),
    "case_subjects": pa.schema([("case_id", pa.string()), ("subject", pa.string()),
                                ("subject_kind", pa.string())]),
    "protected": pa.schema([("subject", pa.string()), ("subject_kind", pa.string()),
                            ("category", pa.string())]),
    "warrants": pa.schema([("warrant_id", pa.string()), ("agency", pa.string()), ("issuer", pa.string()),
                           ("authority_level", pa.string()), ("target", pa.string()), ("target_kind", pa.string()),
                           ("data_kinds", pa.string()), ("valid_from", pa.timestamp("us", tz="UTC")),
                           ("valid_to", pa.timestamp("us", tz="UTC"))]),
    "canaries": pa.schema([("subject", pa.string()), ("subject_kind", pa.string()), ("actor", pa.string()),
                           ("org", pa.string()), ("issued_at", pa.timestamp("us", tz="UTC"))]),
}

# context tables whose subjects are pseudonyms
PSEUDONYMISED_CONTEXT = ("case_subjects", "protected", "canaries", "warrants")

_DUCKDB_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "binary": "BLOB", "timestamp[us, tz=UTC]": "TIMESTAMPTZ"}


def resolve_home(home: str | Path | None) -> Path:
    return Path(home or os.environ.get(HOME_ENV) or DEFAULT_HOME).absolute()


class Store:
    """The home folder. ``lock_timeout``: seconds a writer waits for the lock before giving up;
    ``on_lock_wait``: told (once, after a second) what a waiting writer waits for."""

    def __init__(self, home: str | Path | None = None, rules: IdentifierRules | None = None,
                 lock_timeout: float = DEFAULT_TIMEOUT, on_lock_wait: Callable[[str], None] | None = None):
        self.home = resolve_home(home)
        self.rules = rules or IdentifierRules()
        self.lock_timeout = lock_timeout
        self.on_lock_wait = on_lock_wait
        self._pseudonymiser: Pseudonymiser | None = None
        self._held = threading.local()  # how deep this thread is in ``writer``

    # -- layout -------------------------------------------------------------------------------
    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def ledger_dir(self) -> Path:
        return self.home / "ledger"

    @property
    def segments_dir(self) -> Path:
        return self.ledger_dir / "segments"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def context_dir(self) -> Path:
        return self.home / "context"

    @property
    def tmp_dir(self) -> Path:
        return self.home / "tmp"

    def context_path(self, name: str) -> Path:
        return self.context_dir / f"{name}.parquet"

    def init(self) -> None:
        for d in (self.segments_dir, self.quarantine_dir, self.context_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)

    def segment_paths(self) -> list[Path]:
        """Event segments in append order (their names are zero-padded sequence numbers)."""
        folder = self.segments_dir
        return [folder / n for n in self.segment_names()]

    def segment_names(self) -> list[str]:
        """The segments' file names in append order (names sort as their paths do, and cost far less)."""
        folder = self.segments_dir
        if not folder.exists():
            return []
        return sorted(n for n in os.listdir(folder) if n.endswith(".parquet") and not n.startswith("."))

    def quarantine_paths(self) -> list[Path]:
        if not self.quarantine_dir.exists():
            return []
        return sorted(p for p in self.quarantine_dir.glob("*.parquet") if not p.name.startswith("."))

    # -- keys ---------------------------------------------------------------------------------
    @property
    def pseudonymiser(self) -> Pseudonymiser:
        if self._pseudonymiser is None:
            self.init()
            key = checked_key(self.keys_dir, holds_data=self.holds_pseudonymised_data())
            self._pseudonymiser = Pseudonymiser(key, self.rules)
        return self._pseudonymiser

    def holds_pseudonymised_data(self) -> bool:
        """Does anything in the store carry pseudonyms or sealed records: events, quarantine, or the context
        tables of subjects (actors and cases carry none)?"""
        return bool(self.segment_paths() or self.quarantine_paths()
                    or any(self.context_path(n).exists() for n in PSEUDONYMISED_CONTEXT)
                    or (self.ledger_dir / "heads.jsonl").exists())

    def config(self) -> Config:
        """The deployment's settings (``custodiet.config``): ``<home>/config.toml`` or ``CUSTODIET_CONFIG``."""
        return load_config(self.home)

    # -- writers' lock ------------------------------------------------------------------------
    @contextmanager
    def writer(self, purpose: str = "a write", catalog: bool = True) -> Iterator[None]:
        """Exclusive lock for one commit (an appended batch, a context table, a quarantine file): hold it
        briefly, so that other writers interleave. A waiting writer says so after a second (``on_lock_wait``)
        and gives up after ``lock_timeout`` seconds (``writelock.LockTimeout``). Files left by dead
        processes are removed once the lock is held. The SQL catalog is replaced after the lock is let go,
        unless ``catalog`` is False (a writer committing many batches replaces it once, at its end).
        Re-entrant within a thread."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        self.init()
        with WriteLock(self.home, purpose, self.lock_timeout, self.on_lock_wait):
            self._held.depth = 1
            try:
                from custodiet.scratch import remove_dead

                remove_dead(self)
                yield
            finally:
                self._held.depth = 0
        if catalog:
            self.write_catalog()

    @property
    def holds_lock(self) -> bool:
        return bool(getattr(self._held, "depth", 0))

    # -- queries ------------------------------------------------------------------------------
    def connect(self, memory_limit: str = "3GB", snapshot: Snapshot | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with views: events (the segments of one signed state of the
        ledger: ``snapshot``, or the newest), quarantine and the context tables."""
        from custodiet.scratch import process_dir

        self.init()
        spill = process_dir(self, "duckdb")
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(spill)})
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # progress is shown by the CLI, not the engine
        self._create_views(con, self._segments(snapshot))
        return con

    def refresh_views(self, con: duckdb.DuckDBPyConnection, snapshot: Snapshot | None = None) -> None:
        """Point the views of a ``connect`` connection at a newer signed state (after an append)."""
        self._create_views(con, self._segments(snapshot))

    def _segments(self, snapshot: Snapshot | None) -> list[Path]:
        if snapshot is None:
            from custodiet.ledger.snapshot import take

            snapshot = take(self)
        return snapshot.segments

    def _create_views(self, con: duckdb.DuckDBPyConnection, segments: list[Path], persistent: bool = False) -> None:
        """Views over every store table; an absent table is an empty one of its schema (in the persistent
        catalog an absent table has no view, so that ad-hoc SQL says plainly it is not there)."""
        tables = [("events", segments, EVENT_SCHEMA), ("quarantine", self.quarantine_paths(), QUARANTINE_SCHEMA)]
        tables += [(n, [self.context_path(n)] if self.context_path(n).exists() else [], schema)
                   for n, schema in CONTEXT_SCHEMAS.items()]
        for name, paths, schema in tables:
            if paths:
                listing = ", ".join(sql_text(str(p)) for p in paths)
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet([{listing}])")
            elif persistent:
                con.execute(f"DROP VIEW IF EXISTS {name}")
            else:  # typed NULLs, not a registered empty Arrow table: registering imports pandas (0.5 s)
                cols = ", ".join(f"CAST(NULL AS {_DUCKDB_TYPES[str(f.type)]}) AS {f.name}" for f in schema)
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {cols} WHERE false")

    def write_catalog(self) -> Path:
        """Replace ``<home>/catalog.duckdb``: persistent views over the newest signed state, for ad-hoc SQL.

        The catalog is built in a new file and renamed into place, so a process that has the old one open
        (any number of readers) neither blocks this nor sees a half-made catalog; it keeps the old views
        until it reconnects. Writers take turns on ``catalog.lock`` so the newest state is the one kept.
        """
        from custodiet import atomic

        path = self.home / "catalog.duckdb"
        with file_lock(self.home / "catalog.lock"):
            tmp = atomic.temp_path(path)
            tmp.unlink(missing_ok=True)
            con = duckdb.connect(str(tmp))
            try:
                self._create_views(con, self._segments(None), persistent=True)
            finally:
                con.close()
            atomic.publish_file(tmp, path)
        return path
