"""A reader per form of log, each yielding staged units to check and store one after the other.

- **CSV** of at least ``fastcsv.MIN_BYTES`` (plain or gzip): Arrow chunks (``fastcsv``), whose malformed
  records are split by the line-by-line rules (``tabular.csv_exact``).
- **JSON lines** (plain or gzip): read by the engine's JSON reader when every line is an object, else
  staged line by line (``jsonlines``).
- **Parquet**: the engine reads the row groups in order, every column as text, in chunks.

A chunk is a ``Staged`` unit over Arrow columns (``Staged.columns``: ``c<position>``, ``line``, ``raw``,
``ncols``, ``longest``), which ``chunk_candidates`` checks in Arrow; only the records that fail a check
have their reasons written by the engine. ``raw`` is kept for the records the reader already knows to be
malformed; the text of the others that are rejected is found by ``Staged.raw_of``. Small CSV files, and
every file when ``FAST_PATH`` is off, are staged whole by the line-by-line path (``tabular.stage``).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from custodiet.arrow_columns import from_numpy, string_array, trimmed_text
from custodiet.events import sql_text
from custodiet.ingest import fastcsv
from custodiet.ingest.bytescan import is_gzip
from custodiet.ingest.chunks import CONTROLS, chunk_staged, named_select, raw_by_line, rows_per_chunk
from custodiet.ingest.guard import InputError
from custodiet.ingest.jsonlines import jsonl_chunks, jsonl_plan, jsonl_read
from custodiet.ingest.limits import FIELD_LIMIT
from custodiet.ingest.tabular import (
    Staged,
    check_file,
    check_parquet,
    csv_columns,
    csv_exact,
    csv_header,
    detect_format,
    ident,
    named_columns,
    stage,
)

FAST_PATH = True  # the line-by-line path for every file when False (the differential tests compare both)


def stagings(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str],
             required: list[str]) -> Iterator[Staged]:
    """``path`` staged for checking one unit at a time, each to be checked and stored before the next. When
    a CSV chunk cannot be read by Arrow (a line longer than a chunk), the rest of the file, from that
    chunk's first line, is staged line by line."""
    check_file(path)
    fmt = detect_format(path)
    if FAST_PATH and fmt == "parquet":
        yield from _parquet_chunks(con, path, name, fields, required)
        return
    if FAST_PATH and fmt == "jsonl":
        fast = jsonl_plan(con, path, fields, required)
        if fast is not None:
            yield from jsonl_read(con, path, name, fields, *fast)
        else:
            yield from jsonl_chunks(con, stage(con, path, name, fields, required))
        return
    plan = _fast_plan(path, fields, required) if FAST_PATH and fmt == "csv" else None
    if plan is None:
        yield stage(con, path, name, fields, required)
        return
    header, present, extras, header_bytes = plan
    positions = {c: header.index(c) + 1 for c in present + extras}
    wanted = sorted(set(positions.values()))
    try:
        for chunk in fastcsv.read_chunks(path, header_bytes, len(header), wanted, csv_exact(con, wanted)):
            yield chunk_staged(path, name, "csv", chunk.columns, present, extras, positions, len(header),
                                cut_line=chunk.cut_line, incomplete=chunk.incomplete, raw_of=chunk.raw_of,
                                blank_lines=chunk.blank)
    except fastcsv.Refused as refused:
        yield stage(con, path, name, fields, required, first_line=refused.first_line)


def _fast_plan(path: Path, fields: list[str],
               required: list[str]) -> tuple[list[str], list[str], list[str], int] | None:
    """For a CSV (plain or gzip) of at least ``fastcsv.MIN_BYTES`` of text whose header is UTF-8: its header,
    present fields, extra columns and header length in bytes; else None."""
    if not path.is_file():
        return None
    compressed = is_gzip(path)
    if path.stat().st_size * (8 if compressed else 1) < fastcsv.MIN_BYTES:  # gzip: about 8 bytes of text per byte
        return None
    first = _first_line(path, compressed)
    try:
        head_line = first.decode("utf-8").rstrip("\n").rstrip("\r")
    except UnicodeDecodeError:
        return None
    header = csv_header(head_line)
    if not head_line or not first.endswith(b"\n") or head_line.count('"') % 2:
        return None
    present, extras = csv_columns(path, header, fields, required)
    return header, present, extras, len(first)


def _first_line(path: Path, compressed: bool) -> bytes:
    if not compressed:
        with open(path, "rb") as fh:
            return fh.readline(1 << 20)
    try:
        with gzip.open(path, "rb") as fh:
            return fh.readline(1 << 20)
    except (OSError, EOFError, zlib.error):
        return b""


