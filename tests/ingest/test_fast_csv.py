"""The fast CSV path (Arrow's CSV reader, chunk by chunk) gives exactly what the line-by-line path gives, for every
form of RFC 4180: LF or CRLF, quoted fields with commas, doubled quotes and line breaks, a byte-order mark, gzip."""

from __future__ import annotations

import csv
import gzip
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from custodiet.ingest import csvsplit, fastcsv, readers
from custodiet.ingest.portal import ingest_portal
from custodiet.quarantine import list_quarantine
from custodiet.store import Store
from tests.ingest.fixtures import BAD, GOOD, HEADER, SHORT_REASON, SHORT_ROW
from tests.ingest.test_portal import NOW

# Bad rows judged by their fields (the others, control characters and an over-long field, too).
SIMPLE_BAD = [(row, reason) for row, reason in BAD if reason not in ("control characters", "over the limit")]


def _write(path: Path, rows: list[list[str]], extra_lines: tuple[str, ...] = (), *, crlf: bool = False,
           quote_all: bool = False, bom: bool = False) -> dict[str, int]:
    """Write a header and ``rows``; returns the line of each SIMPLE_BAD reason (rows without line breaks)."""
    lines: dict[str, int] = {}
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n" if crlf else "\n",
                            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
        writer.writerow(HEADER)
        for n, row in enumerate(rows, start=2):
            writer.writerow(row)
            lines.update({reason: n for bad, reason in SIMPLE_BAD if bad is row})
        for extra in extra_lines:
            fh.write(extra + ("\r\n" if crlf else "\n"))
    return lines


def _snapshot(store: Store) -> tuple[list[tuple], list[tuple]]:
    con = store.connect()
    stored = con.execute("SELECT * EXCLUDE (subject) FROM events ORDER BY source").fetchall()
    quarantined = sorted((q["line"], q["reason"], q["raw"]) for q in list_quarantine(store))
    return stored, quarantined


@pytest.fixture
def shared_key(tmp_path, monkeypatch):
    key = tmp_path / "pseudonym.key"
    key.write_bytes(b"k" * 32)
    monkeypatch.setenv("CUSTODIET_KEY_FILE", str(key))


@pytest.fixture
def simple_calls(monkeypatch) -> list[bool]:
    """Records, per staging, whether the fast path was taken (for files of any size)."""
    monkeypatch.setattr(fastcsv, "MIN_BYTES", 0)
    calls: list[bool] = []
    original = readers._fast_plan

    def spy(*args, **kwargs):
        plan = original(*args, **kwargs)
        calls.append(plan is not None)
        return plan

    monkeypatch.setattr(readers, "_fast_plan", spy)
    return calls


def _both_paths(tmp_path: Path, path: Path, monkeypatch) -> tuple[tuple, tuple, list, list]:
    simple_store, general_store = Store(tmp_path / "simple"), Store(tmp_path / "general")
    simple = ingest_portal(simple_store, path, now=NOW)
    with monkeypatch.context() as m:
        m.setattr(readers, "FAST_PATH", False)
        general = ingest_portal(general_store, path, now=NOW)
    return (simple.as_dict(), general.as_dict(), list(_snapshot(simple_store)), list(_snapshot(general_store)))


def test_fast_csv_matches_the_line_by_line_path(tmp_path, monkeypatch, shared_key, simple_calls):
    path = tmp_path / "simple.csv"
    lines = _write(path, GOOD[:3] + [r for r, _ in SIMPLE_BAD] + GOOD[3:])
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls == [True]  # the line-by-line run does not look for a fast plan
    assert simple == general
    assert (simple["stored"], simple["quarantined"], simple["blank_lines"]) == (len(GOOD), len(SIMPLE_BAD), 0)
    assert simple_rows == general_rows
    quarantined = {line: (reason, raw) for line, reason, raw in simple_rows[1]}
    for reason, line in lines.items():
        assert reason in quarantined[line][0]
        assert quarantined[line][1] == path.read_text().splitlines()[line - 1]


LONG_ROW = ",".join(GOOD[0][:5] + ["long"] + GOOD[0][6:] + ["extra"])


@pytest.mark.parametrize(("bad_row", "reason"), [
    (SHORT_ROW, SHORT_REASON), (LONG_ROW, "wrong number of columns: expected 12, found 13")])
