"""JSON lines and Parquet read in Arrow chunks give exactly what the line-by-line path gives."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodiet.ingest import chunks, readers
from custodiet.ingest.portal import ingest_portal
from custodiet.store import Store
from tests.ingest.fixtures import HEADER
from tests.ingest.test_fast_csv import _random_rows, _snapshot, shared_key  # noqa: F401
from tests.ingest.test_portal import NOW


def _both(tmp_path, path, monkeypatch):
    fast_store, exact_store = Store(tmp_path / "fast"), Store(tmp_path / "exact")
    fast = ingest_portal(fast_store, path, now=NOW).as_dict()
    with monkeypatch.context() as m:
        m.setattr(readers, "FAST_PATH", False)
        exact = ingest_portal(exact_store, path, now=NOW).as_dict()
    return fast, exact, list(_snapshot(fast_store)), list(_snapshot(exact_store))


def _objects(seed: int, upper: bool = True) -> list[dict]:
    """Random records as JSON objects: keys in any case (unless not ``upper``), numbers as numbers, some values
    nested, an extra key."""
    objects = []
    for i, row in enumerate(_random_rows(seed, 300)):
        record = {(h.upper() if upper and i % 5 == 0 else h): v for h, v in zip(HEADER, row, strict=True) if v or i % 3}
        if i % 7 == 0 and record.get("records", "").isdigit():
            record["records"] = int(record["records"])
        if i % 11 == 0:
            record["device"] = {"model": "x", "os": i}
        objects.append(record)
    return objects


@pytest.mark.parametrize("gz", [False, True])
def test_json_lines_are_judged_alike_on_both_paths(tmp_path, monkeypatch, shared_key, gz):  # noqa: F811
    lines = [json.dumps(o) for o in _objects(3)]
    lines[10:10] = ["", "[1, 2]", "not json", "   ", '{"ts": "2026-03-01T08:00:00Z", "actor": "a\\u0007b"}']
    text = ("\n".join(lines) + "\n").encode()
    path = tmp_path / ("log.jsonl.gz" if gz else "log.jsonl")
    path.write_bytes(gzip.compress(text) if gz else text)
    fast, exact, fast_rows, exact_rows = _both(tmp_path, path, monkeypatch)
    assert (fast, fast_rows) == (exact, exact_rows)
    assert fast["stored"] > 0
    reasons = {line: reason for line, reason, _ in fast_rows[1]}
    assert reasons[12] == "not a JSON object"
    assert "control characters" in reasons[15]


@pytest.mark.parametrize("chunk", [None, 40])
def test_clean_json_lines_take_the_engines_json_reader(tmp_path, monkeypatch, shared_key, chunk):  # noqa: F811
    """Every non-blank line an object: read by the engine's JSON reader, judged as the line-by-line path judges
    them (blank lines, a control character behind an escape, an over-long value, bad fields)."""
    if chunk:
        monkeypatch.setattr(chunks, "ROWS_PER_CHUNK", chunk)
    planned = []
    original = readers.jsonl_plan
    monkeypatch.setattr(readers, "jsonl_plan", lambda *a: planned.append(original(*a)) or planned[-1])
    objects = _objects(6, upper=False)
    objects[7]["actor"] = "a\u0007b"
    objects[9]["operation"] = "x" * 5000
    lines = [json.dumps(o) for o in objects]
    lines[20:20] = ["", "   ", ""]
    path = tmp_path / "clean.jsonl"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    fast, exact, fast_rows, exact_rows = _both(tmp_path, path, monkeypatch)
    assert planned
    assert planned[0] is not None
    assert (len(fast.pop("segments")) > 1) == bool(chunk)
    exact.pop("segments")
    if chunk:  # an id met in an earlier chunk is "already stored", within one "already used at line N"
        fast_rows[1], exact_rows[1] = ([(line, reason.split(" already ")[0], raw) for line, reason, raw in rows]
                                       for rows in (fast_rows[1], exact_rows[1]))
    assert (fast, fast_rows) == (exact, exact_rows)
    assert fast["blank_lines"] == 3
    reasons = {line: reason for line, reason, _ in fast_rows[1]}
    assert "control characters" in reasons[8]
    assert "over the limit" in reasons[10]


def test_json_lines_in_several_chunks(tmp_path, monkeypatch, shared_key):  # noqa: F811
    monkeypatch.setattr(chunks, "ROWS_PER_CHUNK", 40)
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in _objects(4)) + "\n")
    fast, exact, fast_rows, exact_rows = _both(tmp_path, path, monkeypatch)
    assert len(fast.pop("segments")) > 1
    exact.pop("segments")
    assert fast_rows[0] == exact_rows[0]
    assert [(line, raw) for line, _, raw in fast_rows[1]] == [(line, raw) for line, _, raw in exact_rows[1]]


@pytest.mark.parametrize(("chunk", "typed"), [(None, False), (50, False), (None, True), (70, True)])
def test_parquet_is_judged_alike_on_both_paths(tmp_path, monkeypatch, shared_key, chunk, typed):  # noqa: F811
    """Text and whole numbers are read by Arrow, other types (here a timestamp) as the engine writes them."""
    if chunk:
        monkeypatch.setattr(chunks, "ROWS_PER_CHUNK", chunk)
    rows = _random_rows(5, 300)
    rows[3][1] = "a\x07b"  # a control character: quarantined as such on both paths
    table = pa.table({h: [r[i] or None for r in rows] for i, h in enumerate(HEADER)})
    table = table.append_column("seen_at", pa.array(list(range(300)), pa.int64()))
    if typed:
        table = table.append_column("checked_at", pa.array([1_700_000_000_000_000 + i for i in range(300)],
                                                           pa.timestamp("us", tz="UTC")))
    path = tmp_path / "log.parquet"
    pq.write_table(table, path, row_group_size=64)
    fast, exact, fast_rows, exact_rows = _both(tmp_path, path, monkeypatch)
    fast.pop("segments"), exact.pop("segments")
    assert fast == exact
    assert fast_rows[0] == exact_rows[0]
    assert [(line, raw) for line, _, raw in fast_rows[1]] == [(line, raw) for line, _, raw in exact_rows[1]]
    if not chunk:
        assert fast_rows[1] == exact_rows[1]
    assert "control characters" in {line: reason for line, reason, _ in fast_rows[1]}[4]


def test_parquet_whose_arrow_schema_metadata_is_damaged_is_read_by_the_engine(tmp_path, shared_key):  # noqa: F811
    """Arrow cannot open a file whose own schema note (``ARROW:schema``) is not base64; the engine ignores
    that note, so the records are still read, not refused with a traceback."""
    rows = _random_rows(6, 40)
    table = pa.table({h: [r[i] or None for r in rows] for i, h in enumerate(HEADER)})
    path = tmp_path / "damaged.parquet"
    pq.write_table(table, path)
    data = path.read_bytes()
    at = data.index(b"ARROW:schema") + len(b"ARROW:schema") + 16  # inside the note's base64 text
    path.write_bytes(data[:at] + b"****" + data[at + 4 :])
    with pytest.raises((pa.ArrowInvalid, OSError)):
        pq.read_schema(path)
    exact = tmp_path / "same.parquet"
    pq.write_table(table, exact)
    damaged = ingest_portal(Store(tmp_path / "a"), path, now=NOW).as_dict()
    intact = ingest_portal(Store(tmp_path / "b"), exact, now=NOW).as_dict()
    assert {k: v for k, v in damaged.items() if k not in ("file", "segments")} == \
        {k: v for k, v in intact.items() if k not in ("file", "segments")}
    assert damaged["stored"] > 0
