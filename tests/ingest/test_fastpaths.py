"""The shortcuts of the fast ingest path: the byte scan, CRLF files, content ids, and in-order output."""

from __future__ import annotations

import gzip
import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodiet.ingest import bytescan
from custodiet.ingest.bytescan import ByteScan, scan_bytes
from custodiet.ingest.emit import append_new_events
from custodiet.ingest.portal import ingest_portal
from custodiet.quarantine import list_quarantine
from custodiet.store import Store
from tests.ingest.fixtures import BAD, GOOD, write_log
from tests.ingest.test_portal import NOW, events


@pytest.mark.parametrize(("content", "expected"), [
    (b"a,b\n1,2\n", ByteScan(False, False, False, False, False, 3)),
    (b"a,b\r\n1, 2\r\n", ByteScan(True, False, False, True, False, 5)),
    (b'a,b\n"1",x\x07\n', ByteScan(False, True, True, False, False, 6)),
    (b"a,b\n1\r2,3\n", ByteScan(True, True, False, False, False, 5)),  # a carriage return inside a line
    (b"a,b\n1\t,2\n", ByteScan(False, True, False, False, False, 4)),
    (b"a,b\n1,\x7f\n", ByteScan(False, True, False, False, False, 3)),
    (b'"a","b c"\n1,2\n', ByteScan(False, False, False, False, False, 3)),  # the header is not a record
    (b"a,b\n1,2\n\n3,4", ByteScan(False, False, False, False, True, 3)),  # an empty line; no final line end
    (b"a,b\n1,2\n3,45678", ByteScan(False, False, False, False, False, 7)),
    (b"a,b\n", ByteScan(False, False, False, False, False, 0)),
])
def test_byte_scan_finds_what_the_sql_would(tmp_path, content, expected):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    assert scan_bytes(path) == expected


def test_byte_scan_sees_a_crlf_across_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(bytescan, "_CHUNK", 4)
    path = tmp_path / "x.csv"
    path.write_bytes(b"abc\r\ndef\r\n")  # the first CR ends chunk one, its LF starts chunk two
    assert scan_bytes(path) == ByteScan(True, False, False, False, False, 4)
    path.write_bytes(b"abc\rdef\n")
    assert scan_bytes(path).has_control
    path.write_bytes(b"h\n1234\n12\n123456\n\n1")  # line lengths carried across chunk boundaries
    assert scan_bytes(path) == ByteScan(False, False, False, False, True, 6)


