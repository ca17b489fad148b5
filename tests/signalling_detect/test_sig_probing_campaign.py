"""Probing sweeps and coordinated campaigns."""

from __future__ import annotations

from custodiet.detect.signalling.campaign import campaigns
from custodiet.detect.signalling.probing import probing

from .sigdet_helpers import UNKNOWN, UNKNOWN2, UNKNOWN3, flagged_ids, map_event, run, store_with

SMSC = "339900000021"  # Lutetia Mobile's SMSC: an SMS partner, so each SRI-SM alone is allowed


def test_probing_flags_a_sweep_without_deliveries(tmp_path):
    sweep = [map_event(i, SMSC, 45, f"msisdn-{i}") for i in range(40)]
    found = run(store_with(tmp_path, sweep), probing)
    assert len(found) == 1
    assert flagged_ids(found) == {e["event_id"] for e in sweep}
    assert "40 subscribers" in found[0].summary
    assert found[0].details["followed"] == 0


def test_probing_ignores_lookups_followed_by_deliveries(tmp_path):
    events = []
    for i in range(40):
        events += [map_event(i, SMSC, 45, f"msisdn-{i}"), map_event(i + 0.05, SMSC, 44, f"imsi-{i}")]
    assert run(store_with(tmp_path, events), probing) == []


def test_probing_episodes_split_on_quiet_hours(tmp_path):
    """20 look-ups, a six-hour pause, 20 more: two small episodes, neither reaches 30 subjects."""
    events = [map_event(i, SMSC, 45, f"m-{i}") for i in range(20)]
    events += [map_event(400 + i, SMSC, 45, f"m-{100 + i}") for i in range(20)]
    store = store_with(tmp_path, events)
    assert run(store, probing) == []
    assert len(run(store, probing, {"signalling.probing": {"min_subjects": 20}})) == 2


def _attack(minutes: float, gt: str, subject: str) -> list[dict]:
    return [map_event(minutes, gt, 71, "msisdn-" + subject), map_event(minutes + 1, gt, 70, subject)]


def test_campaign_groups_networks_with_shared_targets_and_technique(tmp_path):
    targets = [f"s{i}" for i in range(8)]
    events = []
    for k, gt in enumerate((UNKNOWN, UNKNOWN2, UNKNOWN3)):
        for s in targets[k:k + 6]:
            events += _attack(60 * k + targets.index(s), gt, s)
    events += _attack(500, "675990000031", "lone-victim")  # a fourth attacker on other subscribers
    found = run(store_with(tmp_path, events), campaigns)
    assert len(found) == 1
    assert sorted(found[0].actors) == sorted([UNKNOWN, UNKNOWN2, UNKNOWN3])
    assert found[0].severity == "critical"
    assert "3 networks acted together" in found[0].summary


def test_campaign_needs_overlapping_windows(tmp_path):
    targets = [f"s{i}" for i in range(6)]
    events = [e for s in targets for e in _attack(0, UNKNOWN, s)]
    events += [e for s in targets for e in _attack(10 * 24 * 60, UNKNOWN2, s)]  # same targets 10 days later
    assert run(store_with(tmp_path, events), campaigns) == []


def test_campaign_needs_shared_subjects(tmp_path):
    events = [e for i in range(6) for e in _attack(i, UNKNOWN, f"a{i}")]
    events += [e for i in range(6) for e in _attack(i, UNKNOWN2, f"b{i}")]
    assert run(store_with(tmp_path, events), campaigns) == []


def test_probing_bulk_sms_to_a_stale_list_is_not_a_sweep(tmp_path):
    """A partner's bulk SMS in one hour: 24 of 60 numbers are live and delivered, 36 are dead. Two in five
    delivered is a campaign to a stale list; a sweep delivers (almost) nothing."""
    events = []
    for i in range(60):
        events.append(map_event(i, SMSC, 45, f"msisdn-{i}"))
        if i % 5 < 2:
            events.append(map_event(i + 0.05, SMSC, 44, f"imsi-{i}"))
    assert run(store_with(tmp_path, events), probing) == []
    sweep = [map_event(100 + i, SMSC, 45, f"other-{i}") for i in range(60)] + [map_event(100.05, SMSC, 44, "x")]
    assert len(run(store_with(tmp_path / "sweep", sweep), probing)) == 1
