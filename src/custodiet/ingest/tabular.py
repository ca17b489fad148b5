"""Line-exact staging of tabular inputs (CSV, JSON lines, Parquet; plain or gzip) into DuckDB.

Every record (or Parquet row) becomes one staged row with its 1-based line number, its raw text and one
VARCHAR column per expected field, so that validation can name ``file:line`` and quarantine the raw
record. A CSV record is a line, or the lines a quoted field with line breaks joins (``csvsplit``); its
line is where it starts. CSV is split on commas in the engine: unquoted records with ``string_split``,
fully quoted ones by their ``","`` separators, and only mixed quoting through a regular expression.

A plain (not gzipped) file is first scanned once for its bytes (``scan_bytes``, numpy): when it holds no
control character besides line ends, the per-record control-character check and the carriage-return
trimming are left out of the SQL, which saves two regular-expression passes.

Before a line is staged, ``guard`` checks the bytes: a gzip stream must be complete (the engine reads a
truncated one without complaint), the text must be UTF-8, and a last line without a line end must parse
as a whole record; a file that ends early is staged up to the cut and marked ``Staged.incomplete``, its
cut record rejected as ``file ends inside a record``. A Parquet file must end with its footer.

A CSV of at least ``fastcsv.MIN_BYTES`` skips the line table altogether: ``stagings`` reads it with
Arrow's CSV reader chunk by chunk (``fastcsv``), and each chunk's staged view runs over its Arrow columns.
Its malformed records are split by this module's SQL (``csv_exact``), so both paths judge them alike.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from custodiet.arrow_columns import from_numpy, string_array
from custodiet.events import sql_text
from custodiet.ingest.bytescan import ByteScan, is_gzip, scan_bytes
from custodiet.ingest.csvsplit import MAX_SPAN, merge_spans
from custodiet.ingest.guard import (
    CUT_RECORD,
    IncompleteInput,
    InputError,
    check_file,
    check_gzip,
)
from custodiet.ingest.limits import FIELD_LIMIT
from custodiet.ingest.lines import stage_lines

__all__ = ["CUT_RECORD", "IncompleteInput", "InputError", "Staged", "stage"]

# Only spaces: ``trim`` on every line costs seconds, so it runs only on lines that start with a space.
_BLANK = "(raw IS NULL OR raw = '' OR (starts_with(raw, ' ') AND trim(raw) = ''))"
# Each field with the comma before it (a comma is put before the record): an empty first field is then a
# match of its own, never skipped as an empty match at the start.
_CSV_FIELD = r',("(?:[^"]|"")*"|[^,]*)'


@dataclass
class Staged:
    """A staged input: view or table ``name`` has (line, raw, ncols, blank, <fields...>, extras JSON); a
    chunk's view over its Arrow columns is defined per connection by ``define_view``."""

    name: str
    path: Path
    fmt: str
    fields: list[str]  # expected fields present in the input
    expected_ncols: int | None  # CSV: the header's column count
    extra_columns: list[str] = field(default_factory=list)
    clean: bool = False  # proven free of control characters (CSV only): the per-record check is skipped
    columns: pa.Table | None = None  # a fast CSV chunk (``fastcsv.Chunk.columns``): ``c<position>``, line, …
    positions: dict[str, int] = field(default_factory=dict)  # field or extra column -> its position
    view_sql: str | None = None  # a chunk's view over its Arrow columns, ``<name>_arrow``
    records: str | None = None  # a staged CSV's relation of records ``(line, raw)``
    keys: list[str] = field(default_factory=list)  # JSON lines and Parquet: every key or column read
    cut_line: int | None = None  # the last record, cut short where the file ends (rejected as such)
    incomplete: str | None = None  # why the file is incomplete (truncated gzip, a record cut short)
    raw_of: Callable[[list[int]], list[str]] | None = None  # a fast CSV chunk's record texts, by line
    blank_lines: int = 0  # a fast CSV chunk's blank lines (left out of ``columns``)

    def define_view(self, con: duckdb.DuckDBPyConnection, columns: pa.Table) -> None:
        """Define the staged view of a fast CSV chunk on ``con`` over ``columns`` (the chunk's Arrow columns,
        or a slice of them, so that several connections can each check a part)."""
        if self.view_sql is None:
            raise ValueError("only a fast CSV chunk is a view over Arrow columns")
        con.register(f"{self.name}_arrow", columns)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {self.name} AS {self.view_sql}")

    def column(self, name: str) -> pa.ChunkedArray | None:
        """A present field or extra column of a fast CSV chunk as Arrow strings (None when it lacks it)."""
        if self.columns is None:
            raise ValueError("only a fast CSV chunk has Arrow columns")
        return self.columns.column(f"c{self.positions[name]}") if name in self.positions else None


