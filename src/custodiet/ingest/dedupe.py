"""Idempotent ingest: decide for each candidate event whether it is new, a duplicate, or a conflict.

An event is a duplicate when its ``event_id`` is already stored (or appeared earlier in the batch) with
the same content; the same ``event_id`` with different content is rejected. Content is every canonical
field except ``event_id`` and ``source`` (provenance may differ between two deliveries of one event).
Content digests are computed only for ids that collide, and ids are grouped only when two of their
fingerprints are equal, so the common case costs one hash join.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_columns import string_array
from custodiet.events import sql_text
from custodiet.ledger import native
from custodiet.ledger.hashing import event_fingerprints
from custodiet.ledger.log import id_fingerprints
from custodiet.ledger.snapshot import Snapshot
from custodiet.store import Store

CONTENT_FIELDS = ("ts", "channel", "actor", "actor_org", "subject", "subject_kind", "data_kind", "operation",
                  "authority", "outcome", "records", "attrs")


def content_digest_sql(alias: str) -> str:
    """SQL for the hex SHA-256 of an event's content; each field length-prefixed so none can blur."""
    parts = []
    for name in CONTENT_FIELDS:
        col = f"{alias}.{name}"
        text = f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')" if name == "ts" else f"CAST({col} AS VARCHAR)"
        parts.append(f"coalesce(length({text}) || ':' || {text}, '-')")
    return "sha256(concat_ws('|', " + ", ".join(parts) + "))"


_LISTED_IDS = 1000  # possible duplicates named in the query; more are joined against the chunk's ids
CONTENT_ID_CHARS = 32  # a content id is the first 32 hex digits of the content digest


def content_ids(table: pa.Table) -> pa.Array:
    """The content id of every row of ``table`` (its ``CONTENT_FIELDS``, ``ts`` a UTC timestamp): the first
    ``CONTENT_ID_CHARS`` hex digits of ``content_digest_sql``, byte for byte. The C engine writes and hashes
    each row's text (``native.content_hashes``, on several threads); the engine's own ``sha256`` over its
    concatenation costs about 8 s per 2M rows, this a fraction of a second."""
    micros = _micros(table.column("ts"))
    bounds = pc.min_max(micros)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if native.AVAILABLE and (low is None or (low >= _FIRST_ISO_US and high <= _LAST_ISO_US)):
        # the C engine writes the time itself (Arrow's strftime costs about 1.5 s per million)
        digests = native.content_hashes(pa.table({name: micros if name == "ts" else _text(table.column(name), name)
                                                  for name in CONTENT_FIELDS}))
    else:
        texts = pa.table({name: _text(table.column(name), name) for name in CONTENT_FIELDS})
        digests = native.content_hashes(texts) if native.AVAILABLE else _hashlib_digests(texts)
    hexed = _HEX_PAIRS[digests[:, : CONTENT_ID_CHARS // 2]]  # two hex digits per byte, by table
    return _fixed_width(np.ascontiguousarray(hexed).view(np.uint8).reshape(len(digests), CONTENT_ID_CHARS))


_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), np.uint16)
# The times the engine's strftime writes with a year of four digits (the C engine writes no others)
_FIRST_ISO_US = int(np.datetime64("1000-01-01T00:00:00", "us").astype(np.int64))
_LAST_ISO_US = int(np.datetime64("9999-12-31T23:59:59.999999", "us").astype(np.int64))


