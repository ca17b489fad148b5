"""Quarantine: every rejected record, with where it came from and why. Raw text is sealed at rest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa

from custodiet import atomic
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
    """Persist rejected records atomically as one quarantine file; returns how many."""
    if not lines:
        return 0
    seal = store.pseudonymiser.seal
    sealed = [None if r is None else seal(r[:RAW_LIMIT] + ("…" if len(r) > RAW_LIMIT else "")) for r in raws]
    now = datetime.now(UTC)
    table = pa.table(
        {
            "source": pa.array(sources, pa.string()),
            "line": pa.array(lines, pa.int64()),
            "reason": pa.array(reasons, pa.string()),
            "raw_sealed": pa.array(sealed, pa.binary()),
            "channel": pa.array([channel] * len(lines), pa.string()),
            "quarantined_at": pa.array([now] * len(lines), pa.timestamp("us", tz="UTC")),
        },
        schema=QUARANTINE_SCHEMA,
    )
    existing = store.quarantine_paths()
    number = int(existing[-1].stem) + 1 if existing else 1
    atomic.write_parquet(store.quarantine_dir / f"{number:08d}.parquet", table)
    return len(lines)


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
