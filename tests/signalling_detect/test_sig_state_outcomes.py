"""Subscriber state that holds on worlds the project did not make: our HLR's answers are not evidence of a
registration they answer, registrations per domain, SS requests only from the serving network, requests
routed on the E.214 mobile global title, MNC lengths, and campaigns whose networks use several GTs."""

from __future__ import annotations

from custodiet.detect.signalling.campaign import campaigns
from custodiet.detect.signalling.fs11_cat2 import fs11_category2
from custodiet.detect.signalling.location import location_plausibility
from custodiet.detect.signalling.serving import serving_only
from custodiet.detect.signalling.spoofing import spoofing

from .sigdet_helpers import (
    BR_VLR,
    DE_VLR,
    FR_HLR,
    FR_VLR,
    HOME_HLR,
    HOME_VLR,
    UNKNOWN,
    UNKNOWN2,
    flagged_ids,
    map_event,
    run,
    store_with,
)

MGT = "4479000000123456"  # E.214 mobile global title of one of our IMSIs (GB country code, no node of ours)


def test_location_hlr_answer_to_a_forged_update_location_places_nobody(tmp_path):
    """France serves; a Brazilian updateLocation 30 minutes later is answered by our HLR's
    insertSubscriberData, which only repeats the claim: Brazil is flagged, France's messages around it are not."""
    events = [map_event(0, FR_VLR, 2, "a"), map_event(25, FR_VLR, 56, "a"),
              map_event(30, BR_VLR, 2, "a"),  # the forged registration
              map_event(30.01, HOME_HLR, 7, "a", called=BR_VLR),  # our HLR answers it like any other
              map_event(60, FR_VLR, 56, "a"), map_event(61, FR_VLR, 2, "a")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[2]["event_id"]}


def test_location_hlr_message_before_any_registration_still_places_the_subscriber(tmp_path):
    """Our HLR's provideRoamingNumber to Brazil with no Brazilian registration in the capture (a stay that
    began earlier) still places the subscriber there: France 20 minutes later is impossible."""
    events = [map_event(0, HOME_HLR, 4, "b", called=BR_VLR), map_event(20, FR_VLR, 2, "b")]
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[1]["event_id"]}


def test_register_ss_only_from_the_serving_network(tmp_path):
    """Call forwarding set by the VLR that serves the subscriber is its own request; set by another network
    (after a rejected registration, or with none) it is interception."""
    legit = [map_event(0, FR_VLR, 2, "c"), map_event(5, FR_VLR, 10, "c")]
    attacks = [map_event(10, BR_VLR, 2, "c", outcome="denied"), map_event(11, BR_VLR, 10, "c"),
               map_event(12, DE_VLR, 12, "d")]  # activateSS about a subscriber nobody registered abroad
    found = run(store_with(tmp_path, legit + attacks), serving_only)
    assert flagged_ids(found) == {attacks[1]["event_id"], attacks[2]["event_id"]}
    assert {f.details["category"] for f in found} == {"fs11-cat3"}


def test_hlr_answer_to_a_registration_without_agreement_does_not_make_its_sender_serve(tmp_path):
    """A network without a roaming agreement registers the subscriber and our HLR answers with
    insertSubscriberData: its registerSS is still not the serving network's. A partner our HLR addressed
    with no registration in the capture (a stay that began before it) may purge."""
    attack = [map_event(0, UNKNOWN, 2, "e"), map_event(0.01, HOME_HLR, 7, "e", called=UNKNOWN),
              map_event(1, UNKNOWN, 10, "e")]
    legit = [map_event(0, HOME_HLR, 4, "f", called=DE_VLR), map_event(30, DE_VLR, 67, "f")]
    found = run(store_with(tmp_path, attack + legit), serving_only)
    assert flagged_ids(found) == {attack[2]["event_id"]}


def test_serving_state_per_domain(tmp_path):
    """France's VLR serves the subscriber (circuit-switched) while Germany's SGSN serves it for data: a
    purge from either is the serving network's; one from Brazil is not."""
    legit = [map_event(0, FR_VLR, 2, "g"), map_event(10, DE_VLR, 23, "g"),
             map_event(60, FR_VLR, 67, "g"), map_event(61, DE_VLR, 67, "g")]
    attack = map_event(62, BR_VLR, 67, "g")
    found = run(store_with(tmp_path, [*legit, attack]), serving_only)
    assert flagged_ids(found) == {attack["event_id"]}


def test_update_location_routed_on_the_mobile_global_title_registers(tmp_path):
    """France's first updateLocation is addressed to the E.214 mobile global title of our IMSI, not to our
    HLR's GT: it still makes France the serving network. One for a foreign IMSI to the same kind of GT
    does not."""
    legit = [map_event(0, FR_VLR, 2, "h", called=MGT, imsi_plmn="001-01"), map_event(30, FR_VLR, 67, "h")]
    foreign = [map_event(0, FR_VLR, 2, "i", called=MGT, imsi_plmn="208-95"), map_event(30, FR_VLR, 67, "i")]
    found = run(store_with(tmp_path, legit + foreign), serving_only)
    assert flagged_ids(found) == {foreign[1]["event_id"]}


