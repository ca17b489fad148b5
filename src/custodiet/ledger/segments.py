"""Event segments: Parquet files under ``<home>/ledger/segments/``, named by sequence number.

A segment is written to a temp file, fsynced and renamed into place: once its name is visible, its
events are acknowledged. Leaves of the ledger are the events in segment order, then row order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from custodiet import atomic
from custodiet.events import EVENT_SCHEMA
from custodiet.ledger.encoding import conform
from custodiet.ledger.heads import LedgerError
from custodiet.store import Store


def segment_number(path: Path) -> int:
    """The sequence number in a segment's name (``00000042.parquet`` -> 42)."""
    if not path.stem.isdigit():
        raise LedgerError(f"{path.name}: not a segment name (expected a zero-padded number)")
    return int(path.stem)


def next_segment_path(store: Store) -> Path:
    names = store.segment_names()
    number = segment_number(Path(names[-1])) + 1 if names else 1
    return store.segments_dir / f"{number:08d}.parquet"


# Dictionary-encode only the columns that repeat, and keep statistics only where queries filter: about a
# third less time writing a segment than pyarrow's defaults, for the same file size.
_DICTIONARY = ["channel", "actor", "actor_org", "subject_kind", "data_kind", "operation", "authority", "outcome",
               "attrs", "records"]
_STATISTICS = ["ts", "records", "channel", "actor", "actor_org", "subject_kind", "data_kind", "outcome"]
ROW_GROUP_ROWS = 1 << 20  # as ``atomic.write_parquet``: verify reads a segment one row group at a time


def write_segment(store: Store, table: pa.Table) -> Path:
    """Write one batch of canonical events as a new segment file, unjournaled (caller holds ``store.writer()``).

    Only the file: the ledger appends through ``log.append_event_parts``, which journals the segment
    before it becomes visible. A file written by this alone is not adopted by recovery."""
    writer = SegmentWriter(store)
    try:
        writer.write(conform(table))
    except BaseException:
        writer.abandon()
        raise
    return writer.publish()


class SegmentWriter:
    """A new segment written in parts (one row group each) into a temp file; ``publish`` makes it visible
    atomically, as ``write_segment`` does. Lets a batch be written while its later parts are still being
    prepared. Caller holds ``store.writer()``."""

    def __init__(self, store: Store):
        self.path = next_segment_path(store)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = atomic.temp_path(self.path)
        self._writer = pq.ParquetWriter(self._tmp, EVENT_SCHEMA, compression="zstd", use_dictionary=_DICTIONARY,
                                        write_statistics=_STATISTICS)

    def write(self, table: pa.Table) -> None:
        """Append ``table`` (canonical columns and types) as one row group (several past ``ROW_GROUP_ROWS``)."""
        self._writer.write_table(table, row_group_size=max(1, min(table.num_rows, ROW_GROUP_ROWS)))

    def publish(self, before_rename: Callable[[Path, Path], None] | None = None) -> Path:
        """Close the temp file and rename it into place; ``before_rename(tmp, final)`` runs in between (the
        writer's journal record, ``journal.recorder``: recovery adopts only a segment journaled so)."""
        self._writer.close()
        if before_rename is not None:
            before_rename(self._tmp, self.path)
        atomic.publish_file(self._tmp, self.path)
        return self.path

    def abandon(self) -> None:
        """Drop the unfinished temp file (after an error)."""
        self._writer.close()
        self._tmp.unlink(missing_ok=True)
