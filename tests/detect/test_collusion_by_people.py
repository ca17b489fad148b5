"""An order split by people (collusion revision 2).

On the shared background world:

- ``U1.o4`` and ``U2.o4`` (two units) each pull location and call records on twelve strangers of their own,
  nobody else looking them up, over ten days starting the same week: each half of one order (revision 1
  saw only splits by data kind);
- ``U3.o4`` pulls the same package on twelve strangers of its own, starting four weeks later: a seller of its
  own, no partner;
- ``U3.o5`` pulls it on twelve strangers spread over eight weeks, starting with the pair: a habit, not an
  order filled in one go.
"""

from __future__ import annotations

import pytest
from detect_world import background, day, subj

from custodiet.detect.run import load_findings, run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("collusion-by-people"))
    w = background(store)
    for i in range(12):
        for who, first, step in (("U1.o4", 30, 0.8), ("U2.o4", 31, 0.8), ("U3.o4", 58, 0.8), ("U3.o5", 30, 5)):
            person = subj(f"{who}-target-{i}")
            d = first + int(i * step)
            w.access(who, person, day(d, 19, i), "location")
            w.access(who, person, day(d, 19, i + 2), "cdr")
    w.commit()
    run_detectors(store, channel="portal", only=["insider.collusion"])
    return store


def _by_people(store: Store) -> list[dict]:
    return [f for f in load_findings(store) if f["detector"] == "insider.collusion"
            and f["details"].get("split") == "people"]


def test_two_halves_of_one_order_are_named_together(store) -> None:
    found = _by_people(store)
    assert [sorted(f["actors"]) for f in found] == [["U1.o4", "U2.o4"]]
    assert found[0]["details"]["halves"] == [12, 12]


def test_a_seller_alone_or_a_habit_is_no_half_of_an_order(store) -> None:
    named = {a for f in _by_people(store) for a in f["actors"]}
    assert not {"U3.o4", "U3.o5"} & named
