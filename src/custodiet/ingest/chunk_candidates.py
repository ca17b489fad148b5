"""The candidate events of a chunk (CSV, JSON lines, Parquet), built in Arrow around the chunk's own columns.

The engine's checks (``portal``) build a list of reasons for every record, which costs about half a
microsecond a record even when nothing is wrong. Here the engine computes only what needs its semantics:
the typed time and count (``try_cast``), on as many connections as there are CPUs. The vocabulary
columns' positions and the extra columns' JSON (``attrs``) are the engine's too, but computed once per
distinct value. Arrow then
decides which records surely pass (``passes``: the same conditions as the engine's fast path), and the
engine builds the reasons of the others only, with the very SQL the line-by-line path uses. The text
fields are the chunk's Arrow columns, untouched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from custodiet.arrow_columns import from_numpy, string_array
from custodiet.events import DATA_KINDS, OUTCOMES, SUBJECT_KINDS, epoch_us, sql_list, sql_text
from custodiet.ingest.tabular import Staged

_PARALLEL_ROWS = 100_000  # below this many records a chunk is checked on one connection
OnSubjects = Callable[[pa.ChunkedArray, pa.ChunkedArray], None]  # told each record's identifier kind and value


def _numpy_scalar(value: int | bool, dtype: str) -> pa.Scalar:
    """An Arrow scalar built from numpy (``from_numpy``): a Python value makes pyarrow import pandas."""
    return from_numpy(np.array([value], dtype=dtype))[0]


_ONE = _numpy_scalar(1, "int8")
_ZERO = _numpy_scalar(0, "int64")
_FALSE = _numpy_scalar(False, "bool")


def chunk_candidates(con: duckdb.DuckDBPyConnection, staged: Staged, typed_sql: str, reasons_sql: str,
                     future: datetime, on_subjects: OnSubjects | None = None) -> pa.Table:
    """``cand_base`` of a chunk (see ``portal._build_candidates``). ``typed_sql`` selects the staged
    records (alias ``k``) with ``t_ts`` and ``t_records``; ``reasons_sql`` is the reasons expression over
    it; a record after ``future`` lies in the future. ``on_subjects(kinds, subjects)`` is told the
    columns ``subject_kind`` and ``subject`` of the result as soon as they are known, before the engine's
    checks, so that the caller may map the identifiers meanwhile."""
    columns = staged.columns
    assert columns is not None
    n = columns.num_rows
    text = {name: staged.column(name) for name in ("actor", "actor_org", "subject", "subject_kind", "data_kind",
                                                   "operation", "case_id", "outcome", "records", "event_id")}
    positions = {name: _positions(con, text[name], vocabulary, n)
                 for name, vocabulary in (("subject_kind", SUBJECT_KINDS), ("data_kind", DATA_KINDS),
                                          ("outcome", OUTCOMES))}
    nulls = pa.nulls(n, pa.string())
    given = lambda name: text[name] if text[name] is not None else nulls  # noqa: E731
    kinds = _values(positions["subject_kind"], SUBJECT_KINDS)
    if on_subjects is not None:
        on_subjects(kinds, given("subject"))
    typed = _in_parts(con, staged, columns, f"SELECT k.t_ts AS ts, k.t_records AS records FROM ({typed_sql}) k")
    passing = _passes(typed, text, positions, future) & np.asarray(pc.is_null(columns.column("raw")), dtype=bool)
    failing = np.flatnonzero(~passing)
    reasons = _reasons(con, staged, columns, failing, n, f"SELECT {reasons_sql} AS reasons FROM ({typed_sql}) k")
    outcome = pc.coalesce(positions["outcome"], _numpy_scalar(OUTCOMES.index("allowed") + 1, "int8"))
    return pa.table({
        "line": columns.column("line"),
        "blank": from_numpy(np.zeros(n, dtype=bool)),
        "raw": columns.column("raw"),
        "reasons": reasons,
        "ts": typed.column("ts"),
        "actor": given("actor"), "actor_org": given("actor_org"), "subject": given("subject"),
        "subject_kind": kinds,
        "data_kind": _values(positions["data_kind"], DATA_KINDS),
        "operation": given("operation"), "authority": given("case_id"),
        "outcome": _values(outcome, OUTCOMES), "records": typed.column("records"),
        "attrs": _extras_json(con, staged, nulls), "event_id": given("event_id"),
    })


def _in_parts(con: duckdb.DuckDBPyConnection, staged: Staged, columns: pa.Table, query: str) -> pa.Table:
    """``query`` over the staged view of ``columns`` (the chunk's, or some of its rows), run on consecutive
    parts by as many connections as there are CPUs (the engine fills an Arrow result on one thread),
    concatenated in order."""
    n, parts = columns.num_rows, max(1, min(len(os.sched_getaffinity(0)), 4))
    if parts == 1 or n < _PARALLEL_ROWS:
        with con.cursor() as cursor:
            staged.define_view(cursor, columns)
            return cursor.execute(query).to_arrow_table()
    size = -(-n // parts)

    def run(start: int) -> pa.Table:
        with con.cursor() as cursor:
            staged.define_view(cursor, columns.slice(start, size))
            return cursor.execute(query).to_arrow_table()

    with ThreadPoolExecutor(max_workers=parts, thread_name_prefix="ingest-check") as pool:
        return pa.concat_tables(pool.map(run, range(0, n, size)))


def _positions(con: duckdb.DuckDBPyConnection, column: pa.ChunkedArray | None, vocabulary: tuple[str, ...],
               n: int) -> pa.ChunkedArray:
    """The 1-based position of each value, lower-cased, in ``vocabulary`` (int8; null when missing or not in
    it)."""
    if column is None or not n:
        return pa.chunked_array([pa.nulls(n, pa.int8())])
    return _per_value(con, column, f"CAST(list_position([{sql_list(vocabulary)[1:-1]}], lower(v)) AS TINYINT)")


def _per_value(con: duckdb.DuckDBPyConnection, column: pa.ChunkedArray, expression: str,
               null_too: bool = False) -> pa.ChunkedArray:
    """The engine's ``expression`` of ``v`` for every value of ``column``, computed once per distinct value
    (the columns it serves repeat a few values over millions of records). A null value gives null, or with
    ``null_too`` the expression of NULL."""
    encoded = column.dictionary_encode().unify_dictionaries()
    with con.cursor() as cursor:
        cursor.register("distinct_values", pa.table({"v": encoded.chunk(0).dictionary}))
        found = cursor.execute(f"SELECT {expression} AS x FROM distinct_values").to_arrow_table().column("x")
        of_null = cursor.execute(f"SELECT {expression} AS x FROM (SELECT NULL::VARCHAR AS v)").fetchall()[0][0]
    values = found.combine_chunks()
    spread = pa.chunked_array([values.take(chunk.indices) for chunk in encoded.chunks], values.type)
    return pc.fill_null(spread, string_array([of_null])[0]) if null_too and spread.null_count else spread


def _passes(typed: pa.Table, text: dict[str, pa.ChunkedArray | None], positions: dict[str, pa.ChunkedArray],
            future: datetime) -> np.ndarray:
    """Records that surely pass every check: the engine's fast path (``portal._checks_sql``) in Arrow."""
    future_us = _numpy_scalar(epoch_us(future), "int64")
    none = pa.chunked_array([from_numpy(np.zeros(typed.num_rows, bool))])
    present: Callable[[str], pa.ChunkedArray] = lambda name: (  # noqa: E731
        pc.is_valid(text[name]) if text[name] is not None else none)
    absent = lambda name: pc.invert(present(name))  # noqa: E731
    conditions = [
        pc.less_equal(typed.column("ts").cast(pa.int64()), future_us),
        present("actor"),
        present("subject"),
        pc.is_valid(positions["subject_kind"]),
        pc.is_valid(positions["data_kind"]),
        pc.or_(absent("outcome"), pc.is_valid(positions["outcome"])),
        pc.or_(absent("records"), pc.greater_equal(typed.column("records"), _ZERO)),
    ]
    passing = np.ones(typed.num_rows, dtype=bool)
    for condition in conditions:
        passing &= np.asarray(pc.fill_null(condition, _FALSE).combine_chunks(), dtype=bool)
    return passing


def _reasons(con: duckdb.DuckDBPyConnection, staged: Staged, columns: pa.Table, failing: np.ndarray, n: int,
             query: str) -> pa.ListArray:
    """The reasons list of every record: empty for those that pass, the engine's for the ``failing`` rows."""
    lengths = np.zeros(n, dtype=np.int32)
    values = pa.nulls(0, pa.string())
    if len(failing):
        found = _in_parts(con, staged, columns.take(from_numpy(failing)), query).column("reasons").combine_chunks()
        lengths[failing] = np.asarray(pc.list_value_length(found), dtype=np.int32)
        values = found.flatten()
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(from_numpy(offsets), values)


def _extras_json(con: duckdb.DuckDBPyConnection, staged: Staged, nulls: pa.Array) -> pa.ChunkedArray | pa.Array:
    """``tabular``'s extras JSON (the engine's ``json_object`` of the extra columns, keys sorted) of every
    record, joined from each column's member (``"key":value``, ``_member``)."""
    keys = sorted(staged.extra_columns)
    if not keys:
        return nulls
    pieces = string_array(["{", ",", "}", ""])
    members = [_member(con, k, staged.column(k)) for k in keys]
    parts = [pieces[0]] + [p for i, m in enumerate(members) for p in ([pieces[1]] if i else []) + [m]] + [pieces[2]]
    return pc.binary_join_element_wise(*parts, pieces[3])


# What the engine's JSON writer escapes in a string: a value without it is written as it is.
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def _member(con: duckdb.DuckDBPyConnection, key: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """One extra column's JSON member, ``"key":"value"`` or ``"key":null``, as the engine's ``json_object``
    writes it. A column whose values need no escaping is joined in Arrow (an id or address column has a
    distinct value per record, each of which the engine would have to write); the others are written by the
    engine once per distinct value."""
    if pc.any(pc.match_substring_regex(column, _NEEDS_ESCAPE)).as_py():
        return _per_value(con, column, f"CAST(json_object({sql_text(key)}, v) AS VARCHAR)[2:-2]", null_too=True)
    written = con.execute(f"SELECT CAST(json_object({sql_text(key)}, NULL::VARCHAR) AS VARCHAR)").fetchall()[0][0]
    name, quote = string_array([written[1 : -len("null}")], '"'])
    quoted = pc.binary_join_element_wise(name, quote, column, quote, string_array([""])[0])
    return pc.fill_null(quoted, string_array([written[1:-1]])[0])


def _values(positions: pa.ChunkedArray, vocabulary: tuple[str, ...]) -> pa.ChunkedArray:
    """Values of a vocabulary from their 1-based positions (null stays null)."""
    return string_array(list(vocabulary)).take(pc.subtract(positions, _ONE))
