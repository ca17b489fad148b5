"""Cases through the real CLI and the Python API: open, note, status, show, list; the chain of custody
detects a changed, removed or added journal line, naming it."""

from __future__ import annotations

import getpass
import json
import shutil

import pytest

from custodiet import cases
from custodiet.cases.journal import journal_path
from custodiet.store import Store
from tests.conftest import run_cli
from tests.evidence.world import build_home, findings


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cases")
    home = build_home(root)
    return home, [f["finding_id"] for f in findings(home)]


@pytest.fixture
def home(world, tmp_path):
    """A fresh copy of the world's store (each test writes its own journal)."""
    copy = tmp_path / "home"
    shutil.copytree(world[0], copy)
    return copy


def test_open_note_status_show_round_trip(home, world):
    ids = world[1]
    assert len(ids) == 2
    opened = run_cli("case", "open", "--title", "Minister lookups", "--finding", ids[0], "--finding", ids[1],
                     "--by", "alice", home=home)
    assert opened.stdout == "CASE-000001\n"
    second = run_cli("case", "open", "--title", "Second", "--finding", ids[1], home=home)
    assert second.stdout == "CASE-000002\n"
    run_cli("case", "note", "CASE-000001", "--text", "asked the unit head for the roster", "--by", "bob", home=home)
    run_cli("case", "status", "CASE-000001", "under_review", "--by", "carol", home=home)
    run_cli("case", "status", "CASE-000001", "closed", "--outcome", "referred to prosecutor", "--by", "dave",
            home=home)
    case = json.loads(run_cli("case", "show", "CASE-000001", "--format", "json", home=home).stdout)
    assert (case["case_id"], case["title"], case["status"], case["outcome"]) == (
        "CASE-000001", "Minister lookups", "closed", "referred to prosecutor")
    assert case["finding_ids"] == ids
    assert [f["finding_id"] for f in case["findings"]] == ids
    assert all(f["summary"] and f["event_ids"] for f in case["findings"])
    assert case["notes"] == [{"ts": case["history"][1]["ts"], "by": "bob",
                              "text": "asked the unit head for the roster"}]
    assert [(r["seq"], r["by"], r["action"]) for r in case["history"]] == [
        (1, "alice", "open"), (3, "bob", "note"), (4, "carol", "status"), (5, "dave", "status")]
    assert case["history"][0]["case_prev"] is None
    assert case["history"][1]["case_prev"] == cases.line_hash(journal_path(Store(home)).read_text().splitlines()[0])
    assert case["opened_by"] == "alice"
    assert json.loads(run_cli("case", "show", "CASE-000002", "--format", "json", home=home).stdout)[
        "opened_by"] == getpass.getuser()  # --by defaults to the OS user
    table = run_cli("case", "show", "CASE-000001", home=home).stdout
    assert "chain of custody" in table
    assert "referred to prosecutor" in table
    rows = [json.loads(line) for line in run_cli("case", "list", "--format", "jsonl", home=home).stdout.splitlines()]
    assert [(r["case_id"], r["status"], r["notes"]) for r in rows] == [("CASE-000001", "closed", 1),
                                                                        ("CASE-000002", "open", 0)]


def test_the_api_the_console_will_call(home, world):
    store = Store(home)
    case_id = cases.open_case(store, "Via the API", [world[1][0]], "erin")
    cases.add_note(store, case_id, "first note", "erin")
    cases.set_status(store, case_id, "under_review", by="frank")
    case = cases.read_case(store, case_id)
    assert (case["status"], case["notes"][0]["text"], case["history"][-1]["by"]) == ("under_review", "first note",
                                                                                       "frank")


