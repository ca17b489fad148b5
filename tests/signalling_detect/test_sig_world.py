"""The simulator end to end: pcaps through tshark and the real decoder, the detectors, evaluation, and the
report's golden files. One small world (150 subscribers, 3 days) is built once for the module."""

from __future__ import annotations

import hashlib
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from custodiet.context.network import Registry, save_profile
from custodiet.detect.signalling.evaluate import evaluate_signalling, signalling_findings
from custodiet.ingest.signalling import ingest_file
from custodiet.report.render import RENDERERS, chart_svg
from custodiet.report.signalling import build_report
from custodiet.simulate.signalling import simulate_signalling
from custodiet.simulate.signalling.encode import MAP_OP_BY_NAME
from custodiet.store import Store

SEED, SUBSCRIBERS, DAYS = 5, 150, 3
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CUSTODIET_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("sigworld")
    out = base / "world"
    truth = simulate_signalling(out, SEED, subscribers=SUBSCRIBERS, days=DAYS)
    key = base / "pseudonym.key"
    key.write_bytes(bytes(range(32)))  # a fixed key: pseudonyms (and so the golden files) are stable
    os.environ["CUSTODIET_KEY_FILE"] = str(key)
    try:
        store = Store(base / "home")
        save_profile(store, out / "network.toml")
        registry = Registry.from_store(store)
        summaries = [ingest_file(store, out / name, registry) for name in truth["files"]]
        findings = signalling_findings(store)
        report = build_report(store, findings)
    finally:
        del os.environ["CUSTODIET_KEY_FILE"]
    return {"out": out, "truth": truth, "store": store, "summaries": summaries, "findings": findings,
            "report": report}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_simulator_is_deterministic_for_a_seed(world, tmp_path):
    again = simulate_signalling(tmp_path / "again", SEED, subscribers=SUBSCRIBERS, days=DAYS)
    assert _digest(tmp_path / "again") == _digest(world["out"])
    assert again == world["truth"]
    other = simulate_signalling(tmp_path / "other", SEED + 1, subscribers=SUBSCRIBERS, days=DAYS)
    assert other["attacks"] != world["truth"]["attacks"]


def test_truth_covers_every_category_and_a_campaign(world):
    truth = world["truth"]
    cats = {a["category"] for a in truth["attacks"]}
    assert cats == {"fs11-cat1", "fs11-cat2", "fs11-cat3", "fs19-cat1", "fs19-cat2", "fs19-cat3", "probing"}
    assert len(truth["campaigns"]) == 1
    assert len(truth["campaigns"][0]["gts"]) == 3
    assert truth["legitimate_messages"] > 10 * len(truth["attacks"]) // 2


def test_tshark_reads_planted_invokes_as_truth_says(world):
    """The reference decoder sees each planted MAP frame as an invoke of the stated operation."""
    out = subprocess.run(["tshark", "-r", str(world["out"] / "map.pcap"), "-o", "sctp.checksum:TRUE",
                          "-Y", "gsm_old.invoke_element", "-T", "fields", "-e", "frame.number",
                          "-e", "gsm_old.localValue", "-e", "sctp.checksum.status"],
                         capture_output=True, text=True, check=True).stdout
    seen = {int(f): (int(op), int(ok)) for f, op, ok in (line.split("\t") for line in out.splitlines())}
    planted = [a for a in world["truth"]["attacks"] if a["file"] == "map.pcap"]
    assert planted
    for a in planted:
        assert seen[a["frame"]] == (MAP_OP_BY_NAME[a["operation"]].opcode, 2), a  # 2: checksum good
    assert all(ok == 2 for _, ok in seen.values())


def test_decoder_ingests_every_request_without_quarantine(world):
    truth = world["truth"]
    assert all(s.error is None and s.quarantined == 0 for s in world["summaries"])
    assert sum(s.events for s in world["summaries"]) == truth["legitimate_messages"] + len(truth["attacks"])


def test_evaluation_meets_the_targets(world):
    result = evaluate_signalling(world["store"], world["truth"], world["findings"])
    assert result["ingested_attacks"] == result["planted_attacks"]
    assert result["found_share"] >= 0.99, result["missed_examples"]
    assert result["false_alarms"] == 0, result["false_alarm_examples"]
    assert result["campaigns"][0]["exact"]
    # 1 per 100,000 legitimate messages cannot be resolved on this small world (3,600 messages): at most one
    # (the sweeping partner's own look-up inside the sweep, see signalling.probing's false positives)
    assert result["legitimate_events_in_findings"] <= 1
    assert all(v for k, v in result["targets"].items() if not k.startswith("legitimate_events"))


def test_report_golden_files(world):
    for fmt, name in (("md", "report.md"), ("json", "report.json")):
        text = RENDERERS[fmt](world["report"])
        path = GOLDEN / name
        if UPDATE:
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), f"{name} changed; CUSTODIET_UPDATE_GOLDEN=1 to accept"


def test_report_numbers_add_up(world):
    r = world["report"]
    total = r["totals"]["attacks"]
    assert sum(c["attacks"] for c in r["by_category"]) == total
    assert sum(b["attacks"] for b in r["timeline"]["buckets"]) == total
    assert abs(sum(c["share"] for c in r["by_category"]) - 100) < 0.5
    assert r["campaigns"]
    assert len(r["campaigns"][0]["actors"]) == 3
    assert r["top_subjects"][0]["attacks"] >= r["top_subjects"][-1]["attacks"]


def test_html_report_has_a_valid_inline_svg(world):
    html = RENDERERS["html"](world["report"])
    assert html.startswith("<!DOCTYPE html>")
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    svg = ET.fromstring(chart_svg(world["report"]["timeline"]))
    bars = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert len(bars) >= len([b for b in world["report"]["timeline"]["buckets"] if b["attacks"]])
