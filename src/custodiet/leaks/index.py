"""The access index leak tracing reads: (person, account, data kind) with the first access and the first
unexplained one, built from the detectors' own table of accesses and rebuilt when the ledger or the context
changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from custodiet import atomic
from custodiet.events import sql_text
from custodiet.ledger.snapshot import Snapshot, take
from custodiet.store import Store
from custodiet.writelock import file_lock

INDEX_VERSION = 2


def index_path(store: Store) -> Path:
    return store.home / "index" / "access_pairs.parquet"


def days_path(store: Store) -> Path:
    """Per account and day: how many (account, person) pairs began that day (the null model's sizes)."""
    return store.home / "index" / "access_days.parquet"


def _manifest(store: Store, snapshot: Snapshot) -> dict[str, Any]:
    context = sorted(store.context_dir.glob("*.parquet")) if store.context_dir.exists() else []
    return {"version": INDEX_VERSION, "duckdb": duckdb.__version__,
            "segments": [[p.name, p.stat().st_size] for p in snapshot.segments],
            "context": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in context]}


def ensure_index(store: Store, snapshot: Snapshot | None = None) -> Path:
    """The access index of one signed state of the ledger (``snapshot``, by default the newest), rebuilt
    first if it was written for another state or other context tables. Builds take turns on ``index/lock``.

    Built from the detectors' own table of insider accesses, so "explained" means here what it means to
    them. One row per (person, account, data kind): the first access and the first unexplained access.
    """
    snapshot = snapshot or take(store)
    path = index_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.parent / "lock"):
        return _ensure_index(store, snapshot)


def _ensure_index(store: Store, snapshot: Snapshot) -> Path:
    path = index_path(store)
    meta = path.with_suffix(".json")
    want = _manifest(store, snapshot)
    if path.exists() and days_path(store).exists() and meta.exists() and json.loads(meta.read_text()) == want:
        return path
    from custodiet.detect.context import DetectionContext
    from custodiet.detect.insider import base

    ctx = DetectionContext.open(store, snapshot=snapshot)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = atomic.temp_path(path)
        if ctx.segments:
            base.accesses(ctx)
            base.actors(ctx)
            source = (f"SELECT a.skey, d.actor, a.kind, min(a.ts) AS first_ts, "
                      f"min(a.ts) FILTER (WHERE a.unexpl) AS unexpl_ts "
                      f"FROM {base.view_name('accesses')} a JOIN {base.view_name('actors')} d USING (aid) "
                      f"GROUP BY ALL ORDER BY a.skey")
        else:
            source = ("SELECT NULL::BIGINT AS skey, NULL::VARCHAR AS actor, NULL::TINYINT AS kind, "
                      "NULL::TIMESTAMPTZ AS first_ts, NULL::TIMESTAMPTZ AS unexpl_ts WHERE false")
        ctx.con.execute(f"COPY ({source}) TO {sql_text(str(tmp))} "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
        atomic.publish_file(tmp, path)
        days = days_path(store)
        tmp = atomic.temp_path(days)
        ctx.con.execute(f"""
            COPY (SELECT actor, date_trunc('day', first_ts) AS day, count(*) AS pairs
                  FROM (SELECT skey, actor, min(first_ts) AS first_ts FROM read_parquet({sql_text(str(path))})
                        GROUP BY ALL)
                  GROUP BY ALL ORDER BY actor, day)
            TO {sql_text(str(tmp))} (FORMAT parquet)""")
        atomic.publish_file(tmp, days)
        atomic.write_bytes(meta, json.dumps(want).encode())
    finally:
        base.forget(ctx)
        ctx.con.close()
    return path
