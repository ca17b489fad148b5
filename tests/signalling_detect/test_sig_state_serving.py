"""Subscriber state from outcomes, serving-only operations (FS.11/FS.19 category 3), and the no-profile warning."""

from __future__ import annotations

from custodiet.detect.signalling.base import NO_PROFILE, assumptions
from custodiet.detect.signalling.campaign import campaigns
from custodiet.detect.signalling.evaluate import signalling_findings
from custodiet.detect.signalling.fs19 import fs19_diameter
from custodiet.detect.signalling.serving import serving_only
from tests.conftest import run_cli

from .sigdet_helpers import (
    BR_REALM,
    BR_VLR,
    DE_VLR,
    FR_REALM,
    FR_VLR,
    HOME_VLR,
    diameter_event,
    flagged_ids,
    map_event,
    run,
    store_with,
)


def test_purge_only_from_the_network_that_serves_by_outcome(tmp_path):
    """France serves (its UL succeeded); Brazil's UL was rejected, so Brazil's purge is not the server's."""
    legit = [map_event(0, FR_VLR, 2, "a"), map_event(5, BR_VLR, 2, "a", outcome="denied"),
             map_event(600, FR_VLR, 67, "a")]
    attacks = [map_event(30, BR_VLR, 67, "a"),  # rejected registration: not serving
               map_event(40, DE_VLR, 67, "athome")]  # nobody registered it abroad: our network serves it
    found = run(store_with(tmp_path, legit + attacks), serving_only)
    assert flagged_ids(found) == {e["event_id"] for e in attacks}
    assert {f.details["category"] for f in found} == {"fs11-cat3"}
    assert all("FS.11 category 3" in f.summary for f in found)


def test_diameter_purge_after_a_failed_update_location(tmp_path):
    ok = [diameter_event(0, "mme1." + FR_REALM, FR_REALM, 316, "b", visited="208-95"),
          diameter_event(90, "mme1." + FR_REALM, FR_REALM, 321, "b")]
    bad = [diameter_event(10, "mme1." + BR_REALM, BR_REALM, 316, "b", visited="724-95", outcome="denied"),
           diameter_event(20, "mme1." + BR_REALM, BR_REALM, 321, "b")]
    found = run(store_with(tmp_path, ok + bad), serving_only)
    assert flagged_ids(found) == {bad[1]["event_id"]}
    assert found[0].details["category"] == "fs19-cat3"


def test_send_identification_with_a_tmsi_only_from_a_neighbour(tmp_path):
    near = map_event(1, FR_VLR, 55, "tmsi-1", called=HOME_VLR, kind="tmsi")  # France borders GB across the strait
    far = map_event(2, BR_VLR, 55, "tmsi-2", called=HOME_VLR, kind="tmsi")
    found = run(store_with(tmp_path, [near, far]), serving_only)
    assert flagged_ids(found) == {far["event_id"]}
    assert "TMSI" in found[0].summary


def test_diameter_registration_without_destination_excuses_one_partner(tmp_path):
    """Our MME registered a visitor with an HSS it did not name: France acts as its home first; Brazil's
    later Cancel-Location is not excused by that registration."""
    home_mme = "mme1.epc.mnc001.mcc001.3gppnetwork.org"
    events = [diameter_event(0, home_mme, "epc.mnc001.mcc001.3gppnetwork.org", 316, "visitor", visited="001-01",
                             dest_realm=None),
              diameter_event(5, "hss1." + FR_REALM, FR_REALM, 319, "visitor")]
    bad = diameter_event(9, "hss1." + BR_REALM, BR_REALM, 317, "visitor")
    found = run(store_with(tmp_path, [*events, bad]), fs19_diameter)
    assert flagged_ids(found) == {bad["event_id"]}


def test_campaign_groups_networks_purging_subscribers_they_do_not_serve(tmp_path):
    """Three roaming partners purge the same subscribers at home: each purge alone is allowed by agreement."""
    events = [map_event(10 * k + i, gt, 67, f"s{i}") for k, gt in enumerate((FR_VLR, DE_VLR, BR_VLR)) for i in range(5)]
    found = run(store_with(tmp_path, events), campaigns)
    assert len(found) == 1
    assert sorted(found[0].actors) == sorted([FR_VLR, DE_VLR, BR_VLR])


def test_no_profile_is_said_not_assumed(tmp_path):
    events = [map_event(1, HOME_VLR, 56, "x")]
    assert assumptions(store_with(tmp_path / "with", events)) == []
    bare = store_with(tmp_path / "without", events, profile=None)
    assert assumptions(bare) == [NO_PROFILE]
    findings = signalling_findings(bare)  # every detector runs without a profile, on what it assumes
    assert all(f.detector.startswith("signalling.") for f in findings)
    assert "every global title" in NO_PROFILE
    assert "home-network profile" in NO_PROFILE


def test_detect_warns_when_no_profile_is_loaded(tmp_path):
    events = [map_event(1, HOME_VLR, 56, "x")]
    bare = store_with(tmp_path / "without", events, profile=None)
    proc = run_cli("detect", "--channel", "signalling", home=bare.home)
    assert "no home-network profile loaded" in " ".join(proc.stderr.split())
    loaded = store_with(tmp_path / "with", events)
    assert "no home-network profile" not in run_cli("detect", "--channel", "signalling", home=loaded.home).stderr