def detect_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"),
                        (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(suffix):
            return fmt
    raise InputError(f"{path.name}: unknown file type (expected .csv, .jsonl, .ndjson, .json or .parquet, "
                     "optionally .gz)")


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _unquote_sql(expr: str) -> str:
    """SQL that strips CSV quotes from one field expression."""
    return (f"CASE WHEN length({expr}) >= 2 AND starts_with({expr}, '\"') AND ends_with({expr}, '\"') "
            f"THEN replace({expr}[2:-2], '\"\"', '\"') ELSE {expr} END")


def csv_header(line: str) -> list[str]:
    """The column names of a CSV header line (byte-order mark dropped, trimmed, lower case)."""
    import csv

    return [h.strip().lower() for h in next(csv.reader([line.lstrip("\ufeff")]), [])]


def csv_columns(path: Path, header: list[str], fields: list[str], required: list[str]) -> tuple[list[str], list[str]]:
    """The expected fields present in a CSV header and its extra columns; InputError if a required one is
    missing."""
    _columns_check(path, header, required)
    return [f for f in fields if f in header], [h for h in header if h and h not in fields]


def stage(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str],
          required: list[str], first_line: int = 2) -> Staged:
    """Stage ``path`` into view or table ``name`` (line, raw, ncols, blank, fields, extras, longest); raise
    InputError when it cannot be read at all. CSV and JSON lines are read into ``<name>_lines`` first:
    a table filled in file order, so ``rowid + 1`` is the line number. Staged CSV and JSON lines are
    views over it (materialised once, by the caller's checking pass), Parquet a table.

    A CSV's records before ``first_line`` are left out (``stagings`` stored them already).
    """
    check_file(path)
    fmt = detect_format(path)
    try:
        if fmt == "parquet":
            return _stage_parquet(con, path, name, fields, required)
        text = _stage_text(con, path, f"{name}_lines")
        if fmt == "csv":
            staged = _stage_csv(con, path, name, fields, required, text.scan, first_line)
        else:
            staged = _stage_jsonl(con, path, name, fields, required)
        _mark_cut(con, staged, text, f"{name}_lines")
        return staged
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot be read: {str(exc).splitlines()[0]}") from exc


@dataclass
class _Text:
    """A line-based input as staged: its byte scan, whether it ends with a line end, its size in bytes, and
    why it is cut (a truncated gzip stream)."""

    scan: ByteScan
    ends_with_newline: bool
    size: int
    truncated: str | None


