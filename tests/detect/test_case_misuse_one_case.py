"""Misuse borrows one case (case misuse revision 7).

On the shared background world, three officers of unit ``U1`` work case ``U1-C2`` on thirty associates of its
suspects whom the case does not list: each of them looks up every associate (casework is shared). Then:

- ``U1.o1`` also cites its unit's open case ``U1-C3`` for twelve strangers nobody else looks up. Most of the
  unlisted people it cited cases for are the shared associates, so revision 6 (most unlisted people private)
  saw nothing; all twelve people under ``U1-C3`` are private;
- ``U1.o2`` looks up twelve private strangers too, three under each of four cases: no case is borrowed, and
  most of its unlisted people are shared: no finding.
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("case-misuse-one-case"))
    w = background(store)
    for d in range(15, 40, 2):
        for i in range(30):
            if i % 12 == d % 12:
                for who in ("U1.o1", "U1.o2", "U1.o3"):
                    w.access(who, subj(f"associate-{i}"), day(d, 11, i), "cdr", authority="U1-C2")
    for i in range(30):  # every associate looked up by all three, whatever the day pattern above left out
        for who in ("U1.o1", "U1.o2", "U1.o3"):
            w.access(who, subj(f"associate-{i}"), day(16, 12, i), "location", authority="U1-C2")
    for i in range(12):
        w.access("U1.o1", subj(f"borrowed-{i}"), day(22 + i, 20), "location", authority="U1-C3")
        w.access("U1.o2", subj(f"stray-{i}"), day(30 + i % 4, 14, i), "identity",
                 authority=("U1-C2", "U1-C3", "U1-C4", "U1-C2")[i % 4] if i % 4 != 3 else "U1-C5")
    w.commit()
    run_detectors(store, channel="portal", only=["insider.case_misuse"])
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.case_misuse")


def test_one_case_lent_to_strangers_is_misuse_despite_shared_casework(store) -> None:
    found = _found(store)
    assert "U1.o1" in found
    details = found["U1.o1"]["details"]
    assert details["one_case_private_people"] == 12
    assert details["unlisted_people"] < 0.5 * details["unlisted_people_all"]


def test_private_strangers_spread_over_cases_are_not_misuse(store) -> None:
    assert "U1.o2" not in _found(store)
