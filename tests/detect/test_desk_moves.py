"""Officers move desks: an account is judged against the unit it worked in at the time of each lookup.

The log names the unit of each lookup (``actor_org``); the actors table names the unit an account is in
now. On top of the shared background world:

- unit ``S`` (five analysts) cites its standing authority ``SA/S/2026``, an id on no case, for the strangers
  it checks every weekday; ``M.o1`` did the same in ``S`` for five weeks, then moved to ``U1`` (where the
  actors table lists it) and works U1's cases (revision 5 of the case misuse detector compared its ``S``
  weeks with U1's investigators: "another unit's case", high);
- ``M.o2`` worked five weeks as an investigator in ``U2`` and then five weeks in the verification cell
  ``V`` (listed there now, as a verifier): 25 strangers a day is the cell's pace, not a ramp (revision 2 of
  the ramp-up detector compared its ``U2`` weeks with the cell);
- ``M.o3`` checked 60 strangers a day in the verification cell for five weeks, then moved to ``U1`` as an
  investigator (revision 4 of the bulk detector compared its cell days with U1's investigators, and
  revision 1 of the unexplained-access detector its whole history, mostly the cell's strangers);
- ``M.o4`` worked five weeks in ``U2`` and then five in ``U3`` (listed there now), where it looks up ten
  times as many strangers as its new colleagues: a step at the move, not a climb (revision 3 of the
  ramp-up detector, comparing each week with that week's unit, still read the step as a ramp);
- ``U3.o5`` harvests 150 strangers' locations in one evening: still a bulk finding;
- ``U2.o2`` and ``U2.o3`` share a made-up id, ``OP-NIGHT``, for six strangers each: two officers are no
  unit's standing authority, still misuse.
"""

from __future__ import annotations

import pytest
from detect_world import WEEKS, background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


def _weekdays(first_week: int, last_week: int) -> list[int]:
    return [d for d in range(first_week * 7, last_week * 7) if day(d).weekday() < 5]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("desk-moves"))
    w = background(store)
    for o in range(5):
        w.actor(f"S.o{o}", "S", "analyst")
    w.actor("M.o1", "U1", "investigator")
    w.actor("M.o2", "V", "verifier")
    w.actor("M.o3", "U1", "investigator")
    w.actor("M.o4", "U3", "investigator")
    n = 0
    for d in _weekdays(0, WEEKS):
        for who in [f"S.o{o}" for o in range(5)] + (["M.o1"] if d < 35 else []):
            for i in range(10):
                n += 1
                w.access(who, subj(f"s-checked-{n}"), day(d, 9 + i % 8, i), "subscriber", authority="SA/S/2026",
                         actor_org="S")
    u1_case = next(c for c in w.cases if c["case_id"] == "U1-C5")
    u1_subjects = [r["subject"] for r in w.case_subjects if r["case_id"] == "U1-C5"]
    for d in _weekdays(5, WEEKS):  # M.o1 and M.o3 in U1: its open case, cited
        if u1_case["opened"] <= day(d) < u1_case["closed"]:
            for who in ("M.o1", "M.o3"):
                for i in range(8):
                    w.access(who, u1_subjects[i % len(u1_subjects)], day(d, 10 + i % 6), "location",
                             authority="U1-C5", actor_org="U1")
    for d in _weekdays(0, 5):  # M.o2 in U2, a few strangers among casework-like lookups
        for i in range(3):
            n += 1
            w.access("M.o2", subj(f"u2-stranger-{n}"), day(d, 10 + i), "identity", actor_org="U2")
    for d in _weekdays(5, WEEKS):  # M.o2 in the cell, at the cell's pace
        for i in range(25):
            n += 1
            w.access("M.o2", subj(f"v-checked-{n}"), day(d, 8 + i % 9, i), "identity", client_ip="10.0.9.1",
                     actor_org="V")
    for d in _weekdays(0, 5):  # M.o3 in the cell: a heavy operator of it
        for i in range(60):
            n += 1
            w.access("M.o3", subj(f"m3-checked-{n}"), day(d, 8 + i % 9, i % 60), "identity",
                     client_ip="10.0.9.1", actor_org="V")
    for d in _weekdays(0, WEEKS):  # M.o4: a few strangers a day in U2, then thirty in U3
        unit = "U2" if d < 35 else "U3"
        for i in range(3 if unit == "U2" else 30):
            n += 1
            w.access("M.o4", subj(f"m4-stranger-{n}"), day(d, 9 + i % 8, i), "identity", actor_org=unit)
    for i in range(150):  # a harvest in U3, for comparison: one day, what sells
        w.access("U3.o5", subj(f"harvest-{i}"), day(40, 20 + i // 60, i % 60), "location", actor_org="U3")
    for who in ("U2.o2", "U2.o3"):
        for i in range(6):
            w.access(who, subj(f"night-{who}-{i}"), day(20 + i, 21), "location", authority="OP-NIGHT")
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _found(store: Store, detector: str) -> dict[str, dict]:
    return by_actor(store, detector)


def test_a_units_standing_authority_is_not_misuse_before_or_after_a_move(store) -> None:
    found = _found(store, "insider.case_misuse")
    assert not {"M.o1", "S.o0", "S.o1", "S.o2", "S.o3", "S.o4"} & set(found)


def test_an_id_two_officers_made_up_is_still_misuse(store) -> None:
    found = _found(store, "insider.case_misuse")
    assert {"U2.o2", "U2.o3"} <= set(found)
    assert found["U2.o2"]["details"]["unit"] == "U2"
    assert found["U2.o2"]["details"]["wrong_case_people"] == 6


def test_a_move_into_a_verification_cell_is_not_a_ramp(store) -> None:
    assert "M.o2" not in _found(store, "insider.ramp_up")


def test_a_step_at_a_desk_move_is_not_a_ramp(store) -> None:
    assert "M.o4" not in _found(store, "insider.ramp_up")


def test_the_cell_days_of_a_moved_officer_are_judged_against_the_cell(store) -> None:
    assert "M.o3" not in _found(store, "insider.bulk")


def test_the_cell_weeks_of_a_moved_officer_are_not_unexplained_access(store) -> None:
    found = _found(store, "insider.unexplained")
    assert "M.o3" not in found
    assert found["U3.o5"]["details"]["unit"] == "U3"  # the harvest week is still unexplained access


def test_a_harvest_is_still_found_against_the_unit_of_the_day(store) -> None:
    found = _found(store, "insider.bulk")
    assert found["U3.o5"]["severity"] in ("medium", "high")
    assert "peers in U3" in found["U3.o5"]["summary"]