def test_unknown_finding_is_refused_in_one_line(home, world):
    proc = run_cli("case", "open", "--title", "x", "--finding", world[1][0], "--finding", "no-such-finding",
                   home=home, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: unknown finding id: no-such-finding (see `custodiet findings --format "
                                   "jsonl`)")
    assert not journal_path(Store(home)).exists()  # nothing was written


@pytest.mark.parametrize(("args", "message"), [
    (["note", "CASE-000009", "--text", "x"], "no case CASE-000009"),
    (["status", "CASE-000001", "closed"], "closing a case needs --outcome TEXT"),
    (["status", "CASE-000001", "open"], "CASE-000001 is already open"),
    (["status", "CASE-000001", "under_review", "--outcome", "x"], "--outcome is for closing a case"),
])
def test_refused_requests(home, world, args, message):
    run_cli("case", "open", "--title", "t", "--finding", world[1][0], home=home)
    proc = run_cli("case", *args, home=home, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def _three_records(home, world):
    run_cli("case", "open", "--title", "t", "--finding", world[1][0], "--by", "a", home=home)
    run_cli("case", "note", "CASE-000001", "--text", "one", "--by", "a", home=home)
    run_cli("case", "note", "CASE-000001", "--text", "two", "--by", "a", home=home)
    return journal_path(Store(home))


def _show_fails(home, expected: str) -> None:
    proc = run_cli("case", "show", "CASE-000001", home=home, check=False)
    assert proc.returncode == 1, proc.stdout
    assert expected in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("line", [1, 2, 3])
def test_an_edited_line_is_named(home, world, line):
    path = _three_records(home, world)
    lines = path.read_text().splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].replace('"by":"a"', '"by":"z"')
    path.write_text("".join(lines))
    _show_fails(home, f"cases/journal.jsonl:{line}: changed after it was written")


@pytest.mark.parametrize("line", [1, 2])
def test_a_removed_line_is_named(home, world, line):
    path = _three_records(home, world)
    lines = path.read_text().splitlines(keepends=True)
    del lines[line - 1]
    path.write_text("".join(lines))
    _show_fails(home, f"cases/journal.jsonl:{line}: holds record {line + 1} where record {line} belongs")


def test_the_last_line_removed_is_caught_by_the_head(home, world):
    path = _three_records(home, world)
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    proc = run_cli("case", "list", home=home, check=False)
    assert proc.returncode == 1
    assert "holds 2 records but cases/journal.head says 3" in proc.stderr


def test_a_rewritten_line_that_keeps_the_chain_is_still_caught_when_not_canonical(home, world):
    path = _three_records(home, world)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('{"action"', '{ "action"')
    path.write_text("".join(lines))
    _show_fails(home, "cases/journal.jsonl:3")


def test_a_tampered_journal_refuses_new_records(home, world):
    path = _three_records(home, world)
    before = path.read_text().replace('"text":"one"', '"text":"uno"')
    path.write_text(before)
    proc = run_cli("case", "note", "CASE-000001", "--text", "three", home=home, check=False)
    assert proc.returncode == 1
    assert "cases/journal.jsonl:2: changed after it was written" in proc.stderr
    assert path.read_text() == before


def test_an_append_cut_off_before_its_head_update_still_reads(home, world):
    """A crash between writing a line and replacing journal.head leaves the head one line behind: readers
    accept it (the chain covers the new line), and the next append brings the head level."""
    store = Store(home)
    path = _three_records(home, world)
    head = path.with_name("journal.head")
    before = head.read_bytes()
    run_cli("case", "note", "CASE-000001", "--text", "four", home=home)
    head.write_bytes(before)
    assert len(cases.read_case(store, "CASE-000001")["notes"]) == 3
    cases.add_note(store, "CASE-000001", "five", "a")
    assert json.loads(head.read_text())["seq"] == 5
    head.write_bytes(before)  # two lines behind: records were added past it
    with pytest.raises(cases.JournalError, match="holds 5 records but cases/journal.head says 3"):
        cases.read_case(store, "CASE-000001")


def test_text_is_shown_as_written(home, world):
    run_cli("case", "open", "--title", "[red]not markup[/red]", "--finding", world[1][0], home=home)
    run_cli("case", "note", "CASE-000001", "--text", "[bold]as typed[/bold]", home=home)
    out = run_cli("case", "show", "CASE-000001", home=home).stdout
    assert "[red]not markup[/red]" in out
    assert "[bold]as typed[/bold]" in out
