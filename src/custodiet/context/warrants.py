"""The warrants table as the code that judges with it sees it: one ``Warrant`` per warrant id, its targets
(kind, pseudonym) gathered from its rows. Read by interception oversight, by the gateway and at X1 ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow.parquet as pq

from custodiet.store import Store


@dataclass(frozen=True)
class Warrant:
    warrant_id: str
    agency: str
    issuer: str | None
    authority_level: str | None
    data_kinds: frozenset[str]
    valid_from: datetime
    valid_to: datetime
    targets: frozenset[tuple[str, str]]  # (kind, pseudonym)


def read_warrants(store: Store) -> dict[str, Warrant]:
    """Every loaded warrant by id (none when no warrants table is loaded). The rows of one warrant agree on
    everything but the target: loading rejects those that do not."""
    path = store.context_path("warrants")
    if not path.exists():
        return {}
    targets: dict[str, set[tuple[str, str]]] = {}
    first: dict[str, dict] = {}
    for r in pq.read_table(path).to_pylist():
        targets.setdefault(r["warrant_id"], set()).add((r["target_kind"], r["target"]))
        first.setdefault(r["warrant_id"], r)
    return {w: Warrant(w, r["agency"], r["issuer"], r["authority_level"],
                       frozenset(k for k in (r["data_kinds"] or "").split(";") if k), r["valid_from"], r["valid_to"],
                       frozenset(targets[w]))
            for w, r in first.items()}
