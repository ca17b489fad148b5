"""FS.11 categories 1 and 2: positive and negative cases on small hand-built event tables."""

from __future__ import annotations

import json

import pytest

from custodiet.detect.signalling.evaluate import evaluate_signalling, signalling_findings
from custodiet.detect.signalling.fs11_cat1 import fs11_category1
from custodiet.detect.signalling.fs11_cat2 import fs11_category2

from .sigdet_helpers import (
    CH_SMSC,
    FR_HLR,
    FR_VLR,
    HOME_HLR,
    HOME_VLR,
    UNKNOWN,
    flagged_ids,
    map_event,
    run,
    store_with,
)


def test_cat1_flags_ati_from_a_partner_and_an_unknown_network(tmp_path):
    bad = [map_event(1, FR_VLR, 71, "sub-a"), map_event(2, UNKNOWN, 71, "sub-a"), map_event(3, UNKNOWN, 58, "sub-b")]
    ok = [map_event(4, HOME_VLR, 71, "sub-a")]  # our own gsmSCF asking our HLR
    found = run(store_with(tmp_path, bad + ok), fs11_category1)
    assert flagged_ids(found) == {e["event_id"] for e in bad}
    ati = next(f for f in found if f.actor == UNKNOWN and "anyTimeInterrogation" in f.summary)
    assert "1 request" in ati.summary
    assert ati.details["category"] == "fs11-cat1"


def test_cat1_request_routed_on_point_code_is_home_internal(tmp_path):
    """Inside the home network messages are routed on point code and SSN, with no global title."""
    internal = map_event(1, "ignored", 71, "sub-a")
    attrs = json.loads(internal["attrs"])
    attrs["sccp_calling_gt"] = None
    internal.update(actor="pc:1201", attrs=json.dumps(attrs))
    foreign = map_event(2, UNKNOWN, 71, "sub-a")
    found = run(store_with(tmp_path, [internal, foreign]), fs11_category1)
    assert flagged_ids(found) == {foreign["event_id"]}


def test_cat1_allowed_param_exempts_an_agreed_partner(tmp_path):
    events = [map_event(1, FR_VLR, 71, "sub-a")]
    store = store_with(tmp_path, events)
    assert run(store, fs11_category1, {"signalling.fs11_cat1": {"allowed": {"Lutetia Mobile": [71]}}}) == []
    assert len(run(store, fs11_category1)) == 1


def test_cat2_psi_isd_cl_need_the_home_network(tmp_path):
    """HLR-to-VLR operations: only an inbound roamer's home HLR may send them; the serving network never."""
    events = [
        # an inbound roamer of Lutetia: our VLR registered it with their HLR; their HLR may send ISD/PSI
        map_event(0, HOME_VLR, 2, "visitor", called=FR_HLR), map_event(10, FR_HLR, 7, "visitor", called=HOME_VLR),
        map_event(20, FR_HLR, 70, "visitor", called=HOME_VLR),
    ]
    attacks = [
        # our subscriber roams in France: Lutetia serves it, but PSI about it comes from our HLR, not theirs
        map_event(0, FR_VLR, 2, "roamer"), map_event(30, FR_VLR, 70, "roamer"),
        map_event(40, UNKNOWN, 70, "athome", called=HOME_VLR),  # nobody registered it abroad
        map_event(41, CH_SMSC, 7, "roamer", called=HOME_VLR),  # a partner neither serving nor home
        map_event(42, UNKNOWN, 3, "visitor", called=HOME_VLR),  # cancelLocation from a stranger
        map_event(43, FR_VLR, 3, "roamer", called=HOME_VLR),  # cancelLocation from the serving network
    ]
    found = run(store_with(tmp_path, events + attacks), fs11_category2)
    assert flagged_ids(found) == {e["event_id"] for e in attacks[1:]}
    assert all("home network" in f.summary and "FS.11 category 2" in f.summary for f in found)


def test_cat2_home_of_a_roamer_comes_from_the_outbound_registration_even_if_rejected(tmp_path):
    """A rejected registration with Lutetia's HLR still names the IMSI's home; Alpen Net is not it."""
    reg = map_event(0, HOME_VLR, 2, "visitor", called=FR_HLR)
    reg["outcome"] = "denied"
    ok = map_event(10, FR_HLR, 3, "visitor", called=HOME_VLR)
    bad = map_event(11, "419900000001", 3, "visitor", called=HOME_VLR)
    found = run(store_with(tmp_path, [reg, ok, bad]), fs11_category2)
    assert flagged_ids(found) == {bad["event_id"]}


