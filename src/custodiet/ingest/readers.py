"""A reader per form of log, each yielding staged units to check and store one after the other.

- **CSV** of at least ``fastcsv.MIN_BYTES`` (plain or gzip): Arrow chunks (``fastcsv``), whose malformed
  records are split by the line-by-line rules (``tabular.csv_exact``).
- **JSON lines** (plain or gzip): the lines are staged as the line-by-line path stages them (every line
  exact, ``tabular.stage``), and read out in chunks (``rows_per_chunk``) with every key extracted by
  one parse of the line.
- **Parquet**: the engine reads the row groups in order, every column as text, in chunks.

A chunk is a ``Staged`` unit over Arrow columns (``Staged.columns``: ``c<position>``, ``line``, ``raw``,
``ncols``, ``longest``), which ``chunk_candidates`` checks in Arrow; only the records that fail a check
have their reasons written by the engine. ``raw`` is kept for the records the reader already knows to be
malformed; the text of the others that are rejected is found by ``Staged.raw_of``. Small CSV files, and
every file when ``FAST_PATH`` is off, are staged whole by the line-by-line path (``tabular.stage``).
"""

from __future__ import annotations

import gzip
import mmap
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from custodiet.ingest.csvsplit import _csvscan
from custodiet.ingest.guard import InputError
from custodiet.ingest.limits import FIELD_LIMIT
from custodiet.ingest.tabular import (
    Staged,
    check_file,
    check_parquet,
    csv_columns,
    csv_exact,
    csv_header,
    detect_format,
    extras_json,
    ident,
    named_columns,
    stage,
)