def test_imsi_plmn_read_as_the_profile_writes_it(tmp_path):
    """The profile lists France as 208-95; an IMSI 20895 0… decoded with a 3-digit MNC (208-950) is still
    France's own subscriber, so its HLR may update its profile. Brazil's subscriber it may not."""
    own = map_event(0, FR_HLR, 7, "j", called=DE_VLR, imsi_plmn="208-950")
    other = map_event(1, FR_HLR, 7, "k", called=DE_VLR, imsi_plmn="724-950")
    store = store_with(tmp_path, [own, other])
    assert flagged_ids(run(store, fs11_category2)) == {other["event_id"]}
    assert flagged_ids(run(store, spoofing)) == {other["event_id"]}  # the IMSI's home is not the sender


def test_campaign_network_with_two_global_titles_is_one_member(tmp_path):
    """Two unknown networks each look numbers up from one GT and locate the IMSIs from another GT of the same
    block; the number and the IMSI are tied by the look-up's answer. One campaign lists all four GTs and
    nothing of a third network that attacks other people."""
    lookup_a, locate_a = UNKNOWN, UNKNOWN[:-4] + "5031"
    lookup_b, locate_b = UNKNOWN2, UNKNOWN2[:-4] + "5031"
    events = []
    for i in range(4):
        for k, (look, loc) in enumerate(((lookup_a, locate_a), (lookup_b, locate_b))):
            events.append(map_event(20 * i + k, look, 45, f"msisdn-{i}", kind="msisdn",
                                    imsi_pseudonym=f"imsi-{i}"))
            events.append(map_event(20 * i + k + 1, loc, 70, f"imsi-{i}"))
    other = [map_event(3 + i, BR_VLR[:-4] + "7777", 71, f"elsewhere-{i}") for i in range(4)]
    found = run(store_with(tmp_path, events + other), campaigns)
    assert len(found) == 1
    assert sorted(found[0].actors) == sorted([lookup_a, locate_a, lookup_b, locate_b])


def test_hlr_message_after_a_later_registration_does_not_excuse_an_earlier_purge(tmp_path):
    """France purges a subscriber our own network serves, and registers it properly hours later: our HLR's
    insertSubscriberData and provideRoamingNumber to France after that show the later stay, not one at the
    time of the purge."""
    events = [map_event(0, HOME_VLR, 2, "m"), map_event(10, FR_VLR, 67, "m"),
              map_event(600, FR_VLR, 2, "m"), map_event(600.01, HOME_HLR, 7, "m", called=FR_VLR),
              map_event(700, HOME_HLR, 4, "m", called=FR_VLR), map_event(800, FR_VLR, 67, "m")]
    found = run(store_with(tmp_path, events), serving_only)
    assert flagged_ids(found) == {events[1]["event_id"]}


def test_spoofing_source_ip_of_the_networks_own_endpoint_is_not_a_mismatch(tmp_path):
    """France's traffic comes from 10.20.0.1 and 10.20.0.2; a request from 10.20.0.3 (no other network's
    address, same subnet: another address of its multi-homed SCTP endpoint) is its own. One from Zambia's
    usual address is France's GT over another carrier's link."""
    usual = [map_event(i, FR_VLR, 56, f"p{i}", src_ip=f"10.20.0.{1 + i % 2}") for i in range(60)]
    usual += [map_event(i, UNKNOWN, 56, f"q{i}", src_ip="10.90.0.7") for i in range(60)]
    own = map_event(70, FR_VLR, 56, "p1", src_ip="10.20.0.3")
    foreign = map_event(71, FR_VLR, 56, "p2", src_ip="10.90.0.7")
    found = run(store_with(tmp_path, [*usual, own, foreign]), spoofing)
    assert flagged_ids(found) == {foreign["event_id"]}


def test_location_knows_every_country_a_network_may_be_in(tmp_path):
    """Tanzania 90 minutes after Germany is impossible; Kenya to Tanzania in minutes is a border flip. The
    geography covers the countries of every ITU country code, so neither is silently skipped."""
    from custodiet.geo import adjacent, country_centroids

    assert {"TZ", "KE", "GA", "TJ", "LR", "BT", "VU"} <= set(country_centroids())
    assert adjacent("TZ", "KE")
    tz, ke = "255990000011", "254990000011"  # not in the profile: attributed by country code
    events = [map_event(0, DE_VLR, 2, "n"), map_event(90, tz, 56, "n"),
              map_event(0, ke, 56, "o"), map_event(5, tz, 56, "o"),
              map_event(-1000, HOME_VLR, 56, "z")]  # the capture began long before
    found = run(store_with(tmp_path, events), location_plausibility)
    assert flagged_ids(found) == {events[1]["event_id"]}


def test_campaign_includes_lookups_flagged_as_tracking(tmp_path):
    """Two SMS partners each look numbers up (allowed alone) and locate them with anyTimeInterrogation from
    another of their GTs: the look-ups are flagged as tracking, and the campaign lists both GTs of each."""
    fr_look, fr_locate = "339900000021", "339900000051"
    de_look, de_locate = "499900000021", "499900000051"
    events = []
    for i in range(4):
        for k, (look, loc) in enumerate(((fr_look, fr_locate), (de_look, de_locate))):
            events.append(map_event(30 * i + 10 * k, look, 45, f"num-{i}", kind="msisdn"))
            events.append(map_event(30 * i + 10 * k + 0.2, loc, 71, f"num-{i}", kind="msisdn"))
    found = run(store_with(tmp_path, events), campaigns)
    assert len(found) == 1
    assert sorted(found[0].actors) == sorted([fr_look, fr_locate, de_look, de_locate])
