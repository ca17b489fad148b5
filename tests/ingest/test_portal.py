from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodiet.ingest.portal import ingest_portal
from custodiet.ingest.tabular import InputError
from custodiet.quarantine import list_quarantine
from custodiet.store import Store
from tests.ingest.fixtures import BAD, GOOD, SHORT_REASON, write_log

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "access.csv"
    return path, write_log(path)


def events(store: Store) -> list[dict]:
    return store.connect().execute("SELECT * FROM events ORDER BY source").to_arrow_table().to_pylist()


def test_every_good_row_is_stored_and_every_bad_row_quarantined_with_its_line(store, log):
    path, lines = log
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.read, summary.stored, summary.quarantined, summary.duplicates, summary.blank) == (
        len(GOOD) + len(BAD) + 1, len(GOOD), len(BAD) + 1, 0, 1)
    quarantined = {q["line"]: q for q in list_quarantine(store)}
    for reason, line in lines.items():
        assert reason in quarantined[line]["reason"], (reason, quarantined[line])
        assert quarantined[line]["source"] == "access.csv"
        assert quarantined[line]["raw"]  # the raw record is kept (sealed at rest)
    assert quarantined[lines[SHORT_REASON]]["reason"] == SHORT_REASON
    stored = events(store)
    given = sorted(e["event_id"] for e in stored if len(e["event_id"]) != 32)  # the rest are content hashes
    assert given == ["e1", "e2", "e4", "e5", "e6"]
    assert len(stored) == len(given) + 1
    assert all(e["channel"] == "portal" for e in stored)


def test_canonical_fields(store, log):
    path, _ = log
    ingest_portal(store, path, now=NOW)
    by_id = {e["event_id"]: e for e in events(store)}
    e1, e2 = by_id["e1"], by_id["e2"]
    ps = store.pseudonymiser
    # '+8801712345678' and national '01712345678' are the same person
    assert e1["subject"] == e2["subject"] == ps.of_normalised("msisdn", "8801712345678")
    assert e1["ts"] == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert e2["ts"] == datetime(2026, 3, 1, 2, 1, tzinfo=UTC)  # +06:00 converted to UTC
    assert (e1["authority"], e1["outcome"], e1["records"], e1["actor_org"]) == ("C1", "allowed", 12, "U1")
    assert (e2["authority"], e2["outcome"]) == (None, "allowed")  # empty outcome defaults to allowed
    assert json.loads(e1["attrs"]) == {"client_ip": "10.0.0.1"}
    assert e1["source"] == "access.csv:2"
    no_zone = next(e for e in by_id.values() if e["subject_kind"] == "nid")
    assert no_zone["ts"] == datetime(2026, 3, 1, 8, 2, tzinfo=UTC)  # no zone means UTC
    assert len(no_zone["event_id"]) == 32  # content hash when the source gives no id
    passport = next(e for e in by_id.values() if e["subject_kind"] == "passport")
    assert passport["subject"] == ps.of_normalised("passport", "A1234567")


def test_ingesting_again_adds_nothing(store, log):
    path, _ = log
    ingest_portal(store, path, now=NOW)
    before = events(store)
    quarantined_before = len(list_quarantine(store))
    again = ingest_portal(store, path, now=NOW)
    assert again.stored == 0
    assert again.duplicates == len(GOOD)
    assert events(store) == before
    assert len(list_quarantine(store)) == quarantined_before


def test_same_events_from_another_file_are_duplicates(store, log, tmp_path):
    path, _ = log
    ingest_portal(store, path, now=NOW)
    copy = tmp_path / "copy.csv.gz"
    with open(path, "rb") as src, gzip.open(copy, "wb") as dst:
        shutil.copyfileobj(src, dst)
    again = ingest_portal(store, copy, now=NOW)
    assert (again.stored, again.duplicates) == (0, len(GOOD))


def test_stored_id_with_other_content_is_rejected(store, log, tmp_path):
    path, _ = log
    ingest_portal(store, path, now=NOW)
    other = tmp_path / "other.csv"
    other.write_text("ts,actor,subject,subject_kind,data_kind,event_id\n"
                     "2026-03-02T00:00:00Z,off7,1234567890,nid,identity,e4\n")
    summary = ingest_portal(store, other, now=NOW)
    assert (summary.stored, summary.quarantined) == (0, 1)
    assert "event_id e4 already stored with different content" in list_quarantine(store)[-1]["reason"]


def test_jsonl_and_parquet_inputs(store, tmp_path):
    rows = [dict(zip(["ts", "actor", "subject", "subject_kind", "data_kind", "event_id", "extra"], r, strict=True))
            for r in [["2026-03-01T08:00:00Z", "off1", "8801712345678", "msisdn", "cdr", "j1", "x"],
                      ["2026-03-01T08:00:00Z", "off1", "1234567890", "nid", "nonsense", "j2", "y"]]]
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n[1, 2]\n{broken\n")
    summary = ingest_portal(store, jsonl, now=NOW)
    assert (summary.stored, summary.quarantined) == (1, 3)
    reasons = {q["line"]: q["reason"] for q in list_quarantine(store)}
    assert reasons == {2: "unknown data_kind nonsense", 3: "not a JSON object", 4: "not a JSON object"}
    stored = events(store)
    assert json.loads(stored[0]["attrs"]) == {"extra": "x"}  # unknown columns are kept in attrs
    parquet = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pylist([{**r, "event_id": "p" + r["event_id"]} for r in rows]), parquet)
    summary = ingest_portal(store, parquet, now=NOW)
    assert (summary.stored, summary.quarantined) == (1, 1)
    assert {q["source"] for q in list_quarantine(store)} == {"log.jsonl", "log.parquet"}


def test_no_cleartext_identifier_anywhere_in_the_store(store, log):
    path, _ = log
    ingest_portal(store, path, now=NOW)
    store.write_catalog()
    needles = [b"8801712345678", b"01712345678", b"1234567890", b"490154203237518", b"470010123456789", b"1234567"]
    for file in store.home.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            for needle in needles:
                assert needle not in data, (file, needle)


@pytest.mark.parametrize(("content", "message"), [
    ("", "empty file"),
    ("actor,subject\noff1,1\n", "missing required column(s) ts, subject_kind, data_kind"),
])
def test_unreadable_files_raise_a_clear_error(store, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest_portal(store, path, now=NOW)


def test_unknown_file_type(store, tmp_path):
    path = tmp_path / "log.xlsx"
    path.write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        ingest_portal(store, path, now=NOW)


def test_batches_become_segments_in_order(store, log):
    path, _ = log
    summary = ingest_portal(store, path, now=NOW, batch_rows=2)
    assert summary.stored == len(GOOD)
    assert len(store.segment_paths()) == 3
    lines = [int(e["source"].split(":")[1]) for seg in store.segment_paths()
             for e in pq.read_table(seg).to_pylist()]
    assert lines == sorted(lines)


def test_csv_quoting_and_padding(store, tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('ts,actor,subject,subject_kind,data_kind,extra\n'
                    ' 2026-01-01T10:00:00Z , off1 ,1234567890,nid,cdr, x \n'
                    '"2026-01-01T10:00:01Z","off2","1234567890","nid","cdr","a,b"\n'
                    '2026-01-01T10:00:02Z,"off3",1234567890,nid,cdr,"q ""z"""\n')
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.quarantined) == (3, 0)
    got = {e["actor"]: json.loads(e["attrs"])["extra"] for e in events(store)}
    assert got == {"off1": "x", "off2": "a,b", "off3": 'q "z"'}
