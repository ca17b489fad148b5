"""Stream the new events of an ingest into the ledger, in line order, a batch at a time.

The records (``cand_rows``: line, canonical columns, the subject as given) are read as they lie, and
each Arrow batch gets its pseudonyms by a vectorised lookup in the subject map. With no join in the
query, the engine keeps the stored order, which is the lines' order; should it not be (checked first on
the ``line`` column alone), the rows are sorted. Rejected and duplicate lines (``verdicts``) are dropped
batch by batch.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.ledger import append_events
from custodiet.store import Store

_COLUMNS = ("event_id", "ts", "channel", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
            "authority", "outcome", "records", "attrs", "source")
_KEY_SEPARATOR = "\x1f"  # between kind and value in lookup keys; a control character, so never in a value


def _table(result: pa.Table | pa.RecordBatchReader) -> pa.Table:
    return result.read_all() if isinstance(result, pa.RecordBatchReader) else result


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _keys(kinds: pa.Array | pa.ChunkedArray, values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.binary_join_element_wise(kinds, values, _KEY_SEPARATOR)


def append_new_events(con: duckdb.DuckDBPyConnection, store: Store, source_name: str, mapping: pa.Table,
                      batch_rows: int) -> tuple[int, list[str]]:
    """Append the records of ``cand_rows`` that are neither rejected nor duplicates (``verdicts``), in line
    order, ``batch_rows`` per ledger batch; ``mapping`` is the subject map (kind, subject, pseudonym)."""
    lines = _table(con.execute("SELECT line FROM cand_rows").arrow()).column("line").to_numpy()
    in_order = bool(np.all(np.diff(lines) > 0))
    skipped = _table(con.execute("SELECT line FROM verdicts").arrow()).column("line").combine_chunks()
    lookup = pc.SetLookupOptions(_keys(mapping.column("subject_kind"), mapping.column("subject")))
    pseudonyms = mapping.column("pseudonym")
    source = _sql_text(f"{source_name}:")
    names = ", ".join(c for c in _COLUMNS if c not in ("source", "subject"))
    reader = con.execute(
        f"SELECT line, {names}, subject AS given_subject, {source} || line AS source FROM cand_rows"
        + ("" if in_order else " ORDER BY line")
    ).to_arrow_reader(batch_rows)
    stored, segments = 0, []
    pending: list[pa.Table] = []
    pending_rows = 0

    def flush() -> None:
        nonlocal stored, pending, pending_rows
        if pending_rows:
            written = append_events(store, pa.concat_tables(pending))
            if written is not None:
                segments.append(written.name)
            stored += pending_rows
        pending, pending_rows = [], 0

    for batch in reader:
        if len(skipped):
            batch = batch.filter(pc.invert(pc.is_in(batch.column("line"), value_set=skipped)))
        if not batch.num_rows:
            continue
        index = pc.index_in(_keys(batch.column("subject_kind"), batch.column("given_subject")), options=lookup)
        subject = pseudonyms.take(index)
        if subject.null_count:
            raise RuntimeError(f"{source_name}: a stored record has no pseudonym (internal error)")
        table = pa.Table.from_batches([batch]).append_column("subject", subject).select(list(_COLUMNS))
        pending.append(table)
        pending_rows += table.num_rows
        if pending_rows >= batch_rows:
            flush()
    flush()
    return stored, segments