FAST_PATH = True  # the line-by-line path for every file when False (the differential tests compare both)
ROWS_PER_CHUNK = 2_000_000  # the most JSON lines or Parquet records per chunk: about 0.4 GB in Arrow
MIN_ROWS_PER_CHUNK = 500_000  # the least: a file is cut into about eight chunks (see fastcsv.MIN_CHUNK_BYTES)
_SCAN_BYTES = 64 << 20  # JSON-lines text looked at per step
_CONTROLS = r"[\x00-\x1f\x7f]"


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
        fast = _jsonl_plan(con, path, fields, required)
        if fast is not None:
            yield from _jsonl_read(con, path, name, fields, *fast)
        else:
            yield from _jsonl_chunks(con, stage(con, path, name, fields, required))
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
            yield _chunk_staged(path, name, "csv", chunk.columns, present, extras, positions, len(header),
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


def _chunk_staged(path: Path, name: str, fmt: str, columns: pa.Table, present: list[str], extras: list[str],
                  positions: dict[str, int], expected_ncols: int | None, **more: object) -> Staged:
    """A chunk as a staged unit: its view ``name`` over the chunk's Arrow columns (registered as
    ``<name>_arrow``) is defined on each connection that checks it (``Staged.define_view``)."""
    cols = ", ".join(f"c{positions[c]} AS {ident(c)}" for c in present)
    exact = columns.column("raw").null_count < columns.num_rows
    return Staged(name, path, fmt, present, expected_ncols, extras, clean=fmt == "csv" and not exact,
                  columns=columns, positions=positions,
                  view_sql=f"SELECT line, raw, ncols, false AS blank, {cols}, "
                           f"{extras_json([(c, f'c{positions[c]}') for c in extras])} AS extras, longest "
                           f"FROM {name}_arrow", **more)  # type: ignore[arg-type]


def _named_select(staged_fields: list[str], positions: dict[str, int], values: dict[str, str]) -> tuple[str, str]:
    """SQL for the ``c<position>`` columns of named inputs (``values``: name -> SQL of its text) and for
    whether a record needs the engine's control-character check (over the expected fields, as the
    line-by-line path checks them)."""
    cols = ", ".join(f"nullif(trim({values[n]}), '') AS c{positions[n]}" for n in positions)
    text = "concat_ws('', " + ", ".join(f"nullif(trim({values[f]}), '')" for f in staged_fields) + ")"
    return cols, f"regexp_matches({text}, '{_CONTROLS}')"


def _jsonl_chunks(con: duckdb.DuckDBPyConnection, staged: Staged) -> Iterator[Staged]:
    """The staged JSON lines (``tabular.stage``: ``<name>_objects(line, raw, j)``) read out in chunks, every
    key extracted by one parse of the line (``json_extract_string`` with a list of paths)."""
    name, objects = staged.name, f"{staged.name}_objects"
    keys = named_columns(staged.path, staged.keys, staged.fields, [])
    positions = {n: i + 1 for i, n in enumerate(keys)}
    paths = "[" + ", ".join(sql_text("$." + ident(keys[n])) for n in positions) + "]"
    cols, control = _named_select(staged.fields, positions, {n: f"f[{positions[n]}]" for n in positions})
    blank = "(raw IS NULL OR trim(raw) = '')"
    last = con.execute(f"SELECT coalesce(max(line), 0) FROM {objects}").fetchall()[0][0]
    per_chunk = rows_per_chunk(last)
    for first in range(1, last + 1, per_chunk):
        window = f"line BETWEEN {first} AND {first + per_chunk - 1}"
        blanks = con.execute(f"SELECT count(*) FROM {objects} WHERE {window} AND {blank}").fetchall()[0][0]
        # A value can hold a control character only when its line escapes one (a backslash) or holds a DEL,
        # and a field can pass the limit only on a line that does: the costly checks run on those lines.
        table = con.execute(
            f"SELECT line, {cols}, CASE WHEN j IS NULL THEN -1 END AS ncols, longest, "
            f"CASE WHEN j IS NULL OR longest > {FIELD_LIMIT} OR ((contains(raw, '\\') OR contains(raw, chr(127))) "
            f"AND {control}) THEN raw END AS raw "
            f"FROM (SELECT line, raw, j, f, CASE WHEN length(raw) > {FIELD_LIMIT} "
            f"THEN list_max(list_transform(f, x -> coalesce(length(x), 0))) ELSE 0 END AS longest "
            f"FROM (SELECT line, raw, j, json_extract_string(j, {paths}) AS f FROM {objects} "
            f"WHERE {window} AND NOT {blank}))"  # the table's order is the file's: no sort
        ).to_arrow_table()
        if not table.num_rows and not blanks:
            continue
        yield _chunk_staged(staged.path, name, "jsonl", table, staged.fields, staged.extra_columns, positions,
                            None, cut_line=staged.cut_line, incomplete=staged.incomplete,
                            raw_of=_raw_by_line(con, f"SELECT line, raw FROM {objects}"), blank_lines=blanks)


@dataclass
class _JsonLines:
    """A plain JSON-lines file's lines, found by one streamed pass: where each starts and ends (its line end
    left out), the 1-based lines that are not blank (empty, or spaces only), how many are blank, and
    whether any line escapes a character or holds a DEL (only then can a value hold a control character).
    The C scanner also gives the objects' keys, when every line that is not blank is one object whose keys
    escape nothing."""

    path: Path
    starts: np.ndarray
    ends: np.ndarray
    lines: np.ndarray
    blank: int
    escapes: bool
    keys: list[str] | None = None  # the top-level keys, when the scan could tell them (the C scanner)

    def raw_of(self, wanted: list[int]) -> list[str]:
        """The text of some lines (1-based), read back from the file."""
        with open(self.path, "rb") as fh:
            texts = []
            for n in wanted:
                fh.seek(int(self.starts[n - 1]))
                texts.append(fh.read(int(self.ends[n - 1] - self.starts[n - 1])).decode("utf-8").rstrip("\r"))
            return texts


def _scan_json_lines(path: Path) -> _JsonLines | None:
    """The lines of a JSON-lines file; None when the text is not UTF-8 (the line-by-line staging names
    where). The C scanner reads the mapped file in windows of whole lines, two at a time (one per core),
    each window's pages let go once it is read, so the memory it holds stays small; numpy streams the file
    in blocks when the scanner is not built."""
    if _csvscan is None or not path.stat().st_size:
        return _stream_json_lines(path)
    scan = _csvscan.json_lines
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as text:
        cuts = [0]
        while cuts[-1] < len(text):
            cuts.append(text.find(b"\n", cuts[-1] + _SCAN_BYTES) + 1 or len(text))

        def window(i: int) -> tuple[bytes, bytes, bytes, bool, list[bytes] | None, int]:
            with memoryview(text) as view, view[cuts[i] : cuts[i + 1]] as part:
                found = scan(part)
            first_page = cuts[i] - cuts[i] % mmap.PAGESIZE
            text.madvise(mmap.MADV_DONTNEED, first_page, cuts[i + 1] - first_page)
            return found

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="json-scan") as pool:
            parts = list(pool.map(window, range(len(cuts) - 1)))
    if any(part[5] >= 0 for part in parts):
        return None
    starts = np.concatenate([np.frombuffer(p[0], np.int64) + at for p, at in zip(parts, cuts, strict=False)])
    ends = np.concatenate([np.frombuffer(p[1], np.int64) + at for p, at in zip(parts, cuts, strict=False)])
    empty = np.frombuffer(b"".join(p[2] for p in parts), np.bool_)
    keys = None if any(p[4] is None for p in parts) else sorted({k.decode("utf-8") for p in parts for k in p[4] or []})
    return _JsonLines(path, starts, ends, np.flatnonzero(~empty).astype(np.int64) + 1, int(np.count_nonzero(empty)),
                      any(p[3] for p in parts), keys)


