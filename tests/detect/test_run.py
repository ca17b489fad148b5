"""The runner: stores findings atomically, replaces the previous run, survives a failing detector."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from custodiet.detect import registry
from custodiet.detect.findings import FINDING_SCHEMA
from custodiet.detect.run import findings_path, load_findings, run_detectors, run_info_path


@pytest.fixture
def broken_detector():
    @registry.detector("test.broken", revision=1, severity="low", channel="portal")
    def broken(ctx):
        """Always fails."""
        raise RuntimeError("boom")

    yield "test.broken"
    registry._REGISTRY.pop("test.broken")


def test_findings_are_replaced_not_appended(planted_store) -> None:
    before = pq.read_table(findings_path(planted_store))
    assert before.schema.equals(FINDING_SCHEMA)
    run_detectors(planted_store, channel="portal")
    after = pq.read_table(findings_path(planted_store))
    assert after.num_rows == before.num_rows
    assert sorted(after.column("finding_id").to_pylist()) == sorted(before.column("finding_id").to_pylist())
    info = json.loads(run_info_path(planted_store).read_text())
    assert info["findings"] == after.num_rows
    assert {d["id"] for d in info["detectors"]} >= {"insider.volume", "insider.canary"}


def test_a_failing_detector_is_reported_and_others_run(planted_store, broken_detector) -> None:
    report = run_detectors(planted_store, only=[broken_detector, "insider.stalking"])
    assert [d["id"] for d in report.errors] == [broken_detector]
    assert "boom" in report.errors[0]["error"]
    assert {f["detector"] for f in load_findings(planted_store)} == {"insider.stalking"}
    run_detectors(planted_store, channel="portal")  # leave the full run for other tests


def test_unknown_detector_is_refused(planted_store) -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        run_detectors(planted_store, only=["no.such"])


def test_load_findings_filters_by_actor(planted_store) -> None:
    mine = load_findings(planted_store, actor="U3.o1")
    assert mine
    assert all(f["actor"] == "U3.o1" for f in mine)
    assert load_findings(planted_store, channel="signalling") == []