def _stage_text(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> _Text:
    """Stage a CSV or JSON-lines file's lines into ``table`` once its bytes are checked: ``InputError`` for
    text that is not UTF-8 or a corrupt gzip stream.

    A gzip stream is checked in a worker thread while its lines are read (zlib releases the GIL); a
    truncated one is staged up to the cut."""
    if not is_gzip(path):
        scan = scan_bytes(path)
        if scan.bad_text is not None:
            raise InputError(scan.bad_text.message(path.name))
        stage_lines(con, path, table, scan)
        return _Text(scan, bool(scan.ends_with_newline), scan.size or 0, None)
    failure: Exception | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gzip-check") as pool:
        checking = pool.submit(check_gzip, path)
        try:
            stage_lines(con, path, table)  # a truncated stream: the lines before the cut
        except (InputError, pa.ArrowInvalid) as exc:
            failure = exc
        check = checking.result()
    if check.bad_text is not None:
        raise InputError(check.bad_text.message(path.name, compressed=True))
    if failure is not None:
        raise failure
    truncated = None if check.complete else check.truncation(path.name)
    return _Text(ByteScan(), check.ends_with_newline, check.size, truncated)


def _mark_cut(con: duckdb.DuckDBPyConnection, staged: Staged, text: _Text, lines: str) -> None:
    """Note on ``staged`` a last record cut short and why the file is incomplete.

    A last line without a line end is a whole record when it parses as one (the file merely lacks its
    final line end, which is common). It is cut when it does not (a CSV record with fewer or more fields
    than the header, an unterminated quote; a JSON line that is not valid JSON), or when the file is a
    truncated gzip stream (whatever the line holds, its end is lost)."""
    if text.ends_with_newline and text.truncated is None:
        return
    count = con.execute(f"SELECT count(*) FROM {lines}").fetchall()[0][0]
    last = con.execute(f"SELECT raw FROM {lines} WHERE rowid = {count - 1}").fetchall() if count else []
    raw, line = (last[0][0] if last else None), count
    if staged.records is not None and count:  # the last record may span several lines
        found = con.execute(f"SELECT line, raw FROM {staged.records} ORDER BY line DESC LIMIT 1").fetchall()
        line, raw = found[0] if found else (line, raw)
    first_record = 2 if staged.fmt == "csv" else 1
    cut = not text.ends_with_newline and count >= first_record and bool(raw and raw.strip()) and (
        text.truncated is not None or not _whole_record(staged, raw or ""))
    if cut:
        staged.cut_line = line
        staged.incomplete = (text.truncated or
                             f"{staged.path.name}: {CUT_RECORD}: line {line} is cut short at byte {text.size}")
    elif text.truncated is not None:
        staged.incomplete = text.truncated


def _whole_record(staged: Staged, raw: str) -> bool:
    if staged.fmt == "csv":
        fields = next(csv.reader(raw.splitlines(keepends=True)), [])
        return raw.count('"') % 2 == 0 and len(fields) == staged.expected_ncols
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def _columns_check(path: Path, present: list[str], required: list[str]) -> None:
    missing = [c for c in required if c not in present]
    if missing:
        raise InputError(f"{path.name}: missing required column(s) {', '.join(missing)}; "
                         f"found {', '.join(present) or 'none'}")


def _split_sql(quoted: bool) -> str:
    """SQL for the fields of a CSV record ``raw`` as a list: unquoted records by ``string_split``, fully
    quoted ones by their ``","`` separators, and only mixed quoting through a regular expression."""
    return "string_split(raw, ',')" if not quoted else (
        "CASE WHEN NOT contains(raw, '\"') THEN string_split(raw, ',') "
        "WHEN regexp_full_match(raw, '\"[^\"]*\"(,\"[^\"]*\")*') THEN string_split(raw[2:-2], '\",\"') "
        f"ELSE list_transform(regexp_extract_all(',' || raw, {sql_text(_CSV_FIELD)}, 1), x -> {_unquote_sql('x')}) END"
    )


def _field_sql(position: int, spaced: bool) -> str:
    """SQL for field ``position`` (1-based) of the split record ``f``: empty is NULL; trimming costs, so only
    records with a space (``padded``) are trimmed (``trim`` cuts only spaces)."""
    return (f"nullif(CASE WHEN padded THEN trim(f[{position}]) ELSE f[{position}] END, '')" if spaced
            else f"nullif(f[{position}], '')")


def _longest_sql() -> str:
    return (f"CASE WHEN length(raw) > {FIELD_LIMIT} THEN list_max(list_transform(f, x -> length(x))) "
            "ELSE length(raw) END")


def csv_exact(con: duckdb.DuckDBPyConnection, positions: list[int]) -> Callable[[pa.Table], pa.Table]:
    """The line-by-line path's split of some CSV records, for the fast path's malformed ones
    (``fastcsv.Exact``): ``(line, raw)`` in, ``c<position>``, ``ncols`` and ``longest`` out, in order."""
    def exact(records: pa.Table) -> pa.Table:
        cols = ", ".join(f"{_field_sql(i, True)} AS c{i}" for i in positions)
        with con.cursor() as cursor:
            cursor.register("exact_records", records)
            return cursor.execute(
                f"SELECT len(f) AS ncols, {cols}, {_longest_sql()} AS longest FROM (SELECT line, raw, "
                f"{_split_sql(True)} AS f, contains(raw, ' ') AS padded FROM exact_records) ORDER BY line"
            ).to_arrow_table()
    return exact


def _csv_records(con: duckdb.DuckDBPyConnection, lines: str, name: str, first_line: int, ncols: int,
                 quoted: bool) -> str:
    """The CSV records from ``first_line`` on as a relation ``(line, raw)``: one per line, except the lines
    that ``csvsplit.merge_spans`` joins into one record (a quoted field with line breaks)."""
    plain = f"(SELECT rowid + 1 AS line, raw FROM {lines} WHERE rowid >= {max(1, first_line - 1)})"
    if not quoted:
        return plain
    odd = [r[0] for r in con.execute(
        f"SELECT line FROM {plain} WHERE (length(raw) - length(replace(raw, '\"', ''))) % 2 = 1 ORDER BY line"
    ).fetchall()]
    if not odd:
        return plain
    wanted = sorted({n for a, b in zip(odd, odd[1:], strict=False) if b - a < MAX_SPAN for n in range(a, b + 1)})
    con.register("wanted_lines", pa.table({"line": from_numpy(np.array(wanted, dtype=np.int64))}))
    texts = dict(con.execute(f"SELECT l.line, l.raw FROM {plain} l SEMI JOIN wanted_lines w ON w.line = l.line"
                             ).fetchall())
    con.unregister("wanted_lines")
    merged = merge_spans(odd, lambda n: texts.get(n), ncols)
    if not merged:
        return plain
    con.register(f"{name}_merged", pa.table({
        "line": from_numpy(np.array([m[0] for m in merged], dtype=np.int64)),
        "last": from_numpy(np.array([m[1] for m in merged], dtype=np.int64)),
        "raw": string_array([m[2] for m in merged])}))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}_records AS SELECT l.line, coalesce(m.raw, l.raw) AS raw "
        f"FROM {plain} l LEFT JOIN {name}_merged m ON m.line = l.line "
        f"WHERE NOT EXISTS (SELECT 1 FROM {name}_merged c WHERE l.line > c.line AND l.line <= c.last) ORDER BY l.line")
    return f"{name}_records"


