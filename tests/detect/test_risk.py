"""Risk roll-up: one strong finding outranks many weak ones; corroboration orders within a tier."""

from __future__ import annotations

from custodiet.detect.risk import combine, rank


def f(detector: str, severity: str, score: float, actor: str = "a", fid: str = "x") -> dict:
    return {"detector": detector, "severity": severity, "score": score, "actor": actor, "actors": [actor],
            "summary": f"{detector} {score}", "finding_id": fid}


def test_one_strong_outranks_many_weak() -> None:
    strong = combine([f("d1", "high", 0.0)])
    weak = combine([f(f"d{i}", "medium", 1.0) for i in range(20)])
    assert strong > weak


def test_corroboration_counts_within_a_tier() -> None:
    alone = combine([f("d1", "high", 0.5)])
    backed = combine([f("d1", "high", 0.5), f("d2", "medium", 0.9)])
    assert backed > alone


def test_many_findings_of_one_detector_count_once() -> None:
    once = combine([f("d1", "high", 0.5), f("d2", "low", 0.5)])
    repeated = combine([f("d1", "high", 0.5), f("d2", "low", 0.5)] + [f("d2", "low", 0.4)] * 30)
    assert once == repeated


def test_risk_in_unit_interval() -> None:
    assert combine([]) == 0.0
    top = combine([f(f"d{i}", "critical", 1.0) for i in range(10)])
    assert 0.9 < top < 1.0


def test_rank_orders_and_explains() -> None:
    rows = rank([f("d1", "medium", 0.9, "b", "1"), f("d1", "high", 0.1, "a", "2"), f("d2", "low", 0.3, "b", "3")])
    assert [r["actor"] for r in rows] == ["a", "b"]
    assert rows[0]["rank"] == 1
    assert rows[1]["findings"][0].startswith("[medium] d1")
    assert rows[1]["detectors"] == ["d1", "d2"]


def test_rank_counts_findings_for_every_actor_of_a_joint_finding() -> None:
    joint = {**f("d1", "high", 0.5, "n1", "j"), "actors": ["n1", "n2"]}
    assert {r["actor"] for r in rank([joint])} == {"n1", "n2"}