def _stream_json_lines(path: Path) -> _JsonLines | None:
    """``_scan_json_lines`` by numpy, the file streamed in blocks (memory stays bounded)."""
    starts, ends, blank_at = [], [], []
    offset, escapes, pending = 0, False, b""
    with open(path, "rb") as fh:
        while True:
            piece = fh.read(_SCAN_BYTES)
            block = pending + piece
            cut = len(block) if not piece else block.rfind(b"\n") + 1
            block, pending = block[:cut], block[cut:]
            if block:
                if not block.isascii():
                    try:
                        block.decode("utf-8")
                    except UnicodeDecodeError:
                        return None
                escapes = escapes or block.find(b"\\") >= 0 or block.find(b"\x7f") >= 0
                view = np.frombuffer(block, np.uint8)
                feeds = np.flatnonzero(view == 10)
                line_ends = feeds if block.endswith(b"\n") else np.append(feeds, len(block))
                line_starts = np.concatenate(([0], feeds[: len(line_ends) - 1] + 1))
                empty = line_ends == line_starts
                for i in np.flatnonzero(~empty & (view[np.minimum(line_starts, len(view) - 1)] != ord("{"))):
                    empty[i] = not block[int(line_starts[i]) : int(line_ends[i])].removesuffix(b"\r").strip(b" ")
                starts.append(line_starts + offset)
                ends.append(line_ends + offset)
                blank_at.append(empty)
                offset += len(block)
            if not piece:
                break
    if not starts:
        return _JsonLines(path, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64), 0, False)
    blank = np.concatenate(blank_at)
    return _JsonLines(path, np.concatenate(starts), np.concatenate(ends),
                      np.flatnonzero(~blank).astype(np.int64) + 1, int(np.count_nonzero(blank)), escapes)


def _jsonl_plan(con: duckdb.DuckDBPyConnection, path: Path, fields: list[str],
                required: list[str]) -> tuple[dict[str, str], _JsonLines] | None:
    """For a plain JSON-lines file whose every non-blank line is a JSON object (the engine's JSON reader can
    then read it whole, in columns): the columns to read (``tabular.named_columns``) and its lines. None for
    anything else, which the line-by-line staging reads and judges line by line."""
    if is_gzip(path):
        return None
    source = f"read_ndjson_objects({sql_text(str(path))})"
    with con.cursor() as cursor, ThreadPoolExecutor(max_workers=1, thread_name_prefix="json-check") as pool:
        counted = pool.submit(_json_values, cursor, source)  # the engine checks it is JSON meanwhile
        found = _scan_json_lines(path)
        objects = counted.result()
    if found is None or objects is None:
        return None
    if found.keys is not None:  # the scan saw the objects and their keys
        keys = found.keys
    else:
        try:
            others = con.execute(f"SELECT count(*) FROM {source} WHERE json_type(json) <> 'OBJECT'").fetchall()[0][0]
            if others:
                return None
            keys = [k for (k,) in con.execute(
                f"SELECT DISTINCT unnest(json_keys(json)) AS k FROM {source} ORDER BY k").fetchall()]
        except duckdb.Error:
            return None
    if not objects or len(found.lines) != objects or len({k.lower() for k in keys}) != len(keys):
        return None  # not UTF-8, lines the engine counts otherwise, or keys differing only in case
    return named_columns(path, keys, fields, required), found


def _json_values(cursor: duckdb.DuckDBPyConnection, source: str) -> int | None:
    """How many JSON values the engine reads in the file; None when one of them is not JSON."""
    try:
        return int(cursor.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])
    except duckdb.Error:
        return None


