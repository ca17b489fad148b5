"""Stream the new events of an ingest into the ledger, in line order, a batch at a time.

The records (``cand_rows``: line, canonical columns, the subject as given) are read as they lie, and
each Arrow batch gets its pseudonyms by a vectorised lookup in the subject map. With no join in the
query, the engine keeps the stored order, which is the lines' order; should it not be (checked first on
the ``line`` column alone), the rows are sorted. Rejected and duplicate lines (``verdicts``) are dropped
batch by batch.

The events are fetched in parts of at most ``PART_ROWS`` rows; a ledger batch (one segment, one signed
head) is the run of parts that reaches ``batch_rows``. Parts are prepared (fetched from the engine,
filtered, given their pseudonyms) one ahead in a worker thread, while the ledger writes the previous part
as a row group of the open segment and hashes its leaves (``append_event_parts``): the engine, Arrow and
the C hasher release the GIL, so on two cores fetching, writing and hashing overlap, and only the first
part's fetch is not hidden.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_columns import constant_strings, string_array
from custodiet.ledger.log import append_event_parts
from custodiet.store import Store

_COLUMNS = ("event_id", "ts", "channel", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
            "authority", "outcome", "records", "attrs", "source")
# What is read of the candidates: the line, and the canonical columns the candidates hold as they will be
# stored (the subject is still the identifier as given).
_FETCHED = ("line", "event_id", "ts", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
            "authority", "outcome", "records", "attrs")
_RENAMED = [("given_subject" if c == "subject" else c) for c in _FETCHED]
PART_ROWS = 250_000  # rows fetched at once: the unit of overlap, and a row group of the segment

# Between kind and value in lookup keys: a control character, so never in a value. An Arrow scalar built
# from buffers, because a Python str argument makes pyarrow import pandas (half a second).
_KEY_SEPARATOR, _EMPTY = string_array(["\x1f"])[0], string_array([""])[0]

T = TypeVar("T")


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """``items`` computed one ahead in a worker thread (at most one item waits, so memory stays bounded)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-fetch") as pool:
        ahead = pool.submit(next, items, None)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(next, items, None)
            yield item


def _increasing(values: pa.ChunkedArray) -> bool:
    """Whether an int64 column without nulls strictly increases (read from its buffers: converting Arrow
    to numpy the usual way imports pandas)."""
    previous: int | None = None
    for chunk in values.chunks:
        if not len(chunk):
            continue
        ints = np.frombuffer(chunk.buffers()[1], dtype=np.int64, count=len(chunk), offset=chunk.offset * 8)
        if (previous is not None and ints[0] <= previous) or not bool(np.all(np.diff(ints) > 0)):
            return False
        previous = int(ints[-1])
    return True


def _keys(kinds: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.binary_join_element_wise(kinds, values, _KEY_SEPARATOR)


def append_new_events(con: duckdb.DuckDBPyConnection, store: Store, source_name: str, channel: str,
                      mapping: pa.Table, batch_rows: int, candidates: pa.Table | None = None) -> tuple[int, list[str]]:
    """Append the records of ``cand_rows`` that are neither rejected nor duplicates (``verdicts``), in line
    order, ``batch_rows`` per ledger batch; ``mapping`` is the subject map (kind, subject, pseudonym).
    ``candidates``, when given, is ``cand_base`` as an Arrow table (in line order, no blank lines), read
    in place instead of through the engine."""
    skipped = None  # an empty Arrow result also makes DuckDB import pandas: ask for the count first
    if con.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]:
        skipped = con.execute("SELECT line FROM verdicts").to_arrow_table().column("line").combine_chunks()
    step = max(1, min(batch_rows, PART_ROWS))
    if candidates is not None:
        reader = candidates.select(list(_FETCHED)).rename_columns(_RENAMED).to_reader(step)
    else:
        reader = _engine_reader(con, step)
    parts = prefetched(_events(reader, skipped, mapping, source_name, channel))
    stored, segments = 0, []
    following = next(parts, None)
    while following is not None:
        rows = 0

        def ledger_batch() -> Iterator[pa.Table]:
            """Parts until the batch holds ``batch_rows`` rows; leaves the next part in ``following``."""
            nonlocal following, rows
            while following is not None and rows < batch_rows:
                part, following = following, None
                rows += part.num_rows
                yield part
                following = next(parts, None)

        written = append_event_parts(store, ledger_batch())
        if written is not None:
            segments.append(written.name)
        stored += rows
    return stored, segments


def _engine_reader(con: duckdb.DuckDBPyConnection, step: int) -> pa.RecordBatchReader:
    """The columns ``_events`` reads, from ``cand_rows`` in the engine, in line order."""
    lines = con.execute("SELECT CAST(line AS BIGINT) AS line FROM cand_rows").to_arrow_table().column("line")
    order = "" if _increasing(lines) else " ORDER BY line"
    columns = ", ".join(f"{name} AS {alias}" for name, alias in zip(_FETCHED[1:], _RENAMED[1:], strict=True))
    return con.execute(f"SELECT CAST(line AS BIGINT) AS line, {columns} FROM cand_rows{order}").to_arrow_reader(step)


def _events(reader: pa.RecordBatchReader, skipped: pa.Array | None, mapping: pa.Table, source_name: str,
            channel: str) -> Iterator[pa.Table]:
    """The canonical events of each fetched batch: skipped lines dropped, subjects pseudonymised, the
    channel and the source (``file:line``) added."""
    lookup = pc.SetLookupOptions(_keys(mapping.column("subject_kind"), mapping.column("subject")))
    pseudonyms = mapping.column("pseudonym")
    prefix = string_array([f"{source_name}:"])[0]
    for batch in reader:
        if skipped is not None:
            batch = batch.filter(pc.invert(pc.is_in(batch.column("line"), value_set=skipped)))
        if not batch.num_rows:
            continue
        index = pc.index_in(_keys(batch.column("subject_kind"), batch.column("given_subject")), options=lookup)
        subject = pseudonyms.take(index)
        if subject.null_count:
            raise RuntimeError(f"{source_name}: a stored record has no pseudonym (internal error)")
        source = pc.binary_join_element_wise(prefix, batch.column("line").cast(pa.string()), _EMPTY)
        table = pa.Table.from_batches([batch])
        yield (table.append_column("subject", subject).append_column("source", source)
               .append_column("channel", constant_strings(channel, table.num_rows)).select(list(_COLUMNS)))
