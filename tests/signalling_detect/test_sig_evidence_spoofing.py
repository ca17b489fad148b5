"""Category 3 from any evidence, borders and ships; probing against baselines; sender identity checks."""

from __future__ import annotations

from custodiet.detect.signalling.location import location_plausibility
from custodiet.detect.signalling.probing import probing
from custodiet.detect.signalling.spoofing import spoofing
from custodiet.geo import country_centroids, neighbours

from .sigdet_helpers import (
    BR_VLR,
    DE_VLR,
    FR_HLR,
    FR_VLR,
    HOME_HLR,
    HOME_VLR,
    MARITIME_VLR,
    UNKNOWN,
    flagged_ids,
    map_event,
    run,
    store_with,
)

SMSC = "339900000021"  # Lutetia Mobile's SMSC (SMS agreement)


def test_bundled_borders_name_known_countries():
    known = country_centroids()
    assert all(c in known for pair in neighbours() for c in pair)
    assert frozenset(("US", "CA")) in neighbours()


def test_location_first_registration_judged_against_other_evidence(tmp_path):
    """No earlier registration: our HLR's PRN to our own VLR places the subscriber at home."""
    events = [map_event(0, "442079460001", 4, "a", called=HOME_VLR), map_event(30, BR_VLR, 2, "a")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[1]["event_id"]}
    assert found[0].details["evidence"] is True
    assert found[0].details["previous_country"] == "GB"


def test_location_without_evidence_says_so(tmp_path):
    events = [map_event(0, HOME_VLR, 56, "other"), map_event(20, BR_VLR, 2, "b")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[1]["event_id"]}
    assert found[0].details["evidence"] is False
    assert "no evidence of where it was" in found[0].summary
    quiet = run(store_with(tmp_path / "q", events), location_plausibility,
                {"signalling.location": {"judge_without_evidence": False}})
    assert quiet == []


def test_location_border_flips_and_ships_are_reachable(tmp_path):
    events = [
        map_event(0, HOME_VLR, 56, "c"), map_event(600, DE_VLR, 2, "c"),  # a flight to Germany, then border flips
        map_event(610, FR_VLR, 2, "c"), map_event(625, DE_VLR, 2, "c"),
        map_event(0, MARITIME_VLR, 2, "d"), map_event(60, BR_VLR, 2, "d"),  # a ship docks in Brazil
        map_event(0, FR_VLR, 2, "e"), map_event(5, BR_VLR, 2, "e", outcome="denied"),  # rejected: judged
        map_event(30, FR_VLR, 56, "e"),
    ]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[7]["event_id"]}


def test_location_flight_with_time_on_the_ground(tmp_path):
    """GB -> BR (~8,900 km) in 9 h is a flight; in 5 h it is not."""
    events = [map_event(0, HOME_VLR, 56, "f"), map_event(9 * 60, BR_VLR, 2, "f"),
              map_event(0, HOME_VLR, 56, "g"), map_event(5 * 60, BR_VLR, 2, "g")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[3]["event_id"]}


def test_probing_spares_a_lookup_service_with_its_own_baseline(tmp_path):
    """An SMS partner's HLR-lookup service: 20 undelivered SRI-SM an hour for 30 hours is its normal."""
    events = [map_event(h * 60 + i * 3, SMSC, 45, f"m-{h}-{i}") for h in range(30) for i in range(20)]
    assert run(store_with(tmp_path, events), probing) == []


def test_probing_sweep_above_baseline_only_its_unfollowed_lookups(tmp_path):
    """A quiet partner (a delivered SMS every hour) sweeps 60 subscribers in an hour; its deliveries stay out."""
    events = []
    for h in range(30):
        events += [map_event(h * 60 + 5, SMSC, 45, f"n-{h}"), map_event(h * 60 + 5.01, SMSC, 44, f"i-{h}")]
    sweep = [map_event(20 * 60 + 10 + i * 0.5, SMSC, 45, f"s-{i}") for i in range(60)]
    found = run(store_with(tmp_path, events + sweep), probing)
    assert len(found) == 1
    assert flagged_ids(found) == {e["event_id"] for e in sweep}
    assert found[0].details["pattern"] == "sweep"


def test_probing_lookup_then_location_is_tracking(tmp_path):
    look = map_event(0, SMSC, 45, "msisdn-t")
    ati = map_event(1, UNKNOWN, 71, "msisdn-t")
    delivered = [map_event(2, SMSC, 45, "msisdn-u"), map_event(2.01, SMSC, 44, "imsi-u"),
                 map_event(3, UNKNOWN, 71, "msisdn-u")]
    found = run(store_with(tmp_path, [look, ati, *delivered]), probing)
    assert flagged_ids(found) == {look["event_id"]}
    assert found[0].details["pattern"] == "tracking"


def test_spoofing_point_code_node_and_imsi_home(tmp_path):
    usual = [map_event(i, FR_VLR, 56, f"r{i}", opc="1001") for i in range(60)]
    usual += [map_event(i, UNKNOWN, 71, f"u{i}", opc="2005") for i in range(60)]
    legit_ul = map_event(70, FR_VLR, 2, "r1", opc="1001", vlr=FR_VLR)
    legit_isd = map_event(71, FR_HLR, 7, "visitor", called=HOME_VLR, opc="1001", imsi_plmn="208-95")
    attacks = [
        map_event(80, FR_VLR, 2, "r2", opc="2005", vlr=FR_VLR),  # France's GT over the Zambian link
        map_event(81, FR_VLR, 2, "r3", opc="1001", vlr=DE_VLR),  # claims a German VLR from a French GT
        map_event(82, FR_HLR, 7, "v2", called=HOME_VLR, opc="1001", imsi_plmn="724-95"),  # not the IMSI's home
        map_event(83, BR_VLR, 2, "v3", called=HOME_HLR, imsi_plmn="208-95"),  # a French IMSI sent to our HLR
    ]
    found = run(store_with(tmp_path, usual + [legit_ul, legit_isd] + attacks), spoofing)
    assert flagged_ids(found) == {e["event_id"] for e in attacks}
    assert {f.details["category"] for f in found} == {"spoofing"}
    link = next(f for f in found if attacks[0]["event_id"] in f.event_ids)
    assert "MTP3 OPC 2005" in link.summary
    assert "260990000031" in link.summary


def test_location_backward_check_and_a_stay_begun_before_the_capture(tmp_path):
    """A UL from Brazil with no earlier evidence, but our own VLR sees the subscriber 20 min later: forged.
    A subscriber first seen in Brazil, where Brazil keeps serving it, was there before the capture began."""
    forged = map_event(30, BR_VLR, 2, "h")
    events = [map_event(0, HOME_VLR, 56, "other"), forged, map_event(50, HOME_VLR, 56, "h"),
              map_event(40, BR_VLR, 56, "i"), map_event(400, BR_VLR, 56, "i")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {forged["event_id"]}
    assert "later" in found[0].summary


def test_location_deliveries_to_our_nodes_stop_counting_under_sms_home_routing(tmp_path):
    """Deliveries reach our MSC while the subscriber is registered in Brazil: SMS home routing, so they
    place nobody at home (forced on, the Brazilian requests around one of them would look impossible)."""
    events = [map_event(0, BR_VLR, 2, "a"), map_event(30, SMSC, 44, "a", called="442079460041"),
              map_event(40, BR_VLR, 56, "a")]
    store = store_with(tmp_path, events)
    assert run(store, location_plausibility) == []
    forced = run(store, location_plausibility, {"signalling.location": {"mtfsm_evidence": True}})
    assert flagged_ids(forced) == {events[0]["event_id"], events[2]["event_id"]}
