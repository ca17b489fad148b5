"""Files that end early: the whole records are stored and counted, the cut one quarantined, the file
reported incomplete (naming the byte), and a re-run stores nothing twice. Text that is not UTF-8 and a
truncated Parquet file are errors that name where."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodiet.ingest import fastcsv, guard
from custodiet.ingest.portal import ingest_portal
from custodiet.ingest.tabular import CUT_RECORD, IncompleteInput, InputError
from custodiet.quarantine import list_quarantine
from custodiet.store import Store
from tests.ingest.test_portal import NOW

HEADER = "ts,actor,subject,subject_kind,data_kind,event_id\n"


def _record(i: int) -> str:
    return f"2026-03-01T08:{i % 60:02d}:00Z,off{i % 5},+8801712{i:06d},msisdn,cdr,e{i}\n"


def _log(n: int) -> str:
    return HEADER + "".join(_record(i) for i in range(n))


def _stored(store: Store) -> int:
    return store.connect().execute("SELECT count(*) FROM events").fetchall()[0][0]


def test_truncated_gzip_keeps_the_whole_records_and_quarantines_the_cut_one(store: Store, tmp_path: Path) -> None:
    whole = gzip.compress(_log(5000).encode(), mtime=0)
    path = tmp_path / "access.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    text = guard.check_gzip(path)
    assert not text.complete
    readable = gzip.decompress(whole)[: text.text_bytes].decode()
    whole_records = readable.count("\n") - 1  # lines ended before the cut, less the header

    summary = ingest_portal(store, path, now=NOW)
    assert summary.incomplete is not None
    assert summary.incomplete.startswith(f"access.csv.gz: truncated gzip: the compressed stream ends at byte "
                                         f"{len(whole) // 2} ")
    assert (summary.stored, summary.quarantined, summary.read) == (whole_records, 1, whole_records + 1)
    [cut] = list_quarantine(store)
    assert (cut["source"], cut["line"], cut["reason"]) == ("access.csv.gz", whole_records + 2, CUT_RECORD)
    assert cut["raw"] == readable.rsplit("\n", 1)[1]

    again = ingest_portal(store, path, now=NOW)
    assert (again.stored, again.duplicates, again.incomplete is not None) == (0, whole_records, True)
    assert _stored(store) == whole_records
    assert len(list_quarantine(store)) == 1


def test_a_complete_gzip_file_is_complete(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "access.csv.gz"
    path.write_bytes(gzip.compress(_log(50).encode()) + gzip.compress(_record(50).encode()))  # two members
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.incomplete) == (51, None)


@pytest.mark.parametrize(("tail", "cut"), [
    ("2026-03-01T09:00:00Z,off1,+8801712999999,msisdn,cdr,last", False),  # whole; only the line end is missing
    ("2026-03-01T09:00:00Z,off1,+88017", True),  # fewer fields than the header
    ('2026-03-01T09:00:00Z,off1,+8801712999999,msisdn,cdr,"la', True),  # an unterminated quote
])
def test_a_last_line_without_line_end(store: Store, tmp_path: Path, tail: str, cut: bool) -> None:
    path = tmp_path / "access.csv"
    path.write_text(_log(20) + tail)
    summary = ingest_portal(store, path, now=NOW)
    assert summary.stored == 20 + (not cut)
    if cut:
        assert summary.incomplete == f"access.csv: {CUT_RECORD}: line 22 is cut short at byte {path.stat().st_size}"
        assert [(q["line"], q["reason"], q["raw"]) for q in list_quarantine(store)] == [(22, CUT_RECORD, tail)]
    else:
        assert summary.incomplete is None
        assert list_quarantine(store) == []


def test_a_short_record_that_ends_with_its_line_end_is_only_a_bad_record(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "access.csv"
    path.write_text(_log(3) + "2026-03-01T09:00:00Z,off1\n" + _record(9))
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.incomplete) == (4, None)
    assert list_quarantine(store)[0]["reason"].startswith("wrong number of columns")


def test_the_fast_path_detects_a_cut_last_record(store: Store, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastcsv, "MIN_BYTES", 0)
    path = tmp_path / "access.csv"
    path.write_text(_log(300) + "2026-03-01T09:00:00Z,off1,+880")
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.quarantined) == (300, 1)
    assert summary.incomplete is not None
    assert CUT_RECORD in summary.incomplete
    assert list_quarantine(store)[0]["line"] == 302


def test_a_cut_json_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "access.jsonl"
    line = ('{"ts": "2026-03-01T08:00:00Z", "actor": "off1", "subject": "+8801712000001", "subject_kind": "msisdn", '
            '"data_kind": "cdr", "event_id": "j%d"}\n')
    path.write_text("".join(line % i for i in range(10)) + (line % 10)[:40])
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.quarantined) == (10, 1)
    assert summary.incomplete is not None
    assert list_quarantine(store)[0]["reason"] == CUT_RECORD


def test_a_truncated_parquet_file_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "access.parquet"
    pq.write_table(pa.table({"ts": ["2026-03-01T08:00:00Z"], "actor": ["a"], "subject": ["+8801712000001"],
                             "subject_kind": ["msisdn"], "data_kind": ["cdr"]}), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])
    message = f"access.parquet: truncated Parquet file: it ends at byte {len(data) - 30}"
    with pytest.raises(IncompleteInput, match=message):
        ingest_portal(store, path, now=NOW)
    assert _stored(store) == 0


@pytest.mark.parametrize("name", ["access.csv", "access.csv.gz"])
def test_text_that_is_not_utf8_names_line_and_byte(store: Store, tmp_path: Path, name: str) -> None:
    data = (_log(3) + "2026-03-01T09:00:00Z,caf\xe9,+8801712999999,msisdn,cdr,x\n").encode("latin-1")
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    offset = data.index(b"\xe9")
    with pytest.raises(InputError, match=f"{name}: not UTF-8 text: line 5, byte {offset} "):
        ingest_portal(store, path, now=NOW)
    assert _stored(store) == 0


def test_utf8_split_across_scan_chunks_is_fine(tmp_path: Path) -> None:
    check = guard.Utf8Check()
    text = "é".encode() * 3
    check.feed(text[:3])
    check.feed(text[3:], ascii=False)
    check.finish()
    assert check.bad is None
    cut = guard.Utf8Check()
    cut.feed(text[:3])
    cut.finish()
    assert cut.bad == guard.BadText(2, 1)


def test_a_record_longer_than_the_engines_default_line_is_only_a_bad_record(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "access.csv"
    big = "2026-03-01T09:00:00Z," + "x" * (3 << 20) + ",+8801712999999,msisdn,cdr,big\n"
    path.write_text(_log(2) + big + _record(7))
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.quarantined, summary.incomplete) == (3, 1, None)
    assert list_quarantine(store)[0]["reason"] == f"a field is {3 << 20} characters long, over the limit of 1024"