def test_cat2_isd_for_an_unknown_subject_is_an_interception_candidate(tmp_path):
    isd = map_event(5, UNKNOWN, 7, "dialogue-pseudonym-1", called=HOME_VLR)
    isd["subject_kind"] = "unknown"
    found = run(store_with(tmp_path, [isd]), fs11_category2)
    assert flagged_ids(found) == {isd["event_id"]}
    assert "interception candidate" in found[0].summary


def test_cat2_sms_routing_only_with_an_sms_agreement(tmp_path):
    bad = map_event(1, CH_SMSC, 45, "msisdn-1")  # Alpen Net: sms = false
    good = map_event(2, "339900000021", 45, "msisdn-1")  # Lutetia: sms = true
    found = run(store_with(tmp_path, [bad, good]), fs11_category2)
    assert flagged_ids(found) == {bad["event_id"]}
    assert "SMS agreement" in found[0].summary


def test_cat2_call_routing_and_registration_from_outside(tmp_path):
    sri = map_event(1, FR_VLR, 22, "msisdn-2")
    home_sri = map_event(2, HOME_HLR, 22, "msisdn-2")
    ul = map_event(3, UNKNOWN, 2, "sub-x")  # updateLocation without a roaming agreement
    store = store_with(tmp_path, [sri, home_sri, ul])
    assert flagged_ids(run(store, fs11_category2)) == {sri["event_id"], ul["event_id"]}
    allowed = run(store, fs11_category2, {"signalling.fs11_cat2": {"sri_allowed": ["Lutetia Mobile"]}})
    assert flagged_ids(allowed) == {ul["event_id"]}


def test_every_signalling_detector_is_quiet_on_an_empty_channel(tmp_path):
    store = store_with(tmp_path, [])
    assert signalling_findings(store) == []


def test_evaluate_rejects_a_bad_truth_naming_the_record(tmp_path):
    store = store_with(tmp_path, [map_event(1, UNKNOWN, 71, "s")])
    with pytest.raises(ValueError, match=r"attacks\[1\]: missing or non-text 'event_key'"):
        evaluate_signalling(store, {"world": "signalling", "attacks": [
            {"event_key": "test.pcap:11", "category": "fs11-cat1"}, {"category": "fs11-cat1"}]})
    with pytest.raises(ValueError, match="not from a signalling world"):
        evaluate_signalling(store, {"world": "portal"})
    result = evaluate_signalling(store, {"world": "signalling", "legitimate_messages": 0, "attacks": [
        {"event_key": "test.pcap:11", "category": "fs11-cat1"}]})
    assert result["found_share"] == 1.0
    assert result["false_alarms"] == 0


def test_cat2_an_inbound_roamers_own_hlr_is_its_home_by_the_imsi(tmp_path):
    """A partner's HLR managing its own subscriber visiting us (no registration in the capture): the IMSI's
    MCC-MNC is the partner's, so it is the home network; about one of ours it is an attack."""
    visitor = [map_event(1, FR_HLR, op, "visitor", called=HOME_VLR, imsi_plmn="208-95") for op in (3, 4, 7, 70)]
    ours = [map_event(2, FR_HLR, op, "ours", called=HOME_VLR, imsi_plmn="001-01") for op in (3, 70)]
    found = run(store_with(tmp_path, visitor + ours), fs11_category2)
    assert flagged_ids(found) == {e["event_id"] for e in ours}


def test_cat2_a_roaming_partners_routine_call_routing_is_not_an_attack(tmp_path):
    """Optimal routing: a partner's GMSC asks routing for many subscribers every day, answered; an unknown
    network's handful of look-ups is still flagged."""
    routine = [map_event(60 * 24 * d + i, FR_VLR, 22, f"callee-{d}-{i}", kind="msisdn")
               for d in range(4) for i in range(8)]
    probe = [map_event(30 + i, UNKNOWN, 22, f"target-{i}", kind="msisdn") for i in range(3)]
    found = run(store_with(tmp_path, routine + probe), fs11_category2)
    assert flagged_ids(found) == {e["event_id"] for e in probe}