def _micros(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """UTC timestamps as int64 microseconds, in one array (nulls stay null)."""
    micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return micros.combine_chunks() if isinstance(micros, pa.ChunkedArray) else micros


def _text(column: pa.ChunkedArray | pa.Array, name: str) -> pa.ChunkedArray | pa.Array:
    """A content field as ``string``: the time as the engine's ``strftime`` writes it, a count in decimal,
    text as it is (its chunks left as they are)."""
    if name == "ts":
        return _iso_micros(column)
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _hashlib_digests(texts: pa.Table) -> np.ndarray:
    """The digests of ``content_hashes`` by hashlib, one row at a time."""
    rows = zip(*(texts.column(n).to_pylist() for n in texts.column_names), strict=True)
    joined = ("|".join("-" if v is None else f"{len(v)}:{v}" for v in row) for row in rows)
    return np.array([list(hashlib.sha256(t.encode("utf-8")).digest()[: CONTENT_ID_CHARS // 2]) for t in joined],
                    dtype=np.uint8).reshape(-1, CONTENT_ID_CHARS // 2)


def _fixed_width(text: np.ndarray, validity: pa.Buffer | None = None) -> pa.Array:
    """A string array of the rows of an (n, width) uint8 array of ASCII."""
    n, width = text.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    data = pa.py_buffer(np.ascontiguousarray(text))
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), data])


_DAY_US, _ISO_WIDTH = 86_400_000_000, len("2026-01-01T00:00:00.000000Z")


def _iso_micros(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """UTC timestamps as the engine's ``strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')`` writes them (nulls stay null),
    from their microseconds by numpy: Arrow's ``strftime`` costs about 1.5 s per million. Each distinct
    day's date is written once."""
    micros = _micros(column)
    values = np.asarray(micros.fill_null(0), dtype=np.int64)
    days, time_of_day = np.divmod(values, _DAY_US)
    first = int(days.min()) if len(days) else 0
    if len(days) and int(days.max()) - first < len(days):  # a log's days form a short range: index it
        distinct, which = np.arange(first, int(days.max()) + 1), days - first
    else:
        distinct, which = np.unique(days, return_inverse=True)
    dates = np.datetime_as_string(distinct.astype("datetime64[D]"), unit="D")
    if not all(len(d) == 10 for d in dates):  # a year before 1000 or after 9999: written as the engine does
        iso = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S", locale="C")
        return pc.binary_join_element_wise(iso, string_array(["Z"])[0], string_array([""])[0])
    out = np.empty((len(values), _ISO_WIDTH), dtype=np.uint8)
    out[:, :10] = np.frombuffer("".join(dates).encode("ascii"), dtype=np.uint8).reshape(-1, 10)[which]
    seconds, fraction = (part.astype(np.int32) for part in np.divmod(time_of_day, 1_000_000))
    fields = ((10, "T", None), (11, None, (seconds // 3600, 2)), (13, ":", None), (14, None, (seconds // 60 % 60, 2)),
              (16, ":", None), (17, None, (seconds % 60, 2)), (19, ".", None), (20, None, (fraction, 6)),
              (26, "Z", None))
    for at, char, digits in fields:
        if char is not None:
            out[:, at] = ord(char)
            continue
        number, width = digits  # type: ignore[misc]
        for i in range(width):
            out[:, at + width - 1 - i] = 48 + number // 10**i % 10
    validity = micros.buffers()[0] if micros.null_count else None
    return _fixed_width(out, validity)


class StoredPrints:
    """The id fingerprints (``event_fingerprints``) of every event a snapshot of the store holds, sorted, so
    that a chunk's ids are looked for in the store only when their fingerprint is there: the engine's join
    over every stored id then runs only for possible duplicates, not for every chunk of every ingest.
    ``update`` takes in what a newer snapshot signed (this ingest's chunks and other writers' events)."""

    def __init__(self, store: Store, snapshot: Snapshot):
        self.store, self.size = store, 0
        self._sorted: list[np.ndarray] = []
        self.update(snapshot)

    def update(self, snapshot: Snapshot) -> None:
        if snapshot.size > self.size:
            added = np.sort(np.asarray(id_fingerprints(self.store, snapshot)[self.size : snapshot.size]))
            self._sorted = [np.sort(np.concatenate([*self._sorted, added]))] if len(self._sorted) >= 8 else [
                *self._sorted, added]  # a few sorted runs, merged now and then
            self.size = snapshot.size

    def may_hold(self, prints: np.ndarray) -> np.ndarray:
        """For each fingerprint, whether a stored event may have it (never False for one that does)."""
        order = np.argsort(prints)  # looked up in order: each search starts where the one before ended
        ordered, found = prints[order], np.zeros(len(prints), bool)
        for run in self._sorted:
            if len(run):
                at = np.minimum(np.searchsorted(run, ordered), len(run) - 1)
                found[order] |= run[at] == ordered
        return found


def find_collisions(con: duckdb.DuckDBPyConnection, table: str, stored: StoredPrints | None = None) -> int:
    """The first half of classifying the records of ``table`` against the store (``settle_verdicts`` is the
    second): reads only ``line``, ``event_id`` and ``reasons`` of ``table`` into the narrow
    ``checked(line, event_id, reason)`` (which the caller may count), and tables ``stored_ids`` and
    ``colliding_lines`` (all replaced if present). Returns how many lines collide (an id stored already
    or repeated in ``table``). ``table`` has line, event_id, reasons and the canonical fields; the
    ``events`` view is the store, and ``stored``, when given, the fingerprints of its events (of the same
    snapshot): only the ids among them are looked for in the store."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE checked AS SELECT line, event_id, "
        f"CASE WHEN len(reasons) > 0 THEN array_to_string(reasons, '; ') END AS reason FROM {table}"
    )
    valid = "(SELECT line, event_id FROM checked WHERE reason IS NULL)"
    ids, prints = _valid_ids(con)
    found = (f"SELECT DISTINCT e.event_id FROM events e SEMI JOIN {valid} v ON e.event_id = v.event_id")
    if stored is not None:
        hits = np.flatnonzero(stored.may_hold(prints))
        if not len(hits):  # no id of the chunk is stored: the store is not read at all
            found = "SELECT NULL::VARCHAR AS event_id WHERE false"
        elif len(hits) <= _LISTED_IDS:  # a few possible duplicates: named in the query
            listed = ", ".join(sql_text(ids[int(i)].as_py()) for i in hits)
            found = f"SELECT DISTINCT event_id FROM events WHERE event_id IN ({listed})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE stored_ids AS {found}")
    repeated = (f" OR v.event_id IN (SELECT event_id FROM {valid} GROUP BY event_id HAVING count(*) > 1)"
                if _repeat(prints) else "")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE colliding_lines AS SELECT v.line FROM {valid} v WHERE v.event_id IN "
        f"(SELECT event_id FROM stored_ids){repeated}"
    )
    return int(con.execute("SELECT count(*) FROM colliding_lines").fetchall()[0][0])


def _valid_ids(con: duckdb.DuckDBPyConnection) -> tuple[pa.Array, np.ndarray]:
    """The ids of the valid records of ``checked`` and their 64-bit fingerprints (``event_fingerprints``)."""
    valid = "FROM checked WHERE reason IS NULL AND event_id IS NOT NULL"
    if not con.execute(f"SELECT count(*) {valid}").fetchall()[0][0]:  # an empty Arrow result imports pandas
        return string_array([]), np.empty(0, np.uint64)
    ids = con.execute(f"SELECT event_id {valid}").to_arrow_table().column("event_id").combine_chunks()
    return ids, event_fingerprints(ids)


def _repeat(prints: np.ndarray) -> bool:
    """Whether an id may occur twice among the valid records: two of their fingerprints are equal. Hashing
    and sorting them costs a fifth of grouping the ids in the engine, and only then does the engine group
    them."""
    ordered = np.sort(prints)
    return bool(np.any(ordered[1:] == ordered[:-1]))


def settle_verdicts(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The second half (after ``find_collisions``): content digests of the colliding records, which read
    all canonical fields of ``table``, and ``verdicts(line, verdict, reason)`` for every record that is not
    new: 'rejected' (its own ``reasons``, or an id conflict) or 'duplicate'. Rows of ``table`` absent from
    ``verdicts`` are new."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stored_match AS SELECT e.event_id, "
        f"any_value({content_digest_sql('e')}) AS digest FROM events e "
        "SEMI JOIN stored_ids s ON e.event_id = s.event_id GROUP BY e.event_id"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE colliding AS SELECT v.line, v.event_id, {content_digest_sql('v')} AS digest "
        f"FROM {table} v SEMI JOIN colliding_lines c ON v.line = c.line"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE verdicts AS "
        "SELECT line, 'rejected' AS verdict, reason FROM checked WHERE reason IS NOT NULL UNION ALL "
        "SELECT line, CASE "
        "WHEN stored_digest IS NOT NULL AND stored_digest <> digest THEN 'rejected' "
        "WHEN stored_digest IS NULL AND first_line <> line AND first_digest <> digest THEN 'rejected' "
        "WHEN stored_digest IS NOT NULL OR first_line <> line THEN 'duplicate' END AS verdict, CASE "
        "WHEN stored_digest IS NOT NULL AND stored_digest <> digest "
        "THEN format('event_id {} already stored with different content', event_id) "
        "WHEN stored_digest IS NULL AND first_line <> line AND first_digest <> digest "
        "THEN format('event_id {} already used at line {} with different content', event_id, first_line) "
        "END AS reason FROM ("
        "SELECT c.line, c.event_id, c.digest, s.digest AS stored_digest, "
        "first_value(c.line) OVER w AS first_line, first_value(c.digest) OVER w AS first_digest "
        "FROM colliding c LEFT JOIN stored_match s USING (event_id) "
        "WINDOW w AS (PARTITION BY c.event_id ORDER BY c.line)) WHERE stored_digest IS NOT NULL OR first_line <> line"
    )
    for name in ("stored_ids", "colliding_lines", "stored_match", "colliding"):
        con.execute(f"DROP TABLE {name}")
