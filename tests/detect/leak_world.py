"""A small portal world with real pseudonyms (the store's key), a seller and a heavy user, for leak tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from custodiet.events import EVENT_SCHEMA
from custodiet.ledger import append_events
from custodiet.store import Store

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
LISTED = START + timedelta(days=40)


def number(i: int) -> str:
    return f"8801711{i:06d}"


def build(store: Store) -> dict[str, list[str]]:
    """Accounts A0..A9 (ordinary), H (heavy user), S (seller). Returns the cleartext groups."""
    rng = np.random.default_rng(5)
    ps = store.pseudonymiser
    popular = [number(i) for i in range(20)]
    rare = [number(1000 + i) for i in range(8)]  # only S ever looks these up
    shared = [number(2000 + i) for i in range(2)]  # S and H
    rows: list[dict] = []

    def look(actor: str, value: str, ts: datetime) -> None:
        rows.append({"event_id": f"l{len(rows):06d}", "ts": ts, "channel": "portal", "actor": actor,
                     "actor_org": "U", "subject": ps.of_raw("msisdn", value), "subject_kind": "msisdn",
                     "data_kind": "location", "operation": "lookup", "authority": None, "outcome": "allowed",
                     "records": 1, "attrs": None, "source": f"leak-world.csv:{len(rows) + 2}"})

    for a in range(10):
        for j in range(60):
            value = popular[int(rng.integers(20))] if j % 2 else number(10_000 + a * 1000 + j)
            look(f"A{a}", value, START + timedelta(hours=int(rng.integers(0, 24 * 30))))
    for j in range(2000):
        look("H", number(50_000 + j), START + timedelta(minutes=20 * j))
    for value in shared:
        look("H", value, START + timedelta(days=3))
    for k, value in enumerate(rare + shared + popular[:3]):
        look("S", value, START + timedelta(days=10, minutes=7 * k))
    with store.writer():
        append_events(store, pa.Table.from_pylist(rows, schema=EVENT_SCHEMA))
    return {"popular": popular, "rare": rare, "shared": shared}


def write_sample(path: Path, values: list[str], fmt: str = "csv") -> Path:
    if fmt == "csv":
        path.write_text("subject,subject_kind\n" + "".join(f"{v},msisdn\n" for v in values))
    else:
        path.write_text("".join(f'{{"subject": "{v}", "subject_kind": "msisdn"}}\n' for v in values))
    return path
