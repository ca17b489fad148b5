"""The ledger: append-only event segments (see ``segments``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from custodiet.ledger.segments import write_segment
from custodiet.store import Store


def append_events(store: Store, table: pa.Table) -> Path | None:
    """Append a batch of canonical events; the caller holds ``store.writer()``. Empty batches write nothing."""
    if table.num_rows == 0:
        return None
    return write_segment(store, table)
