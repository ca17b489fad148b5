"""The interception world simulator: deterministic files, both X1 forms alike, a truth that follows the
contract's rules (checked by an independent reading of them), a realistic background, and the CLI."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from custodiet.cli import app
from custodiet.identifiers import luhn_ok
from custodiet.ingest.interception.x1xml import read_x1_xml
from custodiet.simulate.interception import InterceptionConfig, generate
from tests.simulate.x1_rules import judge, read_messages, read_warrants, report_counts, stretches, ts

SMALL = InterceptionConfig(seed=3, warrants=500, days=120, end=date(2026, 8, 15))
FILES = ("warrants.csv", "x1.jsonl", "x1.xml", "truth.json")
ERRORS = ("no_warrant", "wrong_identifier", "wrong_period", "wrong_data_type", "stretched")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("interception")
    generate(SMALL, out)
    return out


@pytest.fixture(scope="module")
def truth(world: Path) -> dict[str, Any]:
    return json.loads((world / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def messages(world: Path) -> list[dict[str, Any]]:
    return read_messages(world / "x1.jsonl")


def test_same_seed_same_bytes_other_seed_other_world(world: Path, tmp_path: Path) -> None:
    generate(SMALL, tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (world / name).read_bytes(), name
    other = replace(SMALL, seed=4)
    generate(other, tmp_path / "other")
    assert (tmp_path / "other" / "x1.jsonl").read_bytes() != (world / "x1.jsonl").read_bytes()


def test_both_forms_hold_the_same_messages(world: Path, messages: list[dict[str, Any]]) -> None:
    assert (world / "x1.xml").read_text(encoding="utf-8").count("<?xml ") > 1  # several X1Request documents
    with open(world / "x1.xml", "rb") as fh:
        items = list(read_x1_xml(fh, "x1.xml"))
    assert [item.error for item in items if item.error] == []
    assert [item.message for item in items] == messages


def test_truth_follows_the_rules(world: Path, truth: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    warrants = read_warrants(world / "warrants.csv")
    judged = judge(warrants, messages, truth["grace_seconds"], truth["stretch_factor"])
    assert judged == {xid: entry["class"] for xid, entry in truth["tasks"].items()}


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_every_class_planted_and_judged_so(tmp_path: Path, seed: int) -> None:
    cfg = replace(SMALL, seed=seed)
    truth = generate(cfg, tmp_path)
    classes = Counter(entry["class"] for entry in truth["tasks"].values())
    assert all(classes[cls] > 0 for cls in ERRORS), classes
    variants = {entry.get("variant") for entry in truth["tasks"].values()} - {None}
    assert len(variants) >= 11, variants  # most ways of each class (13 in all)
    errors = sum(classes[cls] for cls in ERRORS)
    assert 0.015 < errors / len(truth["tasks"]) < 0.1  # a few percent
    judged = judge(read_warrants(tmp_path / "warrants.csv"), read_messages(tmp_path / "x1.jsonl"),
                   truth["grace_seconds"], truth["stretch_factor"])
    assert judged == {xid: entry["class"] for xid, entry in truth["tasks"].items()}


def test_reports_are_consistent_and_count_as_defined(world: Path, truth: dict[str, Any],
                                                     messages: list[dict[str, Any]]) -> None:
    reports = truth["reports"]
    assert list(reports) == ["2026-Q2", "2026-Q3"]  # every quarter a task is active in
    warrants = read_warrants(world / "warrants.csv")
    for period, rep in reports.items():
        assert rep["period"] == period
        rows = rep["agencies"]
        assert [r["agency"] for r in rows] == sorted(r["agency"] for r in rows)
        for row in rows:
            assert row["covered"] + sum(row["errors"].values()) == row["tasks"]
            assert row["uncovered"] == row["tasks"] - row["covered"]
            assert sum(row["by_authority_level"].values()) == row["tasks"]
            assert all(n <= row["tasks"] for n in row["by_data_kind"].values())
        for key, total in rep["totals"].items():
            if isinstance(total, dict):
                for k, n in total.items():
                    assert n == sum(r[key].get(k, 0) for r in rows), (period, key, k)
            else:
                assert total == sum(r[key] for r in rows), (period, key)
        counted = report_counts(warrants, messages, ts(rep["start"]), ts(rep["end"]))
        keys = ("tasks", "started", "ended", "targets", "by_authority_level")
        assert {r["agency"]: {k: r[k] for k in keys} for r in rows} == {
            agency: {k: row[k] for k in keys} for agency, row in counted.items()}
        for r in rows:
            assert {k: n for k, n in r["by_data_kind"].items() if n} == counted[r["agency"]]["by_data_kind"]
    unknown = reports["2026-Q3"]["agencies"][-1]
    assert unknown["agency"] == "unknown"
    assert unknown["errors"]["no_warrant"] == unknown["tasks"]


def test_background_is_ordinary_work(world: Path, truth: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    warrants = read_warrants(world / "warrants.csv")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for m in messages:
        by_task.setdefault(m["xId"], []).append(m)
    covered = [xid for xid, e in truth["tasks"].items() if e["class"] == "covered"]
    assert len(covered) > 0.9 * len(truth["tasks"])
    last = max(ts(m["messageTimestamp"]) for m in messages)
    renewed = reactivated = open_at_end = late_in_grace = 0
    for xid in covered:
        msgs = by_task[xid]
        kinds = [m["messageType"] for m in msgs]
        liids = [m["listOfMediationDetails"][0]["lIID"] for m in msgs if "listOfMediationDetails" in m]
        renewed += len(set(liids)) > 1
        reactivated += "ActivateTaskRequest" in kinds[kinds.index("DeactivateTaskRequest"):] \
            if "DeactivateTaskRequest" in kinds else 0
        open_at_end += kinds[-1] != "DeactivateTaskRequest"
        for liid, _, end in stretches(msgs, last):
            w = warrants[liid]
            late_in_grace += w.valid_to < end <= last and (end - w.valid_to).total_seconds() <= 3600 \
                and kinds[-1] == "DeactivateTaskRequest"
    assert min(renewed, reactivated, open_at_end, late_in_grace) > 3, (renewed, reactivated, open_at_end,
                                                                        late_in_grace)
    lines = (world / "x1.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > len(set(lines))  # retransmitted identical requests
    per_warrant = Counter(m["listOfMediationDetails"][0]["lIID"] for m in messages
                          if m["messageType"] == "ActivateTaskRequest")
    assert max(len({m["neIdentifier"] for m in messages if m.get("listOfMediationDetails", [{}])[0].get("lIID")
                    == liid}) for liid, _ in per_warrant.most_common(20)) > 1  # several NEs per warrant
    rows = (world / "warrants.csv").read_text(encoding="utf-8").splitlines()[1:]
    targets = [(r.split(",")[5], r.split(",")[4]) for r in rows]
    msisdns = [v for k, v in targets if k == "msisdn"]
    imeis = [v for k, v in targets if k == "imei"]
    assert any(v.startswith("+") for v in msisdns)
    assert any(not v.startswith("+") for v in msisdns)
    assert {len(v) for v in imeis} == {14, 15}
    assert all(luhn_ok(v) for v in imeis if len(v) == 15)
    assert len({r.split(",")[1] for r in rows}) == SMALL.agencies


def _activations_per_warrant(warrants: dict[str, Any], activations: list[dict[str, Any]], agency: str, lo: date,
                             hi: date) -> float:
    """An agency's Activates in [lo, hi) per warrant it was issued in that time."""
    acts = 0
    for m in activations:
        w = warrants.get(m["listOfMediationDetails"][0]["lIID"])
        acts += w is not None and w.agency == agency and lo <= ts(m["messageTimestamp"]).date() < hi
    issued = sum(w.agency == agency and lo <= w.valid_from.date() < hi for w in warrants.values())
    return acts / max(1, issued)


