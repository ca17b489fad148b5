"""What a detector gets: the store, a DuckDB connection with its views, the same as an Ibis backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
from ibis.backends.duckdb import Backend as IbisDuckDB

from custodiet.ledger.snapshot import Snapshot, take
from custodiet.store import Store


@dataclass
class DetectionContext:
    store: Store
    con: duckdb.DuckDBPyConnection
    ibis: IbisDuckDB
    now: datetime | None  # the reference time: the newest event's ts (None when there are none)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # tunable overrides by detector id
    # The ledger segments behind the ``events`` view, in its order: a row's place in them (file index, row
    # number) locates an event without carrying its id through the shared tables.
    segments: list[Path] = field(default_factory=list)
    snapshot: Snapshot | None = None  # the signed state of the ledger the views show
    shared: dict[str, Any] = field(default_factory=dict)  # results several detectors of one run share, by name

    @classmethod
    def open(cls, store: Store, params: dict[str, dict[str, Any]] | None = None,
             snapshot: Snapshot | None = None) -> DetectionContext:
        """A context over one signed state of the ledger: ``snapshot``, or the newest (read once here, so
        the ``events`` view and ``segments`` agree however many appends happen meanwhile)."""
        snapshot = snapshot or take(store)
        con = store.connect(snapshot=snapshot)
        backend = ibis.duckdb.from_connection(con)
        now = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
        return cls(store, con, backend, now, params or {}, snapshot.segments, snapshot)

    def once(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` the first time ``name`` is asked for in this run, the same result afterwards."""
        if name not in self.shared:
            self.shared[name] = compute()
        return self.shared[name]

    def param(self, detector_id: str, name: str, default: Any) -> Any:
        return self.params.get(detector_id, {}).get(name, default)


def rows(expr: ibis.expr.types.Table) -> list[dict[str, Any]]:
    """Execute a (small) result of a detector's expression fully and return it as dicts."""
    return expr.to_pyarrow().to_pylist()
