"""An obsession has few objects (stalking revision 4).

On the shared background world:

- ``U2.o2`` looks up one person on 8 evenings within 10 days, location each time: a stalker, high;
- ``U1.o1`` looks up each of eight people (the associates of a suspect whose case is not loaded) on 8 evenings
  within 10 days, location each time: one account returning to eight people is working an unlisted case
  (revision 3 rated every one of those pairs high, like eight obsessions).
"""

from __future__ import annotations

import pytest
from detect_world import background, day, subj

from custodiet.detect.run import load_findings, run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("stalking-breadth"))
    w = background(store)
    for d in range(8):
        w.access("U2.o2", subj("ex-partner"), day(30 + (d * 10) // 8, 20, 10), "location")
        for i in range(8):
            w.access("U1.o1", subj(f"associate-{i}"), day(30 + (d * 10) // 8, 20, 5 * i), "location")
    w.commit()
    run_detectors(store, channel="portal", only=["insider.stalking"])
    return store


def _pairs(store: Store, actor: str) -> list[dict]:
    return [f for f in load_findings(store) if f["detector"] == "insider.stalking" and f["actor"] == actor]


def test_one_person_followed_on_eight_evenings_is_high(store) -> None:
    (found,) = _pairs(store, "U2.o2")
    assert found["severity"] == "high"
    assert found["details"]["people_returned_to"] == 1


def test_eight_people_returned_to_alike_are_no_obsession_each(store) -> None:
    found = _pairs(store, "U1.o1")
    assert len(found) == 8
    assert all(f["details"]["people_returned_to"] == 8 for f in found)
    assert all(f["severity"] != "high" for f in found)
