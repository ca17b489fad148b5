"""Each insider detector: finds its planted account (positive) and flags nobody in a clean world or any
account that did nothing unusual (negative)."""

from __future__ import annotations

import pytest
from detect_world import PLANTED

from custodiet.detect.registry import load_all
from custodiet.detect.run import load_findings

ALL_PLANTED = set().union(*PLANTED.values())
INSIDER = sorted(d.id for d in load_all() if d.id.startswith("insider.") and d.id != "insider.canary")


def test_every_insider_detector_is_covered() -> None:
    assert set(INSIDER) == set(PLANTED)


def test_clean_world_has_no_findings(clean_store) -> None:
    assert load_findings(clean_store, channel="portal") == []


@pytest.mark.parametrize("detector_id", INSIDER)
def test_detector_finds_its_planted_account(planted_store, flagged, detector_id: str) -> None:
    assert PLANTED[detector_id] <= flagged(planted_store, detector_id)


@pytest.mark.parametrize("detector_id", INSIDER)
def test_detector_flags_no_ordinary_account(planted_store, flagged, detector_id: str) -> None:
    assert flagged(planted_store, detector_id) <= ALL_PLANTED


def test_findings_explain_themselves(planted_store) -> None:
    findings = load_findings(planted_store)
    assert findings
    for f in findings:
        assert f["event_ids"], f
        assert any(ch.isdigit() for ch in f["summary"]), f["summary"]
        assert 0.0 <= f["score"] <= 1.0
        assert f["window_start"] <= f["window_end"]


def test_evidence_names_the_right_people(planted_store) -> None:
    stalk = [f for f in load_findings(planted_store, actor="U3.o1") if f["detector"] == "insider.stalking"]
    assert len(stalk) == 1
    assert len(stalk[0]["subjects"]) == 1
    assert len(stalk[0]["event_ids"]) == 12  # six days, two lookups each
    misuse = [f for f in load_findings(planted_store, actor="U3.o5") if f["detector"] == "insider.case_misuse"]
    assert misuse[0]["details"]["wrong_case_people"] == 12
    assert len(misuse[0]["subjects"]) == 12


def test_hijack_is_called_an_account_takeover(planted_store) -> None:
    f = next(f for f in load_findings(planted_store, actor="U1.o5") if f["detector"] == "insider.new_client")
    assert "203.0.113.9" in f["summary"]
    assert "account takeover" in f["summary"]
    assert f["severity"] == "high"


def test_protected_counts_categories(planted_store) -> None:
    f = next(f for f in load_findings(planted_store, actor="U1.o0") if f["detector"] == "insider.protected")
    assert f["details"]["categories"] == {"minister": 3}