def test_a_record_with_the_wrong_field_count_is_judged_alone(tmp_path, monkeypatch, shared_key, simple_calls,
                                                            bad_row, reason):
    path = tmp_path / "short.csv"
    _write(path, GOOD, extra_lines=(bad_row, ",".join(GOOD[0][:5] + ["late"] + GOOD[0][6:])))
    summary = ingest_portal(Store(tmp_path / "a"), path, now=NOW)
    assert simple_calls == [True]  # the bad record is split by the exact rules, the others by Arrow
    assert (summary.stored, summary.quarantined) == (len(GOOD) + 1, 1)
    [rejected] = list_quarantine(Store(tmp_path / "a"))
    assert (rejected["line"], rejected["reason"], rejected["raw"]) == (len(GOOD) + 2, reason, bad_row)
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert (simple, simple_rows) == (general, general_rows)


def test_padded_fields_are_trimmed_alike(tmp_path, monkeypatch, shared_key, simple_calls):
    path = tmp_path / "padded.csv"
    padded = [[f" {v} " if i in (1, 4, 9) and v else v for i, v in enumerate(row)] for row in GOOD]
    _write(path, padded + [["2026-03-01T09:00:00Z", "   ", "1234567890", "nid", "cdr", "p1", "", "", "", "", "", ""]])
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls[0] is True
    assert (simple, simple_rows) == (general, general_rows)
    assert simple["stored"] == len(GOOD)
    assert [reason for _, reason, _ in simple_rows[1]] == ["missing actor"]


def test_fast_csv_keeps_exact_line_numbers_across_engine_batches(store, tmp_path, simple_calls):
    path = tmp_path / "big.csv"
    rows = 150_000
    with open(path, "w") as fh:
        fh.write("ts,actor,subject,subject_kind,data_kind,event_id\n")
        for i in range(rows):
            fh.write(f"2026-01-01T00:00:00Z,off{i % 7},{1000000000 + i % 50},nid,cdr,x{i}\n")
        fh.write("2026-01-01T00:00:00Z,off1,1000000000,nid,astrology,bad\n")
    summary = ingest_portal(store, path, now=NOW)
    assert simple_calls == [True]
    assert (summary.stored, summary.quarantined) == (rows, 1)
    wrong = store.connect().execute(
        "SELECT count(*) FROM events WHERE source <> 'big.csv:' || (CAST(event_id[2:] AS BIGINT) + 2)").fetchall()
    assert wrong == [(0,)]
    [rejected] = list_quarantine(store)
    assert rejected["line"] == rows + 2
    assert rejected["raw"].endswith(",astrology,bad")


