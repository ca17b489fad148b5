"""The store: one folder (``--home`` / ``CUSTODIET_HOME``, default ``./custodiet-data``).

    <home>/keys/           pseudonym.key (mode 0600) and its fingerprint; ledger-signing.json (the ledger's
                           public key); ledger-signing.key only when the signing key is kept in the store
    <home>/config.toml     optional settings (``custodiet.config``): signing key, trust file, canary blocks
    <home>/ledger/         segments/*.parquet (the events), nodes.bin (Merkle tree), manifest.jsonl
                           (segment digests), heads.jsonl (signed tree heads), ids.bin (event id index)
    <home>/quarantine/     rejected records (Parquet; raw text sealed)
    <home>/context/        actors, cases, case_subjects, protected, canaries (Parquet), network.toml
    <home>/findings/       the last detection run's findings
    <home>/index/          the leak-trace access index (rebuilt when the ledger changes)
    <home>/tmp/            DuckDB spill space and detectors' scratch tables
    <home>/catalog.duckdb  views over the tables above, for ad-hoc SQL (refreshed after every write)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from custodiet.config import Config, load_config
from custodiet.events import EVENT_SCHEMA, sql_text
from custodiet.identifiers import IdentifierRules
from custodiet.pseudonym import Pseudonymiser, checked_key

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
    "canaries": pa.schema([("subject", pa.string()), ("subject_kind", pa.string()), ("actor", pa.string()),
                           ("org", pa.string()), ("issued_at", pa.timestamp("us", tz="UTC"))]),
}

PSEUDONYMISED_CONTEXT = ("case_subjects", "protected", "canaries")  # context tables whose subjects are pseudonyms

_DUCKDB_TYPES = {"string": "VARCHAR", "int64": "BIGINT", "binary": "BLOB", "timestamp[us, tz=UTC]": "TIMESTAMPTZ"}


def resolve_home(home: str | Path | None) -> Path:
    return Path(home or os.environ.get(HOME_ENV) or DEFAULT_HOME).absolute()


class Store:
    def __init__(self, home: str | Path | None = None, rules: IdentifierRules | None = None):
        self.home = resolve_home(home)
        self.rules = rules or IdentifierRules()
        self._pseudonymiser: Pseudonymiser | None = None

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
        if not self.segments_dir.exists():
            return []
        return sorted(p for p in self.segments_dir.glob("*.parquet") if not p.name.startswith("."))

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
    def writer(self) -> Iterator[None]:
        """Exclusive lock for anything that appends to the store; the SQL catalog is refreshed after."""
        self.init()
        with open(self.home / "lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
                self.write_catalog()
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # -- queries ------------------------------------------------------------------------------
    def connect(self, memory_limit: str = "3GB") -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with views: events, quarantine and the context tables."""
        self.init()
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(self.tmp_dir)})
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # progress is shown by the CLI, not the engine
        self._create_views(con)
        return con

    def refresh_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """Point the views of a ``connect`` connection at the files the store holds now (after an append)."""
        self._create_views(con)

    def _create_views(self, con: duckdb.DuckDBPyConnection, persistent: bool = False) -> None:
        """Views over every store table; an absent table is an empty one of its schema (in the persistent
        catalog an absent table has no view, so that ad-hoc SQL says plainly it is not there)."""
        tables = [("events", self.segment_paths(), EVENT_SCHEMA), ("quarantine", self.quarantine_paths(),
                                                                   QUARANTINE_SCHEMA)]
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
        """Refresh ``<home>/catalog.duckdb``: persistent views for ad-hoc SQL with the duckdb CLI."""
        path = self.home / "catalog.duckdb"
        con = duckdb.connect(str(path))
        try:
            self._create_views(con, persistent=True)
        finally:
            con.close()
        return path
