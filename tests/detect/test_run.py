"""The runner: stores findings per detector with the state they cover, replaces only what ran, survives a
failing detector."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from custodiet import ledger
from custodiet.detect import registry
from custodiet.detect.findings import FINDING_SCHEMA
from custodiet.detect.run import coverage, detector_path, load_findings, run_detectors, run_info_path


@pytest.fixture
def broken_detector():
    @registry.detector("test.broken", revision=1, severity="low", channel="portal")
    def broken(ctx):
        """Always fails."""
        raise RuntimeError("boom")

    yield "test.broken"
    registry._REGISTRY.pop("test.broken")


def test_findings_are_replaced_not_appended(planted_store) -> None:
    before = load_findings(planted_store)
    assert pq.read_schema(detector_path(planted_store, "insider.volume")).equals(FINDING_SCHEMA,
                                                                                 check_metadata=False)
    run_detectors(planted_store, channel="portal")
    after = load_findings(planted_store)
    assert len(after) == len(before)
    assert sorted(f["finding_id"] for f in after) == sorted(f["finding_id"] for f in before)
    info = json.loads(run_info_path(planted_store).read_text())
    assert info["findings"] == len(after)
    assert info["tree_size"] == ledger.head(planted_store)["tree_size"]
    assert {d["id"] for d in info["detectors"]} >= {"insider.volume", "insider.canary"}


def test_each_detector_records_the_state_it_covers(planted_store) -> None:
    head = ledger.head(planted_store)
    covered = {c["detector"]: c for c in coverage(planted_store, "portal")}
    assert {"insider.volume", "insider.stalking"} <= set(covered)
    for c in covered.values():
        assert (c["tree_size"], c["root_hash"], c["channel"]) == (head["tree_size"], head["root_hash"], "portal")
    stalking = [f for f in load_findings(planted_store) if f["detector"] == "insider.stalking"]
    assert covered["insider.stalking"]["findings"] == len(stalking)


def test_a_run_replaces_only_the_detectors_it_ran(planted_store) -> None:
    before = {f["finding_id"] for f in load_findings(planted_store)}
    run_detectors(planted_store, only=["insider.stalking"])
    assert {f["finding_id"] for f in load_findings(planted_store)} == before
    run_detectors(planted_store, channel="signalling")
    assert {f["finding_id"] for f in load_findings(planted_store, channel="portal")} == before


def test_a_failing_detector_is_reported_and_others_run(planted_store, broken_detector) -> None:
    before = {f["finding_id"] for f in load_findings(planted_store)}
    report = run_detectors(planted_store, only=[broken_detector, "insider.stalking"])
    assert [d["id"] for d in report.errors] == [broken_detector]
    assert "boom" in report.errors[0]["error"]
    assert {f.detector for f in report.findings} == {"insider.stalking"}
    assert not detector_path(planted_store, broken_detector).exists()  # nothing stored for a failed detector
    assert {f["finding_id"] for f in load_findings(planted_store)} == before


def test_unknown_detector_is_refused(planted_store) -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        run_detectors(planted_store, only=["no.such"])


def test_load_findings_filters_by_actor(planted_store) -> None:
    mine = load_findings(planted_store, actor="U3.o1")
    assert mine
    assert all(f["actor"] == "U3.o1" for f in mine)
    assert load_findings(planted_store, channel="signalling") == []