def test_a_clean_ingest_does_not_import_pandas(tmp_path):
    """Handing DuckDB or pyarrow Python values imports pandas (half a second); the common path avoids it."""
    path = tmp_path / "clean.csv"
    _write(path, GOOD[:2] + GOOD[3:])  # ids on every record, no bad identifier: no engine copy of the map
    script = (
        "import sys\nfrom pathlib import Path\nfrom custodiet.ingest.portal import ingest_portal\n"
        "from custodiet.store import Store\n"
        f"summary = ingest_portal(Store(Path({str(tmp_path / 'home')!r})), Path({str(path)!r}))\n"
        "print(summary.stored, 'pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(len(GOOD) - 1), "False"]


def test_a_file_in_several_chunks_is_stored_as_the_line_by_line_path_stores_it(tmp_path, monkeypatch, shared_key,
                                                                                simple_calls):
    """Chunks are checked and stored one after the other: an id repeated in a later chunk is a duplicate (same
    content) or rejected (different content), as within one chunk; the lines stay exact."""
    monkeypatch.setattr(fastcsv, "CHUNK_BYTES", 300)
    path = tmp_path / "chunked.csv"
    repeated = list(GOOD[0])  # the same event again, many lines later
    conflicting = GOOD[3][:1] + ["off9"] + GOOD[3][2:]  # id e4 again, another actor
    _write(path, GOOD + [r for r, _ in SIMPLE_BAD if r[5] != "e1"] + [repeated, conflicting])
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls[0] is True
    assert len(simple.pop("segments")) > 1  # a segment per chunk
    assert len(general.pop("segments")) == 1
    assert (simple, simple_rows[0]) == (general, general_rows[0])
    assert (simple["duplicates"], simple["stored"]) == (1, len(GOOD))
    assert [(line, raw) for line, _, raw in simple_rows[1]] == [(line, raw) for line, _, raw in general_rows[1]]
    [conflict] = [reason for line, reason, raw in simple_rows[1] if raw.startswith(f"{conflicting[0]},off9")]
    assert "event_id e4" in conflict
    assert "different content" in conflict


def test_a_malformed_record_in_a_later_chunk_is_judged_alone(tmp_path, monkeypatch, shared_key, simple_calls):
    monkeypatch.setattr(fastcsv, "CHUNK_BYTES", 300)
    path = tmp_path / "refused.csv"
    _write(path, GOOD * 3 + [[f"{v}x" if i == 5 else v for i, v in enumerate(r)] for r in GOOD],
           extra_lines=(SHORT_ROW,))
    chunks = []
    original = fastcsv.read_chunks

    def counting(*args, **kwargs):
        for chunk in original(*args, **kwargs):
            chunks.append(chunk.first_line)
            yield chunk

    monkeypatch.setattr(fastcsv, "read_chunks", counting)
    summary = ingest_portal(Store(tmp_path / "a"), path, now=NOW)
    assert len(chunks) >= 2
    # GOOD, twice again (duplicates, the id-less row by its content id too), then GOOD with other ids
    assert (summary.read, summary.stored, summary.quarantined) == (len(GOOD) * 4 + 1, len(GOOD) * 2, 1)
    assert summary.duplicates == len(GOOD) * 2
    [rejected] = list_quarantine(Store(tmp_path / "a"))
    assert (rejected["line"], rejected["reason"], rejected["raw"]) == (len(GOOD) * 4 + 2, SHORT_REASON, SHORT_ROW)
    wrong = Store(tmp_path / "a").connect().execute(
        "SELECT count(*) FROM events WHERE CAST(split_part(source, ':', 2) AS INT) < 2").fetchall()
    assert wrong == [(0,)]


def test_extra_columns_become_the_same_json(tmp_path, monkeypatch, shared_key, simple_calls):
    path = tmp_path / "extras.csv"
    base = "2026-03-01T09:00:00Z,off1,1234567890,nid,cdr"
    values = ["a\\b,é ü,x/y", ",,", "10.0.0.1,\\\\,tab here"]
    path.write_text("ts,actor,subject,subject_kind,data_kind,zeta,client_ip,Alpha\n"
                    + "".join(f"{base},{v}\n" for v in values))
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls[0] is True
    assert (simple, simple_rows) == (general, general_rows)
    con = Store(tmp_path / "simple").connect()
    attrs = [row[0] for row in con.execute("SELECT attrs FROM events ORDER BY source").fetchall()]
    assert attrs[0] == '{"alpha":"x/y","client_ip":"é ü","zeta":"a\\\\b"}'
    assert attrs[1] == '{"alpha":null,"client_ip":null,"zeta":null}'


def test_a_quoted_field_in_a_later_chunk_stays_on_the_fast_path(tmp_path, monkeypatch, shared_key, simple_calls):
    monkeypatch.setattr(fastcsv, "CHUNK_BYTES", 300)
    path = tmp_path / "quoted.csv"
    quoted = GOOD[0][:5] + ["q1"] + GOOD[0][6:7] + ["/cdr, page 2"] + GOOD[0][8:]  # the writer quotes it
    renamed = [[f"{v}y" if i == 5 else v for i, v in enumerate(r)] for r in GOOD]
    _write(path, GOOD * 3 + [quoted] + renamed)
    assert '"/cdr, page 2"' in path.read_text()
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls[0] is True
    assert len(simple.pop("segments")) > 1
    general.pop("segments")
    assert (simple, simple_rows) == (general, general_rows)
    assert (simple["stored"], simple["duplicates"]) == (len(GOOD) * 2 + 1, len(GOOD) * 2)


def _random_rows(seed: int, n: int) -> list[list[str]]:
    """Rows mixing good and bad values of every column (nothing that quotes or holds a control character)."""
    rng = random.Random(seed)
    pick = rng.choice
    rows = []
    for i in range(n):
        kind = pick(["msisdn", "MSISDN", "nid", "Nid", "imei", "imsi", "passport", "email", ""])
        subject = {"msisdn": pick(["+8801712345678", "01712345678", "8801812345678", "12"]),
                   "nid": pick(["1234567890", "12345", "1234567890123"]),
                   "imei": pick(["490154203237518", "490154203237519"]), "imsi": "470010123456789",
                   "passport": pick(["a1234567", "A1234567"])}.get(kind.lower(), "x")
        rows.append([
            pick(["2026-03-01T08:00:00Z", "2026-03-01T08:01:00+06:00", "2026-03-01 08:02:00", "not-a-time",
                  "2099-01-01T00:00:00Z", ""]),
            pick(["off1", "off2", ""]), pick([subject, subject, ""]), kind,
            pick(["cdr", "CDR", "location", "identity", "horoscope", ""]),
            pick([f"id{i}", f"id{i % 7}", ""]), pick(["U1", ""]), pick(["/cdr", "a\\b", "é/ü"]),
            pick(["C1", ""]), pick(["allowed", "DENIED", "error", "maybe", ""]),
            pick(["0", "12", "-4", "1.5", "x", ""]), pick(["10.0.0.1", "", "\\\\", "ä b"]),
        ])
    return rows


def _awkward(rows: list[list[str]], seed: int) -> list[list[str]]:
    """``rows`` with RFC 4180's awkward values in the free-text columns: commas, doubled quotes, line breaks
    (LF and CRLF) and spaces inside quotes."""
    rng = random.Random(seed)
    values = ["a, b", 'say "hi"', "two\nlines", "three\r\nlines\nhere", " padded ", '"', ",", ""]
    return [[rng.choice(values) if i in (7, 11) and rng.random() < 0.3 else v for i, v in enumerate(row)]
            for row in rows]


# Malformed lines the exact rules judge: a quote out of place, an unterminated quote, a short record, a line
# of spaces, an empty line, a tab (a control character).
MALFORMED = ['2026-03-01T09:00:00Z,off1,1234567890,nid,cdr,m1,U1,/x"y,,,,', '2026-03-01T09:00:00Z,"off1,1234567890',
             SHORT_ROW, "   ", "", "2026-03-01T09:00:00Z,off1,1234567890,nid,cdr,m2,U1,\t,,,,"]


@pytest.mark.parametrize(("seed", "crlf", "quote_all", "bom", "chunk"), [
    (1, False, False, False, None), (2, True, False, False, None), (3, True, True, False, None),
    (4, False, True, True, 700), (5, True, False, True, 500), (6, True, True, True, 300)])
def test_random_records_are_judged_alike_on_both_paths(tmp_path, monkeypatch, shared_key, simple_calls, seed, crlf,
                                                       quote_all, bom, chunk):
    """The differential test: random good and bad records, in every form, give the same events and the same
    quarantine (line, reason, raw) on the fast and the line-by-line path; several chunks when ``chunk``."""
    if chunk:
        monkeypatch.setattr(fastcsv, "CHUNK_BYTES", chunk)
    path = tmp_path / "random.csv"
    rows = _awkward(_random_rows(seed, 400), seed) if seed > 1 else _random_rows(seed, 400)
    _write(path, rows, extra_lines=tuple(MALFORMED) if seed > 1 else (), crlf=crlf, quote_all=quote_all, bom=bom)
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls[0] is True
    assert (len(simple.pop("segments")) > 1) == bool(chunk)  # a segment per chunk
    general.pop("segments")
    if chunk:  # an id met in an earlier chunk is "already stored", within one "already used at line N"
        simple_rows[1], general_rows[1] = (
            [(line, re.sub(r"already (stored|used at line \d+)", "seen", reason), raw) for line, reason, raw in rows]
            for rows in (simple_rows[1], general_rows[1]))
    assert (simple, simple_rows) == (general, general_rows)
    assert simple["stored"] > 0
    assert simple["quarantined"] > 0


def test_quoted_line_breaks_keep_every_record_and_its_first_line(tmp_path, monkeypatch, shared_key, simple_calls):
    path = tmp_path / "multiline.csv"
    rows = [list(GOOD[0]), list(GOOD[1]), list(GOOD[3])]
    rows[0][7], rows[1][11] = "first\nsecond", 'a "quoted"\r\nnote, with comma'
    _write(path, rows + [["2026-03-01T09:00:00Z", "off1", "1234567890", "nid", "astrology", "z1", "", "x\ny", "",
                          "", "", ""]], crlf=True)
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert simple_calls[0] is True
    assert (simple, simple_rows) == (general, general_rows)
    assert simple["stored"] == 3
    sources = [row[-1] for row in simple_rows[0]]  # ``source`` is the events' last column
    assert sorted(sources) == ["multiline.csv:2", "multiline.csv:4", "multiline.csv:6"]
    [(line, reason, raw)] = simple_rows[1]
    assert (line, "astrology" in reason, raw.count("\n")) == (7, True, 1)
    con = Store(tmp_path / "simple").connect()
    assert con.execute("SELECT operation FROM events WHERE source = 'multiline.csv:2'").fetchall() == [
        ("first\nsecond",)]


def test_an_unterminated_quote_costs_one_record_not_the_rest(tmp_path, monkeypatch, shared_key, simple_calls):
    path = tmp_path / "open.csv"
    _write(path, GOOD[:2], extra_lines=('2026-03-01T09:00:00Z,"off1,1234567890',))
    with open(path, "a", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([GOOD[3], GOOD[4]])
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, path, monkeypatch)
    assert (simple, simple_rows) == (general, general_rows)
    assert (simple["stored"], simple["quarantined"]) == (4, 1)
    assert simple_rows[1][0][0] == 4


def test_a_gzip_csv_takes_the_fast_path(tmp_path, monkeypatch, shared_key, simple_calls):
    plain, packed = tmp_path / "log.csv", tmp_path / "log.csv.gz"
    _write(plain, _awkward(_random_rows(7, 300), 7), crlf=True, quote_all=True)
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    simple, general, simple_rows, general_rows = _both_paths(tmp_path, packed, monkeypatch)
    assert simple_calls[0] is True
    assert (simple, simple_rows) == (general, general_rows)


@pytest.mark.parametrize(("text", "lines", "blank", "suspect"), [
    (b"1,2\n3,4\n", [2, 3], [False, False], [False, False]),
    (b'1,"a\r\nb"\r\n\r\n2,x"y\n  \n3,"open\n4,5\n', [2, 4, 5, 6, 7, 8],
     [False, True, False, True, False, False], [False, False, True, False, True, False]),
    (b'1,"q""x"\n2,\t\n3,"a"b\n', [2, 3, 4], [False] * 3, [False, True, True]),
    (b"1,2\n3,4", [2, 3], [False, False], [False, False]),  # no final line end
])
def test_records_and_their_lines(text, lines, blank, suspect):
    records = csvsplit.split_records(text, 2, 2)
    assert (records.lines.tolist(), records.blank.tolist(), records.suspect.tolist()) == (lines, blank, suspect)


def test_a_span_that_is_not_a_record_stays_lines():
    lines = {1: '1,"a', 2: "b", 3: 'c",d', 4: 'x,"y', 5: "z,w"}
    assert csvsplit.merge_spans([1, 3, 4], lines.get, 3) == [(1, 3, '1,"a\nb\nc",d')]
    assert csvsplit.merge_spans([1, 3, 4], lines.get, 2) == []  # three fields where the header has two


@pytest.mark.parametrize("seed", range(5))
def test_the_c_line_scanner_and_its_numpy_fallback_agree(seed, monkeypatch):
    assert csvsplit._csvscan is not None, "the C line scanner was not built"
    rng = random.Random(seed)
    alphabet = [b"a", b",", b'"', b"\n", b"\r\n", b"\r", b"\t", b" ", b"\x7f", b"\xc3\xa9"]
    text = b"".join(rng.choice(alphabet) for _ in range(3000))
    c_path = csvsplit.split_records(text, 2, 3)
    monkeypatch.setattr(csvsplit, "_csvscan", None)
    numpy_path = csvsplit.split_records(text, 2, 3)
    for name in ("starts", "ends", "lines", "blank", "suspect"):
        assert getattr(c_path, name).tolist() == getattr(numpy_path, name).tolist(), name


@pytest.mark.parametrize("seed", range(5))
def test_the_c_line_scanner_agrees_on_long_plain_runs(seed, monkeypatch):
    """Plain bytes are skipped sixteen at a time: quotes, controls and line ends at every alignment after
    long runs of them are still seen."""
    rng = random.Random(seed)
    specials = [b",", b'"', b"\n", b"\r\n", b"\r", b"\t", b"\x7f", b"\xc3\xa9", b"\x01"]
    text = b"".join(b"x" * rng.randrange(0, 40) + rng.choice(specials) for _ in range(400))
    c_path = csvsplit.split_records(text, 2, 3)
    monkeypatch.setattr(csvsplit, "_csvscan", None)
    numpy_path = csvsplit.split_records(text, 2, 3)
    for name in ("starts", "ends", "lines", "blank", "suspect"):
        assert getattr(c_path, name).tolist() == getattr(numpy_path, name).tolist(), name
