"""The store commands through the real CLI: stats, events, quarantine, pseudonym, context load, exit codes."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import run_cli
from tests.ingest.fixtures import BAD, GOOD, write_log


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    log = root / "access.csv"
    write_log(log)
    (root / "actors.csv").write_text("actor,org,role,region\noff1,U1,analyst,north\noff2,U2,analyst,south\n,U3,x,y\n")
    home = root / "home"
    run_cli("ingest", "portal", str(log), home=home)
    run_cli("context", "load", "actors", str(root / "actors.csv"), home=home)
    return home


def test_stats_json(home):
    doc = json.loads(run_cli("stats", "--format", "json", home=home).stdout)
    assert doc["events"] == len(GOOD)
    assert doc["quarantined"] == len(BAD) + 1 + 1  # the log's bad rows, its short row, one bad actor row
    assert doc["actors"] == 3
    assert doc["context"]["actors"] == 2


def test_events_filters_and_fields(home):
    out = run_cli("events", "--actor", "off1", "--format", "jsonl", home=home).stdout
    rows = [json.loads(x) for x in out.splitlines()]
    assert {r["actor"] for r in rows} == {"off1"}
    assert len(rows) == 2
    assert set(rows[0]) == {"event_id", "ts", "channel", "actor", "actor_org", "subject", "subject_kind",
                            "data_kind", "operation", "authority", "outcome", "records", "attrs", "source"}
    later = run_cli("events", "--since", "2026-03-01T08:03:00Z", "--format", "jsonl", home=home).stdout.splitlines()
    assert len(later) == 3
    none = run_cli("events", "--channel", "signalling", "--format", "jsonl", home=home).stdout
    assert none == ""


def test_bad_since_is_a_clear_error(home):
    proc = run_cli("events", "--since", "yesterday", home=home, check=False)
    assert proc.returncode == 2
    assert "--since 'yesterday' is not an ISO 8601" in proc.stderr


def test_quarantine_jsonl(home):
    rows = [json.loads(x) for x in run_cli("quarantine", "--format", "jsonl", home=home).stdout.splitlines()]
    assert all({"source", "line", "reason", "raw"} <= r.keys() for r in rows)
    context = [r for r in rows if r["channel"] == "context"]
    assert context == [{**context[0], "source": "actors.csv", "line": 4, "reason": "actors: missing actor"}]


def test_pseudonym_matches_stored_subjects(home):
    pseudo = run_cli("pseudonym", "msisdn", "01712345678", home=home).stdout.strip()
    rows = [json.loads(x) for x in run_cli("events", "--format", "jsonl", home=home).stdout.splitlines()]
    assert sum(r["subject"] == pseudo for r in rows) == 2
    bad = run_cli("pseudonym", "imei", "490154203237519", home=home, check=False)
    assert bad.returncode == 2
    assert "Luhn" in bad.stderr


def test_key_file_is_private(home):
    mode = stat.S_IMODE(os.stat(home / "keys" / "pseudonym.key").st_mode)
    assert mode == 0o600


def test_key_from_environment(tmp_path):
    key = tmp_path / "elsewhere.key"
    key.write_bytes(b"k" * 32)
    a = run_cli("pseudonym", "nid", "1234567890", home=tmp_path / "a", env={"CUSTODIET_KEY_FILE": str(key)})
    b = run_cli("pseudonym", "nid", "1234567890", home=tmp_path / "b", env={"CUSTODIET_KEY_FILE": str(key)})
    c = run_cli("pseudonym", "nid", "1234567890", home=tmp_path / "c")
    assert a.stdout == b.stdout != c.stdout
    assert not (tmp_path / "a" / "keys" / "pseudonym.key").exists()


def test_unreadable_file_exits_1_and_others_still_ingest(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("ts,actor,subject,subject_kind,data_kind\n2026-01-01T00:00:00Z,o,1234567890,nid,cdr\n")
    proc = run_cli("ingest", "portal", str(tmp_path / "missing.csv"), str(good), "--format", "json",
                   home=tmp_path / "h", check=False)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["files"][0]["stored"] == 1
    assert "no such file" in doc["unreadable"][0]
