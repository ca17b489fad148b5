"""A stalker returns to the people around the victim too (stalking revision 5, which takes back revision 4).

On the shared background world, ``U2.o2`` looks up the victim on 5 evenings within 9 days, location each
time, and comes back to four people around her (a new partner, two relatives, a colleague) on the same
evenings. Revision 4 weighed each pair by three over the five people returned to, so the victim's pair fell
below high; revision 5 rates it high again.
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
    around = ["new-partner", "mother", "sister", "colleague"]
    for d in range(5):
        w.access("U2.o2", subj("victim"), day(30 + d * 2, 20, 10), "location")
        for i, who in enumerate(around):
            w.access("U2.o2", subj(who), day(30 + d * 2, 21, 5 * i), "location")
    w.commit()
    run_detectors(store, channel="portal", only=["insider.stalking"])
    return store


def test_the_victim_stays_high_beside_the_people_around_her(store) -> None:
    found = {f["subjects"][0]: f for f in load_findings(store)
             if f["detector"] == "insider.stalking" and f["actor"] == "U2.o2"}
    assert len(found) == 5
    assert all(f["severity"] == "high" for f in found.values())
    assert all(f["revision"] == 5 for f in found.values())
