"""Quarantine: every rejected record, with where it came from and why. Raw text is sealed at rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from custodiet import atomic
from custodiet.arrow_columns import binary_array, int64_array, string_array
from custodiet.events import epoch_us
from custodiet.store import QUARANTINE_SCHEMA, Store

RAW_LIMIT = 4096  # characters of the raw record kept


def write_quarantine(
    store: Store,
    sources: Sequence[str],
    lines: Sequence[int],
    reasons: Sequence[str],
    raws: Sequence[str | None],
    channel: str,
) -> int:
    """Persist rejected records atomically as one quarantine file; returns how many were rejected.

    A record already in quarantine (same channel, source, line and raw text) is not entered twice, so
    re-running an ingest keeps the quarantine as it was.
    """
    if not lines:
        return 0
    ps = store.pseudonymiser
    keys = [ps.digest(f"{channel}|{s}|{n}|{r}") for s, n, r in zip(sources, lines, raws, strict=True)]
    known = _known_keys(store)
    fresh = [i for i, k in enumerate(keys) if k not in known]
    if not fresh:
        return len(lines)
    now = datetime.now(UTC)
    now_us = epoch_us(now)
    n = len(fresh)
    # Columns from buffers, not pa.array(list): pyarrow imports pandas on its first pa.array (0.5 s).
    table = pa.Table.from_arrays(
        [
            string_array([sources[i] for i in fresh]),
            int64_array([lines[i] for i in fresh]),
            string_array([reasons[i] for i in fresh]),
            binary_array([_seal(ps.seal, raws[i]) for i in fresh]),
            string_array([keys[i] for i in fresh]),
            string_array([channel] * n),
            int64_array([now_us] * n, pa.timestamp("us", tz="UTC")),
        ],
        schema=QUARANTINE_SCHEMA,
    )
    existing = store.quarantine_paths()
    number = int(existing[-1].stem) + 1 if existing else 1
    atomic.write_parquet(store.quarantine_dir / f"{number:08d}.parquet", table)
    return len(lines)


def _seal(seal: Callable[[str], bytes], raw: str | None) -> bytes | None:
    if raw is None:
        return None
    return seal(raw[:RAW_LIMIT] + ("…" if len(raw) > RAW_LIMIT else ""))


def _known_keys(store: Store) -> set[str]:
    paths = store.quarantine_paths()
    if not paths:
        return set()
    return set(pq.read_table(paths, columns=["record_key"]).column(0).to_pylist())


def list_quarantine(store: Store, channel: str | None = None) -> list[dict]:
    """All quarantined records, oldest first, with the raw text unsealed."""
    con = store.connect()
    where = "WHERE channel = ?" if channel else ""
    rows = con.execute(
        f"SELECT source, line, reason, raw_sealed, channel, quarantined_at FROM quarantine {where} "
        "ORDER BY quarantined_at, source, line",
        [channel] if channel else [],
    ).fetchall()
    unseal = store.pseudonymiser.unseal
    return [
        {
            "source": s,
            "line": ln,
            "reason": r,
            "raw": None if raw is None else unseal(raw),
            "channel": ch,
            "quarantined_at": qa.isoformat(),
        }
        for s, ln, r, raw, ch, qa in rows
    ]
