"""Category 3 (velocity, MAP and Diameter) and FS.19 categories 1-2."""

from __future__ import annotations

from custodiet.detect.signalling.fs19 import fs19_diameter
from custodiet.detect.signalling.location import location_plausibility
from custodiet.geo import distance_km

from .sigdet_helpers import (
    BR_REALM,
    BR_VLR,
    DE_VLR,
    FR_REALM,
    FR_VLR,
    HOME_REALM,
    HOME_VLR,
    UNKNOWN_REALM,
    diameter_event,
    flagged_ids,
    map_event,
    run,
    store_with,
)


def test_distance_between_known_centroids():
    assert distance_km("GB", "GB") == 0
    assert 700 < distance_km("GB", "FR") < 1000
    assert 8000 < distance_km("GB", "BR") < 9500


def test_location_flags_an_impossible_journey_but_not_a_flight(tmp_path):
    events = [
        map_event(0, HOME_VLR, 56, "a"),  # at home
        map_event(30, BR_VLR, 2, "a"),  # Brazil 30 minutes later: impossible
        map_event(0, HOME_VLR, 56, "b"),
        map_event(16 * 60, BR_VLR, 2, "b"),  # Brazil 16 hours later: a flight
        map_event(16 * 60 + 20, FR_VLR, 56, "b"),  # France 20 minutes after Brazil: impossible
    ]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[1]["event_id"], events[4]["event_id"]}
    first = next(f for f in found if f.event_ids == [events[1]["event_id"]])
    assert first.details["previous_country"] == "GB"
    assert first.details["kmh"] > 1000
    assert "km/h" in first.summary


def test_location_forged_registration_does_not_move_the_subscriber(tmp_path):
    """After a forged (flagged) UL from Brazil, the genuine French network's next SAI is not impossible."""
    events = [map_event(0, FR_VLR, 2, "c"), map_event(20, BR_VLR, 2, "c"), map_event(50, FR_VLR, 56, "c"),
              map_event(55, HOME_VLR, 56, "d")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[1]["event_id"]}


def test_location_diameter_update_location_counts_as_category_3(tmp_path):
    events = [diameter_event(0, "mme1." + FR_REALM, FR_REALM, 316, "e", visited="208-95"),
              diameter_event(10, "mme1." + BR_REALM, BR_REALM, 316, "e", visited="724-95")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert [f.details["category"] for f in found] == ["fs19-cat3"]


def test_location_slack_param_changes_the_verdict(tmp_path):
    events = [map_event(0, HOME_VLR, 56, "f"), map_event(20, DE_VLR, 56, "f")]  # GB -> DE in 20 min
    store = store_with(tmp_path, events)
    assert len(run(store, location_plausibility)) == 1
    assert run(store, location_plausibility, {"signalling.location": {"slack_km": 1000}}) == []


def test_fs19_flags_internal_interfaces_and_foreign_profile_changes(tmp_path):
    attacks = [
        diameter_event(1, "dra1." + UNKNOWN_REALM, UNKNOWN_REALM, 306, "g"),  # Sh User-Data: category 1
        diameter_event(2, "dra1." + UNKNOWN_REALM, UNKNOWN_REALM, 319, "g"),  # IDR about our subscriber
        diameter_event(3, "mme1." + BR_REALM, BR_REALM, 316, "h", visited="208-95"),  # spoofed serving PLMN
        diameter_event(4, "mme1." + UNKNOWN_REALM, UNKNOWN_REALM, 318, "h"),  # AIR without roaming agreement
    ]
    legit = [
        diameter_event(5, "mme1." + FR_REALM, FR_REALM, 316, "i", visited="208-95"),
        diameter_event(6, "mme1." + HOME_REALM, HOME_REALM, 316, "visitor", visited="001-01", dest_realm=FR_REALM),
        diameter_event(7, "hss1." + FR_REALM, FR_REALM, 319, "visitor"),  # their HSS updates their roamer
        diameter_event(8, "hss1." + FR_REALM, FR_REALM, 317, "visitor"),
    ]
    found = run(store_with(tmp_path, attacks + legit), fs19_diameter)
    assert flagged_ids(found) == {e["event_id"] for e in attacks}
    cats = sorted(f.details["category"] for f in found)
    assert cats == ["fs19-cat1", "fs19-cat2", "fs19-cat2", "fs19-cat2"]