def _stage_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str],
               required: list[str], scan: ByteScan, first_line: int = 2) -> Staged:
    lines = f"{name}_lines"
    head = con.execute(f"SELECT raw FROM {lines} WHERE rowid = 0").fetchall()
    head_line = head[0][0] if head else None
    if head_line is None:
        raise InputError(f"{path.name}: empty file (a CSV needs a header line)")
    header = csv_header(head_line)
    present, extras = csv_columns(path, header, fields, required)
    quoted, spaced = scan.has_quote, scan.has_space  # in the records (the scan leaves the header out)
    records = _csv_records(con, lines, name, first_line, len(header), quoted)
    cols = ", ".join(f"{_field_sql(header.index(c) + 1, spaced)} AS {ident(c)}" for c in present)
    extra_json = extras_json([(c, _field_sql(header.index(c) + 1, spaced)) for c in extras])
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS "
        f"SELECT line, raw, len(f) AS ncols, {_BLANK} AS blank, "
        f"{cols}, {extra_json} AS extras, {_longest_sql()} AS longest "
        f"FROM (SELECT line, raw, {_split_sql(quoted)} AS f, contains(raw, ' ') AS padded FROM {records})"
    )
    return Staged(name, path, "csv", present, len(header), extras, clean=not scan.has_control,
                  records=records)


def raw_lines(con: duckdb.DuckDBPyConnection, staged: Staged) -> str:
    """A relation ``(line, raw)`` over the staged input's records, for quarantining them with their text."""
    return staged.records or staged.name


def extras_json(pairs: list[tuple[str, str]]) -> str:
    if not pairs:
        return "CAST(NULL AS VARCHAR)"
    args = ", ".join(f"{sql_text(k)}, {v}" for k, v in sorted(pairs))
    return f"CAST(json_object({args}) AS VARCHAR)"


def named_columns(path: Path, keys: list[str], fields: list[str], required: list[str]) -> dict[str, str]:
    """For inputs whose fields are named (JSON keys, Parquet columns): each expected field present and each
    extra key, mapped to the key it is read from (fields are matched in lower case; extra keys keep theirs).
    ``InputError`` when a required field is missing."""
    lowered = {k.lower(): k for k in keys}
    _columns_check(path, list(lowered), required)
    return {f: lowered[f] for f in fields if f in lowered} | {k: k for k in keys if k.lower() not in fields}


