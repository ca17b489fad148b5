"""X1 JSON lines into the ledger: one event per target, rejections with their line, gzip, files cut short."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from custodiet.ingest.interception.ingest import ingest_x1
from custodiet.quarantine import list_quarantine
from custodiet.store import Store
from tests.conftest import run_cli
from tests.oversight.helpers import WARRANT_HEADER, activate, deactivate, warrant_rows

A = {"e164Number": "447700900001"}
GOOD = [activate("t1", "2026-07-02T10:00:00Z", "W1", [A, {"imei": "35209900176148"}], services=["LALS"]),
        deactivate("t1", "2026-07-09T10:00:00Z")]
BAD = [
    ('{"messageType": "ActivateTaskRequest"', "file ends inside a record"),  # placed last: cut short
    ('[1, 2]', "not a JSON object"),
    ('{"messageType": "ActivateTaskRequest", "messageTimestamp": "yesterday", "xId": "x"}', "not an ISO 8601"),
    ('{"messageType": "DeactivateTaskRequest", "messageTimestamp": "2026-07-02T10:00:00Z"}', "no xId"),
    (json.dumps(activate("t2", "2026-07-02T10:00:00Z", "W1", [{"imsi": "12"}])), "imsi must be"),
    (json.dumps(activate("t3", "2026-07-02T10:00:00Z", "W1", [{"sipUri": "sip:a@b"}])), "not supported"),
    (json.dumps(activate("t4", "2026-07-02T10:00:00Z", "W1", [A], delivery="X4")), "deliveryType"),
    (json.dumps({**activate("t5", "2026-07-02T10:00:00Z", "W1", [A]), "listOfMediationDetails": []}),
     "no listOfMediationDetails"),
    (json.dumps({**activate("t6", "2026-07-02T10:00:00Z", "W1", [A]), "neIdentifier": "ne\u001f1"}),
     "control character"),
]


def write(path: Path, lines: list[str], cut: bool = False) -> None:
    text = "\n".join(lines) + ("" if cut else "\n")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def test_events_rejections_and_lines(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    path = tmp_path / "x1.jsonl"
    lines = [json.dumps(GOOD[0]), "", json.dumps({"messageType": "PingRequest"}), *[b for b, _ in BAD[1:]],
             json.dumps(GOOD[1]), BAD[0][0]]
    write(path, lines, cut=True)
    summary = ingest_x1(store, path)
    assert (summary.messages, summary.events, summary.stored) == (2, 4, 4)
    assert summary.skipped == {"PingRequest": 1}
    assert summary.incomplete is not None
    assert "line 13" in summary.incomplete
    rejected = {r["line"]: r["reason"] for r in list_quarantine(store)}
    expected = {4 + i: reason for i, (_, reason) in enumerate(BAD[1:])} | {13: BAD[0][1]}
    assert set(rejected) == set(expected)
    for line, reason in expected.items():
        assert reason in rejected[line], (line, rejected[line])
    rows = store.connect().execute("SELECT operation, subject_kind, data_kind, authority, actor, source FROM events "
                                   "ORDER BY ts, subject_kind").fetchall()
    assert rows == [("ActivateTaskRequest", "imei", "location", "W1", "unknown", "x1.jsonl:1"),
                    ("ActivateTaskRequest", "msisdn", "location", "W1", "unknown", "x1.jsonl:1"),
                    ("DeactivateTaskRequest", "imei", "location", "W1", "unknown", "x1.jsonl:12"),
                    ("DeactivateTaskRequest", "msisdn", "location", "W1", "unknown", "x1.jsonl:12")]
    again = ingest_x1(store, path)  # nothing twice: events nor rejections
    assert (again.stored, again.duplicates, again.quarantined) == (0, 4, 0)


def test_gzip_cut_short_keeps_the_messages_before_the_cut(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    path = tmp_path / "x1.jsonl.gz"
    lines = [json.dumps(activate(f"t{i}", f"2026-07-02T10:{i // 60:02d}:{i % 60:02d}Z", "W1", [A]))
             for i in range(2000)]
    write(path, lines)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    summary = ingest_x1(store, path)
    assert summary.incomplete is not None
    assert "compressed stream ends early" in summary.incomplete
    assert 0 < summary.stored < 2000
    assert summary.stored == summary.messages  # every whole line before the cut, one target each
    assert summary.error is None


def test_cli_warrants_then_messages_and_the_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    warrants = tmp_path / "warrants.csv"
    warrants.write_text("\n".join([WARRANT_HEADER, *warrant_rows("W1", [("447700900001", "msisdn"),
                                                                        ("35209900176148", "imei")],
                                                                 kinds="metadata;location")]) + "\n")
    log = tmp_path / "x1.jsonl"
    write(log, [json.dumps(m) for m in GOOD])
    run_cli("context", "load", "warrants", str(warrants), home=home)
    out = json.loads(run_cli("ingest", "interception", str(log), "--format", "json", home=home).stdout)
    assert out["files"][0]["stored"] == 4
    assert {r["actor"] for r in map(json.loads, run_cli("events", "--format", "jsonl", home=home).stdout.split(
        "\n")[:-1])} == {"Police"}
    report = json.loads(run_cli("transparency", "report", "--period", "2026-Q3", "--format", "json",
                                home=home).stdout)
    assert report["totals"]["tasks"] == report["totals"]["covered"] == 1
    assert report["totals"]["by_data_kind"] == {"content": 0, "metadata": 1, "location": 1}
    html = run_cli("transparency", "report", "--period", "2026-Q3", "--format", "html", home=home).stdout
    assert "<svg" in html
    assert "Police" in html
    bad = run_cli("transparency", "report", "--period", "2026-13", home=home, check=False)
    assert bad.returncode == 2
    assert "calendar quarter" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = run_cli("ingest", "interception", str(tmp_path / "nope.jsonl"), home=home, check=False)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr


def test_the_same_messages_as_xml_are_the_same_events(tmp_path: Path) -> None:
    from custodiet.ingest.interception.x1xml import write_x1_xml

    store = Store(tmp_path / "home")
    messages = [*GOOD, activate("t2", "2026-07-03T10:00:00.250Z", "W1", [A], delivery="X2andX3")]
    messages[-1]["listOfMediationDetails"][0]["startTime"] = "2026-07-03T10:00:00.250000+00:00"
    write(tmp_path / "x1.jsonl", [json.dumps(m) for m in messages])
    (tmp_path / "x1.xml").write_text(write_x1_xml(messages, per_document=2, prefix="ns1"))
    first = ingest_x1(store, tmp_path / "x1.jsonl")
    second = ingest_x1(store, tmp_path / "x1.xml")
    assert (first.stored, second.form, second.stored, second.duplicates) == (5, "xml", 0, 5)
