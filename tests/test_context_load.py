"""Context load is all or nothing: checked whole before anything is replaced, refused when the file is
incomplete or would remove too much of the table, self-contradicting rows quarantined with file:line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from custodiet.cli import app
from custodiet.context.load import ShrinkRefused, load_context
from custodiet.ingest.tabular import IncompleteInput
from custodiet.quarantine import list_quarantine
from custodiet.store import Store

HEADER = "case_id,org,opened,closed\n"


def _case(i: int, closed: str = "2026-02-01T00:00:00Z") -> str:
    return f"C{i:03d},U1,2026-01-01T00:00:00Z,{closed}\n"


def _cases(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows))
    return path


def _table(store: Store) -> list[tuple]:
    return store.connect().execute("SELECT case_id, closed FROM cases ORDER BY case_id").fetchall()


@pytest.fixture
def loaded(store: Store, tmp_path: Path) -> Store:
    load_context(store, "cases", _cases(tmp_path / "cases.csv", [_case(i) for i in range(100)]))
    return store


def test_a_replacement_that_drops_too_many_rows_is_refused(loaded: Store, tmp_path: Path) -> None:
    before = _table(loaded)
    half = _cases(tmp_path / "half.csv", [_case(i) for i in range(50)])
    with pytest.raises(ShrinkRefused, match=r"half.csv: loading it would remove 50 of the 100 rows of cases \(50%"):
        load_context(loaded, "cases", half)
    assert _table(loaded) == before
    summary = load_context(loaded, "cases", half, allow_shrink=True)
    assert (summary.removed, summary.total) == (50, 50)


def test_a_small_shrink_is_allowed_and_changes_are_counted(loaded: Store, tmp_path: Path) -> None:
    rows = [_case(i) for i in range(5, 100)] + [_case(200), _case(7, "2026-03-01T00:00:00Z")]
    rows.remove(_case(7))
    summary = load_context(loaded, "cases", _cases(tmp_path / "next.csv", rows))
    assert (summary.previous, summary.added, summary.removed, summary.changed, summary.total) == (100, 1, 5, 1, 96)
    assert summary.examples == {"added": ["C200"], "removed": ["C000", "C001", "C002", "C003", "C004"],
                                "changed": ["C007"]}


def test_a_truncated_file_loads_nothing(loaded: Store, tmp_path: Path) -> None:
    before = _table(loaded)
    data = gzip.compress((HEADER + "".join(_case(i) for i in range(100))).encode())
    cut = tmp_path / "cases.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IncompleteInput, match="truncated gzip.*nothing loaded"):
        load_context(loaded, "cases", cut)
    plain = _cases(tmp_path / "plain.csv", [_case(i) for i in range(100)])
    plain.write_text(plain.read_text() + "C100,U1,2026-01")
    with pytest.raises(IncompleteInput, match="plain.csv: file ends inside a record: line 102"):
        load_context(loaded, "cases", plain)
    assert _table(loaded) == before
    assert list_quarantine(loaded) == []


def test_self_contradicting_rows_are_quarantined_with_their_line(store: Store, tmp_path: Path) -> None:
    rows = [_case(1), _case(2, "2025-12-31T00:00:00Z"), _case(3), _case(3, "2026-05-01T00:00:00Z"), _case(4),
            _case(4)]
    summary = load_context(store, "cases", _cases(tmp_path / "cases.csv", rows))
    assert (summary.read, summary.quarantined, summary.total) == (6, 3, 2)
    reasons = {(q["line"], q["reason"]) for q in list_quarantine(store)}
    assert reasons == {
        (3, "cases: closed 2025-12-31T00:00:00Z before it was opened 2026-01-01T00:00:00Z"),
        (4, "cases: duplicate case_id C003 with different content (lines 4, 5)"),
        (5, "cases: duplicate case_id C003 with different content (lines 4, 5)"),
    }
    assert [c for c, _ in _table(store)] == ["C001", "C004"]  # an exact repeat is harmless


def test_unknown_subject_kind_is_quarantined(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "protected.csv"
    path.write_text("subject,subject_kind,category\n+8801712000001,msisdn,judge\n+8801712000002,email,judge\n")
    summary = load_context(store, "protected", path)
    assert (summary.loaded, summary.quarantined) == (1, 1)
    assert list_quarantine(store)[0]["reason"] == "protected: unknown subject_kind email"


def test_cli_prints_changes_and_refuses_with_one_line(loaded: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    half = _cases(tmp_path / "half.csv", [_case(i) for i in range(50)])
    home = ["--home", str(loaded.home)]
    result = runner.invoke(app, [*home, "context", "load", "cases", str(half)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert [x for x in result.output.splitlines() if x.strip()] == [
        "error: half.csv: loading it would remove 50 of the 100 rows of cases (50%, more than the 10% allowed; "
        "0 record(s) of the file rejected); nothing loaded. Check the file, or pass --allow-shrink"]
    result = runner.invoke(app, [*home, "context", "load", "cases", str(half), "--allow-shrink", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"removed": 50' in result.output


def test_warrants_are_checked_and_their_targets_pseudonymised(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "warrants.csv"
    path.write_text(
        "warrant_id,agency,issuer,authority_level,target,target_kind,data_kinds,valid_from,valid_to\n"
        "W1,Police,Judge,judicial,+447700900001,msisdn,Metadata; location,2026-07-01,2026-09-01\n"
        "W1,Police,Judge,judicial,352099001761481,imei,location;metadata,2026-07-01,2026-09-01\n"
        "W2,Police,Judge,judicial,234150000000001,imsi,video,2026-07-01,2026-09-01\n"
        "W3,Police,Judge,judicial,234150000000002,imsi,content,2026-09-01,2026-07-01\n"
        "W4,Police,Judge,judicial,234150000000003,imsi,content,2026-07-01,2026-09-01\n"
        "W4,Intel,Judge,judicial,234150000000004,imsi,content,2026-07-01,2026-09-01\n"
        "W5,Police,Judge,judicial,234150000000005,nid,content,2026-07-01,2026-09-01\n")
    summary = load_context(store, "warrants", path)
    assert (summary.loaded, summary.quarantined) == (2, 5)
    reasons = {r["line"]: r["reason"] for r in list_quarantine(store)}
    assert "data_kinds video is not a ;-separated subset" in reasons[4]
    assert reasons[5].startswith("warrants: valid_to 2026-07-01 before valid_from 2026-09-01")
    assert "W4 has records that disagree" in reasons[6]
    assert reasons[6] == reasons[7]
    assert "unknown target_kind nid" in reasons[8]
    rows = pq.read_table(store.context_path("warrants")).to_pylist()
    assert {r["data_kinds"] for r in rows} == {"location;metadata"}
    assert {r["target"] for r in rows} == {store.pseudonymiser.of_normalised("msisdn", "447700900001"),
                                           store.pseudonymiser.of_normalised("imei", "35209900176148")}
