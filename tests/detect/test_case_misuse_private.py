"""Case misuse under an officer's own open case: the people it covers are looked up by that officer alone.

Unit ``T`` (five investigators) works one open case, ``T-C1``, that lists five suspects. The team cites it
for the suspects' associates too, which it does not list; each associate is checked by two or three of
them. ``T.o4`` helps with ten of them, and also cites ``T-C1`` for thirty strangers that nobody else ever
looks up (revision 5 of the case misuse detector counted every unlisted person: forty against its
colleagues' sixty was nothing).
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store

TEAM = [f"T.o{o}" for o in range(5)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("case-misuse-private"))
    w = background(store)
    suspects = [subj(f"t-suspect-{i}") for i in range(5)]
    w.case("T-C1", "T", suspects, opened=day(-10))
    for who in TEAM:
        w.actor(who, "T", "investigator")
    for i in range(100):  # associates: each checked by two or three of the team, under the case
        for k in range(2 + i % 2):
            who = TEAM[(i + k) % 4]
            w.access(who, subj(f"t-associate-{i}"), day(2 + i % 50, 10 + k), "cdr", authority="T-C1")
            w.access(who, suspects[i % 5], day(2 + i % 50, 9 + k), "location", authority="T-C1")
    for i in range(10):  # T.o4 helps with a few of them
        w.access("T.o4", subj(f"t-associate-{i}"), day(3 + i, 11), "cdr", authority="T-C1")
    for i in range(30):
        w.access("T.o4", subj(f"t-private-{i}"), day(5 + i, 20), "location", authority="T-C1")
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.case_misuse")


def test_private_lookups_under_the_officers_own_case_are_misuse(store) -> None:
    found = _found(store)
    assert "T.o4" in found
    assert found["T.o4"]["details"]["unlisted_people"] == 30
    assert found["T.o4"]["details"]["unlisted_people_all"] == 40
    assert found["T.o4"]["severity"] in ("medium", "high")


def test_shared_casework_on_associates_is_not_misuse(store) -> None:
    assert not set(TEAM[:4]) & set(_found(store))
