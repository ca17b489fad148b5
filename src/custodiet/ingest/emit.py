"""Stream the new events of an ingest into the ledger, in line order, a batch at a time.

The records (line, canonical columns, the subject as given) are Arrow candidates read in place, or
``cand_rows`` read from the engine as they lie: with no join in the query, the engine keeps the stored
order, which is the lines' order; should it not be (checked first on the ``line`` column alone), the
rows are sorted. Rejected and duplicate lines (``verdicts``) are dropped and the subjects get their
pseudonyms from the subject map: Arrow candidates by their position in it, once for the whole table;
records from the engine by a vectorised lookup, batch by batch.

The events are fetched in parts of at most ``PART_ROWS`` rows; a ledger batch (one segment, one signed
head) is the run of parts that reaches ``batch_rows``. Parts are prepared (fetched from the engine,
filtered, given their pseudonyms) one ahead in a worker thread, while the ledger writes the previous part
as a row group of the open segment and hashes its leaves (``append_event_parts``): the engine, Arrow and
the C hasher release the GIL, so on two cores fetching, writing and hashing overlap, and only the first
part's fetch is not hidden.

Each ledger batch is one commit under the store's writer lock, which is let go between batches so that
other writers interleave with a long ingest. The records were deduplicated against one signed state of
the ledger (``Seen``); before each commit, the events other writers signed since then are read and any
record they already hold is dropped as a duplicate, so no event is stored twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_columns import constant_strings, string_array
from custodiet.ingest.subjects import subject_keys
from custodiet.ledger.log import append_event_parts, heal
from custodiet.ledger.snapshot import Snapshot, take
from custodiet.store import Store

_COLUMNS = ("event_id", "ts", "channel", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
            "authority", "outcome", "records", "attrs", "source")
# What is read of the candidates: the line, and the canonical columns the candidates hold as they will be
# stored (the subject is still the identifier as given).
_FETCHED = ("line", "event_id", "ts", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
            "authority", "outcome", "records", "attrs")
_RENAMED = [("given_subject" if c == "subject" else c) for c in _FETCHED]
PART_ROWS = 250_000  # rows fetched at once: the unit of overlap, and a row group of the segment

_EMPTY = string_array([""])[0]  # built from buffers: a Python str argument makes pyarrow import pandas

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


@dataclass
class Seen:
    """The signed tree size the records were deduplicated against; ``dropped`` counts records found since
    among the events of other writers (duplicates)."""

    size: int
    dropped: int = 0

    def others_ids(self, store: Store) -> pa.Array | None:
        """Under the writer lock: the ids of events signed since ``size`` (by other writers), or None when
        there are none; ``size`` moves up to the signed size."""
        heal(store)  # an interrupted append of another writer is completed first
        signed = take(store)
        if signed.size <= self.size:
            return None
        import pyarrow.parquet as pq  # here, as the rest of the module avoids it

        ids = [pq.read_table(store.segments_dir / e.segment, columns=["event_id"]).column("event_id")
               for e in signed.entries if e.end_leaf > self.size]
        self.size = signed.size
        return pa.chunked_array([c for a in ids for c in a.chunks], pa.string()).combine_chunks()


class Storing:
    """The unit of an ingest being stored by a worker thread (at most one), while the caller reads and
    checks the next; ``stored`` and ``segments`` add up what was stored.

    Once a unit is signed, ``on_signed`` is told the new signed state, in the worker (it must not use the
    connection); ``wait`` returns then, with the connection's views on that state and ``seen`` moved up
    to it, so the next unit is deduplicated against it. A storing error is raised by ``wait``."""

    def __init__(self, store: Store, con: duckdb.DuckDBPyConnection, seen: Seen,
                 on_signed: Callable[[Snapshot], None] | None = None):
        self.store, self.con, self.seen, self.on_signed = store, con, seen, on_signed
        self.stored = 0
        self.segments: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-store")
        self._pending: Future[tuple[int, list[str], Snapshot]] | None = None

    def start(self, store_unit: Callable[[], tuple[int, list[str]]]) -> None:
        """Store a unit in the worker (``store_unit`` must not use the connection)."""
        self.wait()
        self._pending = self._pool.submit(self._signed, store_unit)

    def run(self, store_unit: Callable[[], tuple[int, list[str]]]) -> None:
        """Store a unit at once, in this thread (one that needs the connection)."""
        self.wait()
        self._done(*self._signed(store_unit))

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self._done(*pending.result())

    def _signed(self, store_unit: Callable[[], tuple[int, list[str]]]) -> tuple[int, list[str], Snapshot]:
        stored, segments = store_unit()
        snapshot = take(self.store)  # the next unit is deduplicated against this one's events too
        if self.on_signed is not None:
            self.on_signed(snapshot)
        return stored, segments, snapshot

    def _done(self, stored: int, segments: list[str], snapshot: Snapshot) -> None:
        self.stored += stored
        self.segments += segments
        self.store.refresh_views(self.con, snapshot)
        self.seen.size = snapshot.size

    def close(self) -> None:
        """Let a unit still being stored finish (after an error elsewhere; its own error is not raised)."""
        if self._pending is not None:
            wait([self._pending])
            self._pending = None
        self._pool.shutdown()


def verdict_lines(con: duckdb.DuckDBPyConnection) -> pa.Array | None:
    """The lines of ``verdicts`` (records not to store: rejected or duplicates), or None when there are none."""
    if not con.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]:  # an empty Arrow result imports pandas
        return None
    return con.execute("SELECT line FROM verdicts").to_arrow_table().column("line").combine_chunks()


def append_new_events(con: duckdb.DuckDBPyConnection, store: Store, source_name: str, channel: str,
                      mapping: pa.Table, batch_rows: int, candidates: pa.Table | None = None,
                      seen: Seen | None = None) -> tuple[int, list[str]]:
    """Append the records of ``cand_rows`` that are neither rejected nor duplicates (``verdicts``), in line
    order, ``batch_rows`` per ledger batch, each batch one commit under the writer lock; ``mapping`` is the
    subject map (kind, subject, pseudonym). ``candidates``, when given, is ``cand_base`` as an Arrow table
    (see ``append_candidates``), read in place instead of through the engine. ``seen`` is the signed state
    the verdicts were made against (default: the newest, read now); records that other writers stored
    since are dropped and counted in it."""
    skipped = verdict_lines(con)
    if candidates is not None:
        return append_candidates(store, source_name, channel, mapping, batch_rows, candidates, skipped, seen)
    step = max(1, min(batch_rows, PART_ROWS))
    return _append(store, _engine_batches(con, skipped, mapping, source_name, step), source_name, channel,
                   batch_rows, seen)


def append_candidates(store: Store, source_name: str, channel: str, mapping: pa.Table, batch_rows: int,
                      candidates: pa.Table, skipped: pa.Array | None,
                      seen: Seen | None = None) -> tuple[int, list[str]]:
    """``append_new_events`` of Arrow candidates without the engine, so that it may run in a worker thread
    while the connection serves other queries: ``candidates`` is ``cand_base`` as an Arrow table (in line
    order, no blank lines) with each record's ``subject_position`` in ``mapping`` (and, when it was looked
    up already, its ``pseudonym``); ``skipped`` the lines
    not to store (``verdict_lines``)."""
    step = max(1, min(batch_rows, PART_ROWS))
    return _append(store, _candidate_batches(candidates, skipped, mapping, source_name, step), source_name,
                   channel, batch_rows, seen)


def _append(store: Store, batches: Iterator[pa.RecordBatch], source_name: str, channel: str, batch_rows: int,
            seen: Seen | None) -> tuple[int, list[str]]:
    seen = seen or Seen(take(store).size)
    parts = prefetched(_events(batches, source_name, channel))
    stored, segments = 0, []
    following = next(parts, None)
    while following is not None:
        rows = 0

        def ledger_batch(others: pa.Array | None) -> Iterator[pa.Table]:
            """Parts until the batch holds ``batch_rows`` rows (less any that ``others`` holds); leaves the
            next part in ``following``."""
            nonlocal following, rows
            while following is not None and rows < batch_rows:
                part, following = following, None
                if others is not None:
                    kept = part.filter(pc.invert(pc.is_in(part.column("event_id"), value_set=others)))
                    seen.dropped += part.num_rows - kept.num_rows
                    part = kept
                rows += part.num_rows
                yield part
                following = next(parts, None)

        with store.writer(f"ingest {source_name}", catalog=False):  # the ingest replaces it at its end
            written = append_event_parts(store, ledger_batch(seen.others_ids(store)))
            seen.size = take(store).size
        if written is not None:
            segments.append(written.name)
        stored += rows
    return stored, segments


def _candidate_batches(candidates: pa.Table, skipped: pa.Array | None, mapping: pa.Table, source_name: str,
                       step: int) -> Iterator[pa.RecordBatch]:
    """The new records of Arrow candidates, pseudonymised, ``step`` rows at a time. A candidate's
    ``subject_position`` is the row of its identifier in ``mapping``, or its ``pseudonym`` is there already
    (looked up for its content id); the filter runs once over the whole table (it builds a hash table of
    the skipped lines)."""
    given = ["pseudonym"] if "pseudonym" in candidates.column_names else []
    table = _new(candidates.select([*_FETCHED, "subject_position", *given])
                 .rename_columns([*_RENAMED, "subject_position", *given]), skipped)
    subject = (table.column("pseudonym") if given
               else mapping.column("pseudonym").take(table.column("subject_position")))
    table = table.drop_columns(["subject_position", *given])
    yield from table.append_column("subject", _pseudonyms(subject, source_name)).to_batches(step)


def _engine_batches(con: duckdb.DuckDBPyConnection, skipped: pa.Array | None, mapping: pa.Table,
                    source_name: str, step: int) -> Iterator[pa.RecordBatch]:
    """The new records of ``cand_rows`` in the engine, in line order, pseudonymised batch by batch by a
    lookup of their identifiers in ``mapping`` (the subject map: kind, subject, pseudonym)."""
    lines = con.execute("SELECT CAST(line AS BIGINT) AS line FROM cand_rows").to_arrow_table().column("line")
    order = "" if _increasing(lines) else " ORDER BY line"
    columns = ", ".join(f"{name} AS {alias}" for name, alias in zip(_FETCHED[1:], _RENAMED[1:], strict=True))
    reader = con.execute(f"SELECT CAST(line AS BIGINT) AS line, {columns} FROM cand_rows{order}").to_arrow_reader(step)
    known = subject_keys(mapping.column("subject_kind"), mapping.column("subject"))
    for batch in reader:
        table = _new(pa.Table.from_batches([batch]), skipped)
        index = pc.index_in(subject_keys(table.column("subject_kind"), table.column("given_subject")), value_set=known)
        subject = _pseudonyms(mapping.column("pseudonym").take(index), source_name)
        yield from table.append_column("subject", subject).to_batches()


def _new(table: pa.Table, skipped: pa.Array | None) -> pa.Table:
    """The rows of ``table`` whose line is not ``skipped``."""
    return table if skipped is None else table.filter(pc.invert(pc.is_in(table.column("line"), value_set=skipped)))


def _pseudonyms(subjects: pa.ChunkedArray, source_name: str) -> pa.ChunkedArray:
    if subjects.null_count:
        raise RuntimeError(f"{source_name}: a stored record has no pseudonym (internal error)")
    return subjects


def _events(batches: Iterator[pa.RecordBatch], source_name: str, channel: str) -> Iterator[pa.Table]:
    """The canonical events of each batch of new, pseudonymised records: the channel and the source
    (``file:line``) added."""
    prefix = string_array([f"{source_name}:"])[0]
    for batch in batches:
        if not batch.num_rows:
            continue
        source = pc.binary_join_element_wise(prefix, batch.column("line").cast(pa.string()), _EMPTY)
        table = pa.Table.from_batches([batch])
        yield (table.append_column("source", source)
               .append_column("channel", constant_strings(channel, table.num_rows)).select(list(_COLUMNS)))
