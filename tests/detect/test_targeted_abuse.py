"""Targeted abuse outranks busy accounts: stalking and the quiet seller, as reported on worlds we did not make.

Each account acts on top of the shared background world (a unit of its own, so its peers stay clean):

- ``U2.o2`` looks up one person on 11 evenings within 17 days, location each time; one colleague of
  another unit once looked that person up without a case (revision 1 rated this stalker "low");
- ``U1.o3`` looks up one person on five days, but three colleagues of its unit come back to that person
  too: a missing case file, not an obsession;
- ``U3.o2`` sells quietly: three strangers on 16 evenings, location and call records for each;
- ``U1.o4`` pulls location and call records on associates of its case subjects in the middle of its
  casework, as every colleague of its unit does: no steady sale;
- ``U2.o5`` is the unit's workhorse: every weekday 30 people of its own big case, far above its peers in
  every week, as usual for it (revision 1 of the volume detector rated that medium, above a low stalker);
- ``V.o1`` is a verification cell's heaviest operator: 400 strangers every weekday, far above its peers
  every day (revision 2 of the bulk detector rated that high);
- ``U1.o5`` comes back to an associate of a long case on 8 days spread over two months: no obsession
  (revision 1 of the stalking detector rated it medium);
- ``W.o4`` sells quietly among heavy analysts: 25 strangers on 10 days, location and call records each,
  among 90 people; each of its four peers pulls the same on 10 strangers among 300 (revision 1 of the
  steady-sale detector compared counts, 25 against the peers' 10, and saw nothing);
- ``U3.o3`` and ``U3.o4`` work an operation whose case file is not loaded: both pull location and call
  records on the same twelve people (casework shared, not an order split);
- ``U3.o5`` checks the identity of 150 strangers a day for four days, all of whom exist: a verification desk's day
  (revision 3 of the bulk detector rated that a high harvest);
- ``U1.o2`` types its case id in lower case for the case's own subjects, and three ids a digit off for two
  strangers each (revision 4 of the case misuse detector counted them as misuse);
- ``U1.o0`` pulls the location of a suspect's associate, whom no case lists, on 10 days within 12, each
  time in the same hour as lookups of its own case's subjects (revision 2 of the stalking detector rated
  that high, like an obsession pursued in the evenings);
- ``U2.o0`` mistypes case ids: ten strangers, each under an id that exists nowhere, each id once
  (revision 3 of the case misuse detector counted them as misuse).
"""

from __future__ import annotations

import pytest
from detect_world import WEEKS, background, day, subj

