"""Evaluation over a family of worlds: per-world figures, their mean and the worst world."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from custodiet.cli import app
from custodiet.families import PORTAL_FIGURES, portal_figures, summarise


def _portal_result(ranks: list[tuple[str, int | None]], leaks: list[tuple[int, int | None]]) -> dict:
    return {"abuser_ranks": [{"actor": f"a{i}", "kind": k, "rank": r} for i, (k, r) in enumerate(ranks)],
            "leaks": {"details": [{"records": n, "seller_first": r == 1, "seller_rank": r}
                                  for n, r in leaks]}}


def test_portal_figures_count_the_top_ten_and_each_targeted_kind() -> None:
    fig = portal_figures(_portal_result(
        [("bulk_seller", 1), ("quiet_seller", 12), ("quiet_seller", 4), ("stalker", None)],
        [(10, 1), (6, 2), (3, 3)]))
    assert fig["top10"] == 2
    assert fig["quiet_sellers_top10"] == 0.5
    assert fig["stalkers_top10"] == 0.0
    assert fig["leaks_6plus_first"] == 0.5
    assert fig["leaks_small_top3"] == 1.0
    assert fig["missed"] == ["quiet_seller:12", "stalker:-"]


def test_the_worst_world_decides_not_the_mean() -> None:
    rows = [{"top10": 9, "quiet_sellers_top10": 1.0, "stalkers_top10": 1.0},
            {"top10": 9, "quiet_sellers_top10": 1.0, "stalkers_top10": 1.0},
            {"top10": 6, "quiet_sellers_top10": 0.0, "stalkers_top10": 1.0}]
    out = summarise(rows, PORTAL_FIGURES)
    assert out["top10"]["mean"] == 8.0
    assert out["top10"]["worst"] == 6
    assert out["top10"]["met"] is False
    assert out["quiet_sellers_top10"]["worlds_all_found"] == round(2 / 3, 4)
    assert out["quiet_sellers_top10"]["met"] is False
    assert out["stalkers_top10"]["met"] is True


def test_evaluate_family_on_two_small_worlds(tmp_path: Path) -> None:
    runner = CliRunner()
    for seed in (1, 2):
        world = tmp_path / "family" / f"w{seed}"
        home = ["--home", str(world / "home")]
        assert runner.invoke(app, ["simulate", "portal", "--out", str(world), "--seed", str(seed),
                                   "--actors", "40", "--days", "30"]).exit_code == 0
        for kind, name in (("actors", "actors"), ("cases", "cases"), ("case-subjects", "case_subjects")):
            assert runner.invoke(app, [*home, "context", "load", kind, str(world / f"{name}.csv")]).exit_code == 0
        assert runner.invoke(app, [*home, "ingest", "portal", str(world / "access_log.csv")]).exit_code == 0
        assert runner.invoke(app, [*home, "detect", "--channel", "portal"]).exit_code == 0
    got = runner.invoke(app, ["evaluate", "--family", str(tmp_path / "family"), "--format", "jsonl"])
    assert got.exit_code == 0, got.output
    lines = [json.loads(line) for line in got.stdout.splitlines()]
    worlds = [line for line in lines if "world" in line]
    summary = {line["summary"]: line for line in lines if "summary" in line}
    assert [w["world"] for w in worlds] == ["w1", "w2"]
    assert all(w["abusers"] == 9 for w in worlds)
    assert summary["top10"]["worst"] == min(w["top10"] for w in worlds)


def test_evaluate_needs_exactly_one_of_truth_or_family(tmp_path: Path) -> None:
    got = CliRunner().invoke(app, ["evaluate"])
    assert got.exit_code != 0
    assert "exactly one" in got.output
    empty = tmp_path / "none"
    empty.mkdir()
    got = CliRunner().invoke(app, ["evaluate", "--family", str(empty)])
    assert got.exit_code != 0
    assert "no world" in " ".join(got.output.split())