def test_gzip_is_not_scanned(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert scan_bytes(path) == ByteScan()


def test_crlf_file_ingests_like_lf(tmp_path):
    lf, crlf = tmp_path / "lf.csv", tmp_path / "crlf.csv"
    lines = write_log(lf)
    crlf.write_bytes(lf.read_bytes().replace(b"\n", b"\r\n"))
    stores = [Store(tmp_path / "a"), Store(tmp_path / "b")]
    summaries = [ingest_portal(s, p, now=NOW) for s, p in zip(stores, [lf, crlf], strict=True)]
    assert summaries[0].as_dict() | {"file": ""} == summaries[1].as_dict() | {"file": ""}
    assert summaries[1].stored == len(GOOD)
    assert summaries[1].quarantined == len(BAD) + 1
    quarantined = [{q["line"]: (q["reason"], q["raw"]) for q in list_quarantine(s)} for s in stores]
    assert quarantined[0] == quarantined[1]
    assert not any("\r" in raw for _, raw in quarantined[1].values())
    assert set(lines.values()) <= set(quarantined[1])


def _content_id(fields: list[str | None]) -> str:
    text = "|".join("-" if f is None else f"{len(f)}:{f}" for f in fields)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def test_content_id_of_a_record_without_id_is_the_documented_digest(store, tmp_path):
    path = tmp_path / "log.csv"
    write_log(path)
    ingest_portal(store, path, now=NOW)
    [event] = [e for e in events(store) if e["subject_kind"] == "nid"]
    pseudonym = store.pseudonymiser.of_normalised("nid", "1234567890")
    expected = _content_id(["2026-03-01T08:02:00.000000Z", "portal", "off2", "U2", pseudonym, "nid", "identity",
                            "/nid", "C9", "denied", "0", '{"client_ip":null}'])
    assert event["event_id"] == expected


def test_output_follows_line_order_even_when_the_table_does_not(store):
    """``append_new_events`` sorts when the candidate table is not in line order, and drops verdict lines."""
    con = store.connect()
    rows = [(5, "e5", "c"), (2, "e2", "a"), (9, "e9", "b"), (3, "e3", "a")]
    con.execute(
        "CREATE TEMP TABLE cand_rows AS SELECT line, event_id, TIMESTAMPTZ '2026-01-01 00:00:00+00' AS ts, "
        "'portal' AS channel, 'off' AS actor, NULL::VARCHAR AS actor_org, subject, 'nid' AS subject_kind, "
        "'cdr' AS data_kind, NULL::VARCHAR AS operation, NULL::VARCHAR AS authority, 'allowed' AS outcome, "
        "NULL::BIGINT AS records, NULL::VARCHAR AS attrs FROM (VALUES " +
        ", ".join(f"({n}, '{i}', '{s}')" for n, i, s in rows) + ") v(line, event_id, subject)")
    con.execute("CREATE TEMP TABLE verdicts AS SELECT 9 AS line")
    mapping = pa.table({"subject_kind": ["nid"] * 3, "subject": ["a", "b", "c"], "pseudonym": ["pa", "pb", "pc"],
                        "error": pa.nulls(3, pa.string())})
    with store.writer():
        stored, segments = append_new_events(con, store, "f.csv", "portal", mapping, batch_rows=2)
    assert (stored, len(segments)) == (3, 2)
    got = [(e["source"], e["subject"]) for seg in store.segment_paths() for e in pq.read_table(seg).to_pylist()]
    assert got == [("f.csv:2", "pa"), ("f.csv:3", "pa"), ("f.csv:5", "pc")]


def test_a_record_without_pseudonym_is_an_error_not_a_silent_null(store):
    con = store.connect()
    con.execute(
        "CREATE TEMP TABLE cand_rows AS SELECT 2 AS line, 'e' AS event_id, TIMESTAMPTZ '2026-01-01 00:00:00+00' "
        "AS ts, 'portal' AS channel, 'off' AS actor, NULL::VARCHAR AS actor_org, 'zz' AS subject, "
        "'nid' AS subject_kind, 'cdr' AS data_kind, NULL::VARCHAR AS operation, NULL::VARCHAR AS authority, "
        "'allowed' AS outcome, NULL::BIGINT AS records, NULL::VARCHAR AS attrs")
    con.execute("CREATE TEMP TABLE verdicts AS SELECT 1 AS line WHERE false")
    mapping = pa.table({"subject_kind": ["nid"], "subject": ["a"], "pseudonym": ["pa"],
                        "error": pa.nulls(1, pa.string())})
    with store.writer(), pytest.raises(RuntimeError, match="no pseudonym"):
        append_new_events(con, store, "f.csv", "portal", mapping, batch_rows=10)


def test_large_file_keeps_exact_line_numbers(store, tmp_path):
    """Enough rows for several engine batches: every stored event's source line is its physical line."""
    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("ts,actor,subject,subject_kind,data_kind,event_id\n")
        for i in range(30_000):
            fh.write(f"2026-01-01T00:00:00Z,off{i % 7},{1000000000 + i % 50},nid,cdr,x{i}\n")
            if i % 10_000 == 0:
                fh.write("\n")
    summary = ingest_portal(store, path, now=NOW)
    assert (summary.stored, summary.blank) == (30_000, 3)
    got = store.connect().execute("SELECT event_id, source FROM events").fetchall()
    lines = {eid: int(src.split(":")[1]) for eid, src in got}
    assert all(lines[f"x{i}"] == i + 2 + (i // 10_000) + (i % 10_000 > 0) for i in range(30_000))


def test_content_ids_are_the_engines_digest_byte_for_byte():
    """The C engine's content ids (and their hashlib fallback) equal ``content_digest_sql``'s, whatever the
    fields hold: nulls, empty text, non-ASCII, whole and fractional seconds, dates before 1970."""
    from custodiet.ingest.dedupe import CONTENT_FIELDS, _hashlib_digests, _text, content_ids

    table, expected = _with_engine_ids(
        "SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE TIMESTAMPTZ '1969-12-31 23:59:59+00' "
        "+ to_microseconds(i * 77777777 * (i % 3)) END AS ts, 'portal' AS channel, "
        "CASE WHEN i % 3 = 0 THEN NULL ELSE 'act€ü' || i END AS actor, 'U1' AS actor_org, 'p' || i AS subject, "
        "'msisdn' AS subject_kind, 'cdr' AS data_kind, CASE WHEN i % 4 = 0 THEN '' END AS operation, "
        "'C|1:2' AS authority, 'allowed' AS outcome, CASE WHEN i % 2 = 0 THEN i - 50 END::BIGINT AS records, "
        "'{\"a\":\"ü\"}' AS attrs FROM range(2000) r(i)")
    assert content_ids(table).to_pylist() == expected
    texts = pa.table({name: _text(table.column(name), name) for name in CONTENT_FIELDS})
    assert [bytes(d).hex() for d in _hashlib_digests(texts)] == expected


@pytest.mark.parametrize("years", [(1000, 9999), (1, 999), (2000, 2001)])
def test_content_ids_write_every_time_as_the_engine_does(years):
    """The C engine writes the time itself for the years 1000 to 9999 (leap days, centuries, the last
    microsecond of a year); a log holding any other year is written by the slower path, also exactly."""
    from custodiet.ingest.dedupe import content_ids

    first, last = years
    table, expected = _with_engine_ids(
        f"SELECT make_timestamptz({first} + (i * 7919) % ({last} - {first} + 1), 1 + i % 12, 1 + i % 28, i % 24, "
        "i % 60, (i * 37 % 60000) / 1000.0) + to_microseconds(CASE WHEN i % 5 = 0 THEN 86400000000 ELSE 0 END) "
        "AS ts, 'portal' AS channel, 'a' AS actor, NULL AS actor_org, 'p' AS subject, 'msisdn' AS subject_kind, "
        "'cdr' AS data_kind, NULL AS operation, NULL AS authority, 'allowed' AS outcome, NULL::BIGINT AS records, "
        "NULL AS attrs FROM range(3000) r(i) UNION ALL SELECT TIMESTAMPTZ '2000-02-29 23:59:59.999999+00', 'portal', "
        "'a', NULL, 'p', 'msisdn', 'cdr', NULL, NULL, 'allowed', NULL, NULL")
    assert content_ids(table).to_pylist() == expected


def _with_engine_ids(select_sql: str) -> tuple[pa.Table, list[str]]:
    """The rows of ``select_sql`` (in UTC) and the engine's content id of each (``content_digest_sql``)."""
    import duckdb

    from custodiet.ingest.dedupe import content_digest_sql

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    table = con.execute(select_sql).to_arrow_table()
    con.register("t", table)
    return table, [r[0] for r in con.execute(f"SELECT substr({content_digest_sql('t')}, 1, 32) FROM t").fetchall()]


@pytest.mark.parametrize("listed", [1000, 1])
def test_the_store_is_looked_in_only_for_ids_whose_fingerprint_it_holds(tmp_path, monkeypatch, listed):
    """Fingerprints prune the look-up of a chunk's ids in the store: the ids found stored, and the lines that
    collide, are those the full join finds, whether the possible duplicates are named in the query or (past
    ``_LISTED_IDS``) joined; ids the ingest itself or another writer stored after the first snapshot count."""
    from custodiet.ingest import dedupe
    from custodiet.ingest.dedupe import StoredPrints, find_collisions
    from custodiet.ledger.snapshot import take

    monkeypatch.setattr(dedupe, "_LISTED_IDS", listed)
    store = Store(tmp_path / "home")
    first = tmp_path / "first.csv"
    write_log(first)
    ingest_portal(store, first, now=NOW)
    prints = StoredPrints(store, take(store))
    second = tmp_path / "second.csv"
    second.write_text("ts,actor,subject,subject_kind,data_kind,event_id\n"
                      "2026-03-01T10:00:00Z,off7,+8801711000001,msisdn,cdr,late1\n")
    ingest_portal(store, second, now=NOW)  # after the prints were taken: taken in by ``update``
    prints.update(take(store))
    con = store.connect()
    stored = [r[0] for r in con.execute("SELECT event_id FROM events ORDER BY event_id").fetchall()]
    chunk_ids = [*stored[:3], "late1", "new1", "new2", "new2", stored[0]]
    values = ", ".join(f"({i}, '{e}', []::VARCHAR[])" for i, e in enumerate(chunk_ids, start=1))
    con.execute(f"CREATE TEMP TABLE cand AS SELECT * FROM (VALUES {values}) t(line, event_id, reasons)")
    results = []
    for given in (None, prints):
        find_collisions(con, "cand", given)
        results.append((sorted(r[0] for r in con.execute("SELECT event_id FROM stored_ids").fetchall()),
                        sorted(r[0] for r in con.execute("SELECT line FROM colliding_lines").fetchall())))
    assert results[0] == results[1]
    assert results[1] == (sorted([*stored[:3], "late1"]), [1, 2, 3, 4, 6, 7, 8])
    assert not prints.may_hold(dedupe.event_fingerprints(pa.array(["new1", "new2"]))).any()