def _jsonl_read(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str], keys: dict[str, str],
                found: _JsonLines) -> Iterator[Staged]:
    """The records of a JSON-lines file read by the engine's JSON reader, in chunks (``rows_per_chunk``):
    every key as text, the n-th record on the n-th non-blank line. A record whose line escapes a character
    (a value may then hold a control character) or is longer than the field limit is checked for both, as
    the line-by-line path checks every record."""
    present = [f for f in fields if f in keys]
    extras = [k for k in keys if k not in present]
    positions = {n: i + 1 for i, n in enumerate(keys)}
    columns = "{" + ", ".join(f"{sql_text(keys[n])}: 'VARCHAR'" for n in keys) + "}"
    # On a cursor of its own: the caller's connection runs other queries between two chunks.
    cursor = con.cursor()
    reader = cursor.execute(
        f"SELECT * FROM read_json({sql_text(str(path))}, format = 'newline_delimited', columns = {columns})"
    ).to_arrow_reader(rows_per_chunk(len(found.lines)))
    lines, raw_of = found.lines, found.raw_of
    lengths = (found.ends - found.starts)[lines - 1]
    done = 0
    for batch in reader:
        n = batch.num_rows
        given = {n_: batch.column(keys[n_]) for n_ in keys}
        here = lines[done : done + n]
        suspect = lengths[done : done + n] > FIELD_LIMIT
        longest = np.zeros(n, np.int64)
        if suspect.any():
            longest = np.max([np.asarray(pc.fill_null(pc.utf8_length(c), 0)) for c in given.values()], axis=0)
        if found.escapes:
            for f in present:
                suspect |= np.asarray(pc.fill_null(pc.match_substring_regex(given[f], _CONTROLS), False), bool)
        raw = pa.nulls(n, pa.string())
        if suspect.any():
            texts = dict(zip(here[suspect].tolist(), raw_of(here[suspect].tolist()), strict=True))
            raw = string_array([texts.get(int(line)) for line in here])
        chunk = pa.table({**{f"c{positions[k]}": trimmed_text(c) for k, c in given.items()}, "line": from_numpy(here),
                          "raw": raw, "ncols": pa.nulls(n, pa.int32()), "longest": from_numpy(longest)})
        yield _chunk_staged(path, name, "jsonl", chunk, present, extras, positions, None, raw_of=raw_of,
                            blank_lines=found.blank if not done else 0)
        done += n
    cursor.close()


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
    cols, control = _named_select(present, positions, values)
    longest = "greatest(" + ", ".join(f"coalesce(length({values[n]}), 0)" for n in keys) + ")"
    raw = "CAST(to_json(struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in columns) + ")) AS VARCHAR)"
    raw_of = _raw_by_line(con, f"SELECT file_row_number + 1 AS line, {raw} AS raw FROM {source}")
    schema = pq.read_schema(path)
    per_chunk = rows_per_chunk(pq.ParquetFile(path).metadata.num_rows)
    if all(_text_as_is(schema.field(keys[n]).type) for n in keys) and len(set(schema.names)) == len(schema.names):
        tables = _parquet_as_text(path, keys, present, raw_of, per_chunk)
    else:  # other types are written as the engine writes them
        cursor = con.cursor()  # its own: the caller's connection runs other queries between two chunks
        reader = cursor.execute(
            f"SELECT file_row_number + 1 AS line, {cols}, CAST(NULL AS INTEGER) AS ncols, {longest} AS longest, "
            f"CASE WHEN {longest} > {FIELD_LIMIT} OR {control} THEN {raw} END AS raw FROM {source}"
        ).to_arrow_reader(per_chunk)
        tables = (pa.Table.from_batches([b]) for b in reader)
    for table in _in_chunks(tables, per_chunk):
        yield _chunk_staged(path, name, "parquet", table, present, extras, positions, None, raw_of=raw_of)


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
                    suspect |= np.asarray(pc.fill_null(pc.match_substring_regex(given[f], _CONTROLS), False), bool)
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


def rows_per_chunk(rows: int) -> int:
    """Records per chunk for a file of ``rows`` records."""
    return min(ROWS_PER_CHUNK, max(MIN_ROWS_PER_CHUNK, rows // 8))


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


def _raw_by_line(con: duckdb.DuckDBPyConnection, relation: str) -> Callable[[list[int]], list[str]]:
    """The raw text of some records of ``relation`` (``line``, ``raw``), by their lines."""
    def raw_of(lines: list[int]) -> list[str]:
        con.register("wanted_lines", pa.table({"line": from_numpy(np.array(lines, dtype=np.int64))}))
        try:
            found = dict(con.execute(
                f"SELECT r.line, r.raw FROM ({relation}) r SEMI JOIN wanted_lines w ON w.line = r.line").fetchall())
        finally:
            con.unregister("wanted_lines")
        return [found.get(line, "") for line in lines]
    return raw_of
