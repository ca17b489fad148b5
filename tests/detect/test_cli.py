"""The detection commands, end to end through the real CLI (Typer's runner, a real store)."""

from __future__ import annotations

import json

import pytest
from leak_world import LISTED, build, write_sample
from typer.testing import CliRunner

from custodiet.cli import app
from custodiet.store import Store

runner = CliRunner()


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("clihome")
    groups = build(Store(root))
    return root, groups


def test_detect_findings_rank(planted_store) -> None:
    h = ["--home", str(planted_store.home)]
    done = runner.invoke(app, [*h, "detect", "--channel", "portal"])
    assert done.exit_code == 0, done.output
    assert "insider.volume" in done.output
    found = runner.invoke(app, [*h, "findings", "--format", "jsonl", "--actor", "U3.o1"])
    assert found.exit_code == 0
    rows = jsonl(found.stdout)
    assert rows
    assert {r["actor"] for r in rows} == {"U3.o1"}
    for key in ("finding_id", "detector", "revision", "actor", "subjects", "window_start", "window_end", "score",
                "severity", "summary", "event_ids"):
        assert key in rows[0]
    ranked = jsonl(runner.invoke(app, [*h, "rank", "--format", "jsonl"]).stdout)
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(ranked[i]["risk"] >= ranked[i + 1]["risk"] for i in range(len(ranked) - 1))
    assert {"actor", "risk", "findings"} <= set(ranked[0])
    assert all(isinstance(s, str) for s in ranked[0]["findings"])
    table = runner.invoke(app, [*h, "rank", "--format", "table", "--limit", "3"])
    assert table.exit_code == 0
    assert "risk" in table.output


def test_trace_leak_command(home, tmp_path) -> None:
    root, g = home
    sample = write_sample(tmp_path / "leak.csv", g["rare"][:6] + ["bogus"])
    done = runner.invoke(app, ["--home", str(root), "trace-leak", str(sample), "--listed-at",
                               LISTED.date().isoformat(), "--format", "jsonl"])
    assert done.exit_code == 0, done.output
    rows = jsonl(done.stdout)
    assert rows[0]["actor"] == "S"
    assert rows[0]["matched"] == 6
    assert {"score", "expected", "p_value"} <= set(rows[0])
    assert "leak.csv:8" in done.stderr
    bad = runner.invoke(app, ["--home", str(root), "trace-leak", str(sample), "--listed-at", "soon"])
    assert bad.exit_code == 2
    assert "ISO 8601" in bad.stderr


def test_canary_issue_prints_cleartext_once(home) -> None:
    root, _ = home
    done = runner.invoke(app, ["--home", str(root), "canary", "issue", "--actor", "A1", "--count", "2",
                               "--prefix", "8801555"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith("msisdn\t8801555") for line in lines)
    refused = runner.invoke(app, ["--home", str(root), "canary", "issue"])
    assert refused.exit_code == 2
    assert "exactly one" in refused.stderr
    unreserved = runner.invoke(app, ["--home", str(root), "canary", "issue", "--actor", "A1"])
    assert unreserved.exit_code == 2
    assert "no reserved block for msisdn canaries" in unreserved.stderr
    assert len(unreserved.stderr.strip().splitlines()) == 1


def test_evaluate_portal_truth(home, tmp_path) -> None:
    root, g = home
    write_sample(tmp_path / "leak_01.csv", g["rare"][:6])
    truth = {"world": "portal", "abusers": [{"actor": "S", "kind": "quiet_seller"}],
             "leaks": [{"file": "leak_01.csv", "listed_at": LISTED.date().isoformat(), "seller": "S", "records": 6}]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    done = runner.invoke(app, ["--home", str(root), "evaluate", "--truth", str(tmp_path / "truth.json")])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["leaks"]["seller_first_6_plus"] == 1.0
    assert report["targets"]["every_leak_of_6_plus_traced_first"] is True
    assert set(report["per_kind"]) == {"quiet_seller"}
    assert "recall@10" in report["overall"]


def test_evaluate_rejects_unknown_world(home, tmp_path) -> None:
    root, _ = home
    (tmp_path / "truth.json").write_text('{"world": "moon"}')
    done = runner.invoke(app, ["--home", str(root), "evaluate", "--truth", str(tmp_path / "truth.json")])
    assert done.exit_code == 2
    assert "unknown world" in done.stderr