def _parquet_chunks(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str],
                    required: list[str]) -> Iterator[Staged]:
    """A Parquet file's rows in chunks, every column as the engine's text of it; a row's line is its
    position in the file (1-based)."""
    check_parquet(path)
    source = f"read_parquet({sql_text(str(path))}, file_row_number = true)"
    try:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * EXCLUDE (file_row_number) FROM {source}"
                                                 ).fetchall()]
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot be read: {str(exc).splitlines()[0]}") from exc
    keys = named_columns(path, columns, fields, required)
    present = [f for f in fields if f in keys]
    extras = [k for k in keys if k not in present]
    positions = {n: i + 1 for i, n in enumerate(keys)}
    values = {n: f"CAST({ident(keys[n])} AS VARCHAR)" for n in keys}
    cols, control = named_select(present, positions, values)
    longest = "greatest(" + ", ".join(f"coalesce(length({values[n]}), 0)" for n in keys) + ")"
    raw = "CAST(to_json(struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in columns) + ")) AS VARCHAR)"
    raw_of = raw_by_line(con, f"SELECT file_row_number + 1 AS line, {raw} AS raw FROM {source}")
    try:  # the footer's count: damaged data pages are the reading's to report, record by record
        rows = con.execute(f"SELECT num_rows FROM parquet_file_metadata({sql_text(str(path))})").fetchall()[0][0]
    except duckdb.Error:
        rows = 0
    per_chunk = rows_per_chunk(int(rows or 0))
    try:
        schema: pa.Schema | None = pq.read_schema(path)
    except (pa.ArrowInvalid, OSError):  # Arrow's own schema in the metadata is damaged: the engine reads it
        schema = None
    if (schema is not None and all(_text_as_is(schema.field(keys[n]).type) for n in keys)
            and len(set(schema.names)) == len(schema.names)):
        tables = _parquet_as_text(path, keys, present, raw_of, per_chunk)
    else:  # other types are written as the engine writes them
        tables = _engine_tables(con, path, per_chunk,
                                f"SELECT file_row_number + 1 AS line, {cols}, CAST(NULL AS INTEGER) AS ncols, "
                                f"{longest} AS longest, CASE WHEN {longest} > {FIELD_LIMIT} OR {control} "
                                f"THEN {raw} END AS raw FROM {source}")
    for table in _in_chunks(tables, per_chunk):
        yield chunk_staged(path, name, "parquet", table, present, extras, positions, None, raw_of=raw_of)


def _engine_tables(con: duckdb.DuckDBPyConnection, path: Path, per_chunk: int, query: str) -> Iterator[pa.Table]:
    """The rows of ``query`` over a Parquet file, ``per_chunk`` at a time, read on a cursor of their own (the
    caller's connection runs other queries between two chunks); a file the engine cannot read is an
    ``InputError``."""
    try:
        with con.cursor() as cursor:
            for batch in cursor.execute(query).to_arrow_reader(per_chunk):
                yield pa.Table.from_batches([batch])
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot be read: {str(exc).splitlines()[0]}") from exc


def _text_as_is(kind: pa.DataType) -> bool:
    """Types whose Arrow text is the engine's (``CAST(x AS VARCHAR)``): text and whole numbers."""
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)


def _parquet_as_text(path: Path, keys: dict[str, str], present: list[str],
                     raw_of: Callable[[list[int]], list[str]], per_chunk: int) -> Iterator[pa.Table]:
    """A Parquet file of text and whole numbers read by Arrow, batch by batch, as chunk columns."""
    positions = {n: i + 1 for i, n in enumerate(keys)}
    done = 0
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=per_chunk, columns=sorted(set(keys.values())))
        for batch in batches:
            n = batch.num_rows
            given = {k: batch.column(keys[k]).cast(pa.string()) for k in keys}
            lines = np.arange(done + 1, done + n + 1, dtype=np.int64)
            longest = np.zeros(n, np.int64)
            if any((pc.max(pc.utf8_length(c)).as_py() or 0) > FIELD_LIMIT for c in given.values()):
                longest = np.max([np.asarray(pc.fill_null(pc.utf8_length(c), 0)) for c in given.values()], axis=0)
            suspect = longest > FIELD_LIMIT
            for f in present:
                if _may_hold_controls(given[f]):
                    suspect |= np.asarray(pc.fill_null(pc.match_substring_regex(given[f], CONTROLS), False), bool)
            raw = pa.nulls(n, pa.string())
            if suspect.any():
                texts = dict(zip(lines[suspect].tolist(), raw_of(lines[suspect].tolist()), strict=True))
                raw = string_array([texts.get(int(line)) for line in lines])
            yield pa.table({**{f"c{positions[k]}": trimmed_text(c) for k, c in given.items()},
                            "line": from_numpy(lines), "raw": raw, "ncols": pa.nulls(n, pa.int32()),
                            "longest": from_numpy(longest)})
            done += n
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path.name}: cannot be read: {str(exc).splitlines()[0]}") from exc


def _may_hold_controls(column: pa.Array | pa.ChunkedArray) -> bool:
    """Whether any value of a string column holds a control character: its data bytes, looked at at once
    by numpy (a regular expression per value costs a tenth of a second per column and 2M rows)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        data = chunk.buffers()[2]
        if data is not None and len(data):
            view = np.frombuffer(data, np.uint8)
            if int(np.count_nonzero((view < 0x20) | (view == 0x7F))):
                return True
    return False


def _in_chunks(tables: Iterator[pa.Table], per_chunk: int) -> Iterator[pa.Table]:
    """Tables joined into chunks of about ``per_chunk`` rows, one chunk in memory at a time."""
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        pending.append(table)
        rows += table.num_rows
        if rows >= per_chunk:
            yield pa.concat_tables(pending)
            pending, rows = [], 0
    if pending:
        yield pa.concat_tables(pending)


