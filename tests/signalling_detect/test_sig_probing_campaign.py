"""Probing sweeps and coordinated campaigns."""

from __future__ import annotations

from custodiet.detect.signalling.campaign import campaigns
from custodiet.detect.signalling.probing import probing

from .sigdet_helpers import DE_VLR, UNKNOWN, UNKNOWN2, UNKNOWN3, flagged_ids, map_event, run, store_with

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


def test_two_campaigns_renting_gts_of_one_operator_stay_apart(tmp_path):
    """Two campaigns at once: each rents a different GT of the same operator's block and works its own target
    list with a second network. They are two findings, each with its own GTs; the operator's block is not one
    member tying both together."""
    first_gt, second_gt = UNKNOWN, UNKNOWN[:-4] + "5031"
    events = []
    for i in range(6):
        for k, gt in enumerate((first_gt, UNKNOWN2)):
            events += _attack(10 * i + k, gt, f"c1-{i}")
        for k, gt in enumerate((second_gt, UNKNOWN3)):
            events += _attack(10 * i + 5 + k, gt, f"c2-{i}")
    found = run(store_with(tmp_path, events), campaigns)
    assert sorted(sorted(f.actors) for f in found) == sorted([sorted([first_gt, UNKNOWN2]),
                                                              sorted([second_gt, UNKNOWN3])])
    assert all("2 networks acted together" in f.summary for f in found)


def test_one_operator_alone_with_two_gts_is_no_campaign(tmp_path):
    """One operator attacking from two GTs of its block on different people is one network, not a campaign."""
    events = [e for i in range(6) for e in _attack(i, UNKNOWN, f"a{i}")]
    events += [e for i in range(6) for e in _attack(i, UNKNOWN[:-4] + "5031", f"a{i}")]
    events += [e for i in range(6) for e in _attack(i, UNKNOWN[:-4] + "6031", f"b{i}")]
    assert run(store_with(tmp_path, events), campaigns) == []


def test_campaigns_of_look_up_and_location_gts_sharing_one_operator(tmp_path):
    """Two campaigns at once, each of two operators that look numbers up (anyTimeInterrogation on the MSISDN)
    from one GT and locate the IMSIs (provideSubscriberInfo) from another GT of their block; nothing ties the
    numbers to the IMSIs. The first operator rents other GTs to the second campaign. Each campaign is one
    finding with both GTs of each of its operators."""
    def gt(base: str, last: str) -> str:
        return base[:-4] + last

    first = [(gt(UNKNOWN, "1031"), gt(UNKNOWN, "5031")), (gt(UNKNOWN2, "1031"), gt(UNKNOWN2, "5031"))]
    second = [(gt(UNKNOWN, "2031"), gt(UNKNOWN, "7031")), (gt(UNKNOWN3, "2031"), gt(UNKNOWN3, "7031"))]
    events = []
    for i in range(6):
        for c, (tag, nets) in enumerate((("c1", first), ("c2", second))):
            for k, (look, locate) in enumerate(nets):
                minute = 20 * i + 10 * c + 2 * k
                events += [map_event(minute, look, 71, f"msisdn-{tag}-{i}", kind="msisdn"),
                           map_event(minute + 1, locate, 70, f"{tag}-{i}")]
    found = run(store_with(tmp_path, events), campaigns)
    assert sorted(sorted(f.actors) for f in found) == sorted([sorted(g for pair in first for g in pair),
                                                              sorted(g for pair in second for g in pair)])


def test_campaign_takes_in_a_members_allowed_lookups_on_its_targets(tmp_path):
    """Two unknown networks look six numbers up (sendRoutingInfo) from one GT and locate the IMSIs
    (anyTimeInterrogation) from another; a roaming partner locates the same IMSIs and looks the same numbers up
    from its one GT. The partner's sendRoutingInfo is allowed call routing alone (optimal routing), but on the
    campaign's people, in its window, from a GT that sent the campaign's flagged requests, it is the campaign's
    look-up. The partner's look-up of someone else is not."""
    partner = DE_VLR
    events, partner_lookups = [], []
    for i in range(6):
        for k, net in enumerate((UNKNOWN, UNKNOWN2)):
            events += [map_event(10 * i + k, net, 22, f"m{i}", kind="msisdn"),
                       map_event(10 * i + k + 0.5, net[:-4] + "5031", 71, f"t{i}")]
        partner_lookups.append(map_event(10 * i + 3, partner, 22, f"m{i}", kind="msisdn"))
        events += [partner_lookups[-1], map_event(10 * i + 4, partner, 71, f"t{i}")]
    elsewhere = map_event(30, partner, 22, "someone-else", kind="msisdn")
    found = run(store_with(tmp_path, [*events, elsewhere]), campaigns,
                {"signalling.fs11_cat2": {"sri_allowed": [partner]}})  # an optimal-routing agreement
    assert len(found) == 1
    ids = set(found[0].event_ids)
    assert {e["event_id"] for e in partner_lookups} <= ids
    assert elsewhere["event_id"] not in ids


def test_sms_lookup_then_call_routing_by_the_same_partner_is_tracking(tmp_path):
    """An SMS partner looks a number up (SRI-SM, allowed alone) and no delivery follows; seconds later its other
    GT asks call routing for the same number (sendRoutingInfo without an optimal-routing agreement, FS.11
    category 2): together they locate the subscriber, so the SRI-SM is flagged as tracking. An SRI-SM followed
    by its delivery is not, nor one followed by call routing under an agreement."""
    fr_routing = "339900000051"
    tracked = map_event(0, SMSC, 45, "m1", kind="msisdn")
    delivered = map_event(100, SMSC, 45, "m2", kind="msisdn")
    events = [tracked, map_event(0.3, fr_routing, 22, "m1", kind="msisdn"),
              delivered, map_event(100.05, SMSC, 44, "i2"), map_event(100.3, fr_routing, 22, "m2", kind="msisdn")]
    store = store_with(tmp_path, events)
    found = [f for f in run(store, probing) if f.details.get("pattern") == "tracking"]
    assert flagged_ids(found) == {tracked["event_id"]}
    assert found[0].details["then"] == ["sendRoutingInfo"]
    allowed = run(store, probing, {"signalling.fs11_cat2": {"sri_allowed": [fr_routing]}})
    assert [f for f in allowed if f.details.get("pattern") == "tracking"] == []