def test_agency_out_of_line_stands_out(tmp_path: Path) -> None:
    """Seeds 2 and 6 plant one agency out of line, each in one of the two ways."""
    seen = set()
    for seed in (2, 6):
        cfg = replace(SMALL, seed=seed)
        truth = generate(cfg, tmp_path / str(seed))
        ((agency, how),) = truth["out_of_line_how"].items()
        assert truth["agencies_out_of_line"] == [agency]
        seen.add(how)
        if how == "uncovered":
            share: dict[str, float] = {}
            for name in {e["agency"] for e in truth["tasks"].values()} - {"unknown"}:
                mine = [e for e in truth["tasks"].values() if e["agency"] == name]
                share[name] = sum(e["class"] != "covered" for e in mine) / len(mine)
            peers = statistics.median(v for k, v in share.items() if k != agency)
            assert share[agency] > 3 * peers, share
        else:
            warrants = read_warrants(tmp_path / str(seed) / "warrants.csv")
            activations = [m for m in read_messages(tmp_path / str(seed) / "x1.jsonl")
                           if m["messageType"] == "ActivateTaskRequest"]
            growth = {name: _activations_per_warrant(warrants, activations, name, date(2026, 7, 6),
                                                     date(2026, 8, 16))
                      / _activations_per_warrant(warrants, activations, name, date(2026, 4, 17), date(2026, 5, 27))
                      for name in {w.agency for w in warrants.values()}}
            peers = statistics.median(v for k, v in growth.items() if k != agency)
            assert growth[agency] > 2 * peers, growth
    assert seen == {"growth", "uncovered"}