def _named_fields(path: Path, keys: list[str], fields: list[str], required: list[str],
                  text: Callable[[str], str]) -> tuple[list[str], list[str], str, str, str]:
    """For inputs whose fields are named (JSON keys, Parquet columns): the expected fields present, the
    extra keys, and the SQL for the field columns, the longest value and the extras' JSON. ``text(key)``
    is the SQL that reads one key as text."""
    lowered = {k.lower(): k for k in keys}
    named_columns(path, keys, fields, required)
    present = [f for f in fields if f in lowered]
    extras = [k for k in keys if k.lower() not in fields]
    cols = ", ".join(f"nullif(trim({text(lowered[c])}), '') AS {ident(c)}" for c in present)
    longest = "greatest(" + ", ".join(f"coalesce(length({text(k)}), 0)" for k in keys) + ")"
    extra_json = extras_json([(k, f"nullif(trim({text(k)}), '')") for k in extras])
    return present, extras, cols, longest, extra_json


def _stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str],
                 required: list[str]) -> Staged:
    lines = f"{name}_lines"
    obj = "CASE WHEN json_valid(raw) THEN CASE WHEN json_type(raw) = 'OBJECT' THEN raw END END"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_objects AS SELECT rowid + 1 AS line, raw, {obj} AS j "
                f"FROM {lines}")
    keys = con.execute(f"SELECT DISTINCT unnest(json_keys(j)) FROM {name}_objects WHERE j IS NOT NULL").fetchall()
    present_keys = sorted(k for (k,) in keys)
    if not present_keys:
        nonblank = con.execute(f"SELECT count(*) FROM {lines} WHERE trim(coalesce(raw, '')) <> ''").fetchall()
        if nonblank[0][0] == 0:
            raise InputError(f"{path.name}: empty file")
        raise InputError(f"{path.name}: no line is a JSON object")
    present, extras, cols, longest, extra_json = _named_fields(
        path, present_keys, fields, required, lambda k: f"json_extract_string(j, {sql_text('$.' + ident(k))})")
    # Lines that are not JSON objects have NULL fields; ncols = -1 marks them.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT line, raw, CASE WHEN j IS NULL THEN -1 END AS ncols, "
        f"{_BLANK} AS blank, {cols}, {extra_json} AS extras, {longest} AS longest "
        f"FROM {name}_objects"
    )
    return Staged(name, path, "jsonl", present, None, extras, keys=present_keys)


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str, fields: list[str],
                   required: list[str]) -> Staged:
    check_parquet(path)
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_text(str(path))})").fetchall()
    columns = [row[0] for row in described]
    present, extras, cols, longest, extra_json = _named_fields(
        path, columns, fields, required, lambda c: f"CAST({ident(c)} AS VARCHAR)")
    raw = "CAST(to_json(struct_pack(" + ", ".join(f"{ident(c)} := {ident(c)}" for c in columns) + ")) AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT file_row_number + 1 AS line, {raw} AS raw, "
        f"NULL AS ncols, false AS blank, {cols}, {extra_json} AS extras, {longest} AS longest "
        f"FROM read_parquet({sql_text(str(path))}, file_row_number = true)"
    )
    return Staged(name, path, "parquet", present, None, extras, keys=columns)


def check_parquet(path: Path) -> None:
    """``InputError`` for a file that is not Parquet; ``IncompleteInput`` for one cut short (a Parquet file
    ends with its footer, its length and the magic ``PAR1``: without them no row can be found)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(max(size - 8, 0))
        tail = fh.read(8)
    if head != b"PAR1":
        raise InputError(f"{path.name}: not a Parquet file (it does not start with PAR1)")
    if size < 12 or tail[4:] != b"PAR1":
        raise IncompleteInput(f"{path.name}: truncated Parquet file: it ends at byte {size} without its footer",
                              size)
    footer = int.from_bytes(tail[:4], "little")
    if footer + 12 > size:
        raise InputError(f"{path.name}: corrupt Parquet file: its footer claims {footer} bytes of {size}")