from custodiet.detect import risk
from custodiet.detect.run import load_findings, run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("targeted"))
    w = background(store)
    for d in range(11):  # a stalker: 11 evenings in 17 days
        w.access("U2.o2", subj("journalist"), day(30 + (d * 17) // 11, 19, 10), "location")
    w.access("U1.o1", subj("journalist"), day(31, 11), "identity")
    for d in range(5):  # casework on a person no case lists, shared by the unit
        for who in ("U1.o3", "U1.o0", "U1.o1", "U1.o2"):
            w.access(who, subj("missing-file"), day(40 + d, 11), "location")
    for d in range(16):  # a quiet seller
        for i in range(3):
            for k, kind in enumerate(("location", "cdr")):
                w.access("U3.o2", subj(f"order{d}-{i}"), day(8 + d * 4, 20, i * 10 + k * 3), kind)
    for d in range(30):  # associates pulled in the middle of casework, by the whole unit
        for who in ("U1.o4", "U1.o5", "U1.o0", "U1.o1"):
            for k, kind in enumerate(("location", "cdr")):
                w.access(who, subj(f"associate-{who}-{d}"), day(d, 11, 20 + k), kind)
    big = [subj(f"big-case-{i}") for i in range(1500)]
    w.case("U2-BIG", "U2", big, opened=day(-30), closed=day(WEEKS * 7 + 30))
    for d in range(WEEKS * 7):
        if day(d).weekday() < 5:
            for i in range(30):
                w.access("U2.o5", big[(d * 30 + i) % len(big)], day(d, 9 + i % 8, i), "identity", authority="U2-BIG")
    for d in range(WEEKS * 7):
        if day(d).weekday() < 5:
            for i in range(400):
                w.access("V.o1", subj(f"checked-{d}-{i}"), day(d, 8 + i % 9, i % 60), "identity", client_ip="10.0.9.1")
    for k in range(8):  # an associate, now and then
        w.access("U1.o5", subj("associate-of-long-case"), day(2 + k * 9, 11), ("identity", "subscriber")[k % 2])
    w.case("W-BIG", "W", [subj(f"w-case-{i}") for i in range(2000)], opened=day(-30), closed=day(WEEKS * 7 + 30))
    for o in range(5):
        w.actor(f"W.o{o}", "W", "analyst")
        people = 300 if o < 4 else 65
        for i in range(people):
            w.access(f"W.o{o}", subj(f"w-case-{o * 300 + i}"), day(i % 60, 10 + i % 7), "identity",
                     authority="W-BIG")
        strangers = 10 if o < 4 else 25
        for i in range(strangers):
            for k, kind in enumerate(("location", "cdr")):
                w.access(f"W.o{o}", subj(f"w-stranger-{o}-{i}"), day(3 + (i % 10) * 6, 12 + o, k * 5), kind)
    for i in range(12):
        for who in ("U3.o3", "U3.o4"):
            for kind in ("location", "cdr"):
                w.access(who, subj(f"operation-{i}"), day(30 + i % 4, 10 + i % 6), kind)
    for i in range(600):  # four days of it
        w.access("U3.o5", subj(f"verified-{i}"), day(33 + i // 150, 9 + i % 8, i % 60), "identity")
    for i in range(6):
        w.access("U1.o2", subj(f"U1-c3-s{i}"), day(30 + i, 10), "location", authority="u1-c3")
    for i in range(6):
        w.access("U1.o2", subj(f"associate-{i}"), day(30 + i, 11), "identity", authority=f"U1-C3{i // 2}")
    for i in range(10):
        w.access("U2.o0", subj(f"typo-{i}"), day(20 + i, 10), "identity", authority=f"U2-C{i}0")
    for d in (42, 43, 44, 45, 46, 49, 50, 51, 52, 53):  # weekdays; U1-C6 is open then
        w.access("U1.o0", subj("U1-c6-s0"), day(d, 10, 5), "cdr", authority="U1-C6")
        w.access("U1.o0", subj("associate-of-U1-c6"), day(d, 10, 25), "location")
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _findings(store: Store, detector: str) -> dict[str, dict]:
    return {f["actor"]: f for f in load_findings(store) if f["detector"] == detector}


def test_a_stalker_of_eleven_evenings_is_high(store) -> None:
    found = _findings(store, "insider.stalking")
    assert found["U2.o2"]["severity"] == "high"
    assert found["U2.o2"]["details"]["days"] == 11
    assert found["U2.o2"]["details"]["location_share"] == 1.0


def test_a_person_the_unit_keeps_coming_back_to_is_not_stalking(store) -> None:
    found = _findings(store, "insider.stalking")
    assert found.get("U1.o3") is None or found["U1.o3"]["severity"] in ("info", "low")


def test_the_quiet_seller_is_found_and_casework_on_associates_is_not(store) -> None:
    found = _findings(store, "insider.steady_sale")
    assert "U3.o2" in found
    assert found["U3.o2"]["details"]["people"] == 48
    assert found["U3.o2"]["details"]["apart_from_casework_share"] == 1.0
    assert not {"U1.o4", "U1.o5", "U1.o0", "U1.o1"} & set(found)


def test_a_workhorse_busy_as_usual_on_its_cases_is_low_at_most(store) -> None:
    found = _findings(store, "insider.volume")
    assert "U2.o5" in found  # far above its peers: still said, for the record
    assert found["U2.o5"]["severity"] in ("info", "low")
    assert found["U2.o5"]["details"]["self_ratio"] < 2.0
    assert found["U2.o5"]["details"]["unexplained_share"] < 0.1  # the background's few strangers


def test_a_heavy_verifier_at_its_usual_pace_is_not_a_high_harvest(store) -> None:
    found = _findings(store, "insider.bulk")
    assert "V.o1" in found  # still said, for the record: low at most since bulk revision 6 (no harvest)
    assert found["V.o1"]["severity"] in ("info", "low")
    assert found["V.o1"]["details"]["self_ratio"] < 2.0


def test_a_day_of_identity_checks_on_people_who_exist_is_not_a_high_harvest(store) -> None:
    found = _findings(store, "insider.bulk")
    assert "U3.o5" in found
    assert found["U3.o5"]["severity"] != "high"
    assert found["U3.o5"]["details"]["sale_share"] == 0.0


def test_mistyped_case_ids_are_not_misuse(store) -> None:
    found = _findings(store, "insider.case_misuse")
    assert "U2.o0" not in found
    assert "U1.o2" not in found


def test_an_associate_looked_up_in_the_middle_of_casework_is_not_a_high_obsession(store) -> None:
    found = _findings(store, "insider.stalking")
    assert found["U1.o0"]["severity"] in ("low", "medium")
    assert found["U1.o0"]["details"]["apart_from_casework_share"] == 0.0
    assert _findings(store, "insider.stalking")["U2.o2"]["details"]["apart_from_casework_share"] == 1.0


def test_an_associate_seen_now_and_then_is_not_an_obsession(store) -> None:
    found = _findings(store, "insider.stalking")
    assert found.get("U1.o5") is None or found["U1.o5"]["severity"] in ("info", "low")


def test_a_quiet_seller_among_heavy_peers_is_judged_at_their_rate(store) -> None:
    found = _findings(store, "insider.steady_sale")
    assert "W.o4" in found
    assert found["W.o4"]["details"]["people"] == 25
    assert not {"W.o0", "W.o1", "W.o2", "W.o3"} & set(found)


def test_shared_casework_is_not_collusion(store) -> None:
    found = [f for f in load_findings(store) if f["detector"] == "insider.collusion"]
    assert not [f for f in found if {"U3.o3", "U3.o4"} & set(f["actors"])]


def test_targeted_abuse_ranks_at_the_top(store) -> None:
    ranking = risk.rank(load_findings(store, channel="portal"))
    top = [r["actor"] for r in ranking[:3]]
    assert "U2.o2" in top
    assert "U3.o2" in top
