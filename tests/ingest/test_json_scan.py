"""The C scan of JSON lines agrees with its numpy fallback, and the keys it reads are the engine's."""

from __future__ import annotations

import json
import random

import duckdb
import pytest

from custodiet.ingest import csvsplit, jsonlines


def _scan_both(path, monkeypatch):
    assert csvsplit._csvscan is not None, "the C line scanner was not built"
    c_scan = jsonlines.scan_json_lines(path)
    with monkeypatch.context() as m:
        m.setattr(jsonlines, "_csvscan", None)
        numpy_scan = jsonlines.scan_json_lines(path)
    return c_scan, numpy_scan


def _engine_keys(path) -> list[str]:
    return [k for (k,) in duckdb.connect().execute(
        f"SELECT DISTINCT unnest(json_keys(json)) AS k FROM read_ndjson_objects('{path}') ORDER BY k").fetchall()]


def _random_object(rng: random.Random) -> dict:
    names = ["ts", "actor", "subject", "päss", "a,b", "x y", "{k}", "[", "nested", "list"]
    record: dict = {}
    for name in rng.sample(names, rng.randint(0, len(names))):
        kind = rng.randrange(6)
        record[name] = (rng.choice(["plain", 'q"uote', "back\\slash", "brace}", "é", ""]) if kind == 0
                        else rng.randint(-5, 5) if kind == 1
                        else {"inner": [1, {"deep": "}"}], "k": "v"} if kind == 2
                        else [rng.choice(["a", "]", "{"]) for _ in range(rng.randint(0, 3))] if kind == 3
                        else None if kind == 4 else rng.random() < 0.5)
    return record


@pytest.mark.parametrize(("seed", "window"), [(s, w) for s in range(6) for w in (None, 37)])
def test_the_c_scan_of_clean_json_lines_agrees_with_numpy_and_names_the_engines_keys(tmp_path, monkeypatch, seed,
                                                                                       window):
    """Whole and in windows of a few lines each (as a large file is read)."""
    if window:
        monkeypatch.setattr(jsonlines, "_SCAN_BYTES", window)
    rng = random.Random(seed)
    lines = [json.dumps(_random_object(rng), ensure_ascii=False, separators=rng.choice([None, (",", ":")]))
             for _ in range(200)]  # keys written as they are: the engine's unescaping is not the scan's to copy
    for at in rng.sample(range(len(lines)), 5):
        lines[at] = rng.choice(["", "   ", " " + lines[at] + "  "])
    path = tmp_path / "log.jsonl"
    ending = rng.choice(["\n", "\r\n"])
    path.write_bytes((ending.join(lines) + rng.choice(["", ending])).encode())
    c_scan, numpy_scan = _scan_both(path, monkeypatch)
    for name in ("starts", "ends", "lines"):
        assert getattr(c_scan, name).tolist() == getattr(numpy_scan, name).tolist(), name
    assert (c_scan.blank, c_scan.escapes) == (numpy_scan.blank, numpy_scan.escapes)
    assert c_scan.keys == _engine_keys(path)
    assert numpy_scan.keys is None


@pytest.mark.parametrize("text", [
    b'{"a": 1}\n[1, 2]\n',  # an array: not every line is an object
    b'{"a": 1}\nnot json\n',
    b'{"a": 1} {"b": 2}\n',  # two values on one line
    b'{"a\\u0041": 1}\n',  # a key escaping a character: the engine unescapes it
    b'{"a": "open\n',  # a string left open
    b'\t{"a": 1}\n\t\n',  # a line of a tab only is not blank
])
def test_lines_the_scan_cannot_vouch_for_are_left_to_the_engine(tmp_path, monkeypatch, text):
    path = tmp_path / "log.jsonl"
    path.write_bytes(text)
    c_scan, numpy_scan = _scan_both(path, monkeypatch)
    assert c_scan.keys is None
    assert c_scan.lines.tolist() == numpy_scan.lines.tolist()


def test_text_that_is_not_utf8_is_refused_by_both_scans(tmp_path, monkeypatch):
    # a stray byte, a sequence cut short, a surrogate, an overlong form, past U+10FFFF
    for bad in (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe0\x80\x80", b"\xf4\x90\x80\x80"):
        path = tmp_path / "log.jsonl"
        path.write_bytes(b'{"a": "x"}\n{"a": "' + bad + b'"}\n')
        assert _scan_both(path, monkeypatch) == (None, None), bad
    path.write_bytes('{"a": "é€𝄞"}\n'.encode())
    c_scan, numpy_scan = _scan_both(path, monkeypatch)
    assert c_scan.keys == ["a"]
    assert c_scan.lines.tolist() == numpy_scan.lines.tolist() == [1]


def test_the_plan_reads_the_same_columns_with_the_scans_keys_as_with_the_engines(tmp_path, monkeypatch):
    rng = random.Random(9)
    objects = [{"ts": "2026-03-01T08:00:00Z", "actor": "a", "subject": "1", "subject_kind": "nid",
                "data_kind": "cdr", **({"device": {"os": 1}} if i % 3 else {}), **({"Extra": i} if i % 4 else {})}
               for i in range(50)]
    rng.shuffle(objects)
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in objects) + "\n")
    fields, required = ["ts", "actor", "subject", "subject_kind", "data_kind"], ["ts", "actor"]
    con = duckdb.connect()
    with_scan = jsonlines.jsonl_plan(con, path, fields, required)
    with monkeypatch.context() as m:
        m.setattr(jsonlines, "_csvscan", None)
        with_engine = jsonlines.jsonl_plan(con, path, fields, required)
    assert with_scan is not None
    assert with_engine is not None
    assert with_scan[0] == with_engine[0]
    assert with_scan[1].keys is not None
    assert with_engine[1].keys is None