def test_default_world_size(tmp_path: Path) -> None:
    truth = generate(InterceptionConfig(seed=11), tmp_path)
    assert 2_400 < len(truth["tasks"]) < 3_800
    assert len(truth["reports"]) == 3  # 180 days crossing two quarter boundaries


runner = CliRunner()


def test_cli_writes_a_world_and_refuses_bad_settings(tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = runner.invoke(app, ["simulate", "interception", "--out", str(out), "--seed", "5", "--agencies", "4",
                                 "--warrants", "300", "--days", "60", "--end", "2026-03-31"])
    assert result.exit_code == 0, result.output
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert f"{len(truth['tasks']):,} tasks" in result.output
    assert truth["seed"] == 5
    assert truth["end"] == "2026-04-01T00:00:00+00:00"
    assert len({e["agency"] for e in truth["tasks"].values()} - {"unknown"}) == 4
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    bad = runner.invoke(app, ["simulate", "interception", "--out", str(tmp_path / "x"), "--seed", "1",
                              "--agencies", "12"])
    assert bad.exit_code == 2
    assert "--agencies must be between" in bad.output
    assert not (tmp_path / "x").exists()


def test_the_checker_finds_what_was_planted(world: Path, truth: dict[str, Any], tmp_path: Path) -> None:
    """End to end: the world through the oversight checker (ingest of both forms, detect, evaluate)."""
    home = ["--home", str(tmp_path / "store")]
    for args in (["context", "load", "warrants", str(world / "warrants.csv")],
                 ["ingest", "interception", str(world / "x1.jsonl"), str(world / "x1.xml")],
                 ["detect", "--channel", "interception"]):
        result = runner.invoke(app, [*home, *args])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*home, "evaluate", "--truth", str(world / "truth.json")])
    assert result.exit_code == 0, result.output
    ev = json.loads(result.output[result.output.index("{"):])
    assert ev["planted_errors"] == sum(e["class"] != "covered" for e in truth["tasks"].values())
    assert ev["missed_or_misclassified"] == 0
    assert ev["covered_flagged"] == 0
    assert ev["agencies_found"] == truth["agencies_out_of_line"]
    assert ev["agencies_false"] == []
    assert ev["reports_exact"] == len(truth["reports"])
