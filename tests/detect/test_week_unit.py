"""The week of a desk move belongs to the unit of most of its lookups.

On the shared background world, unit ``X`` (five investigators) works its open case every weekday. ``M.o5``
checked 40 strangers' identities a day in the verification cell ``V`` for five weeks and moved to ``X`` on the
Friday of the sixth week, where it works the case. The sixth week is 160 strangers in ``V`` and a day of
casework in ``X``: a verifier's week (before, the week went to the unit with the higher id, ``X``, and its
160 strangers were judged against investigators whose people are all on their case).
"""

from __future__ import annotations

import pytest
from detect_world import START, WEEKS, background, day, subj

from custodiet.detect.run import load_findings, run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("week-unit"))
    w = background(store)
    suspects = [subj(f"x-suspect-{i}") for i in range(6)]
    w.case("X-C1", "X", suspects, opened=START)
    for o in range(5):
        w.actor(f"X.o{o}", "X", "investigator")
    w.actor("M.o5", "X", "investigator")
    n = 0
    for d in [d for d in range(WEEKS * 7) if day(d).weekday() < 5]:
        for who in [f"X.o{o}" for o in range(5)] + (["M.o5"] if d >= 39 else []):
            for i in range(10):
                w.access(who, suspects[i % 6], day(d, 9 + i % 8, i), "location", actor_org="X")
        if d < 39:  # Monday of week 0 .. Thursday of week 5 in the cell
            for i in range(40):
                n += 1
                w.access("M.o5", subj(f"m5-checked-{n}"), day(d, 9 + i % 8, i), "identity", actor_org="V")
    w.commit()
    run_detectors(store, channel="portal", only=["insider.unexplained"])
    return store


def test_a_moving_week_of_verification_is_judged_in_the_cell(store) -> None:
    found = [f for f in load_findings(store) if f["detector"] == "insider.unexplained" and f["actor"] == "M.o5"]
    assert found == []
