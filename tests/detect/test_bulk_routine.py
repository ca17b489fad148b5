"""A harvest is of what sells beyond the unit's routine: a border desk checks travel all day.

Border desk ``B`` (five officers) checks travellers every weekday: travel history, then identity, for each.
``B.o1`` and ``B.o2`` also look up a couple of one-off strangers on ordinary days. Then:

- ``B.o1`` checks 100 travellers once each in one day, half of them for travel: a busy day of the desk's
  own work (revision 4 of the bulk detector called it a high harvest, half of it being "what sells");
- ``B.o2`` pulls the location of 100 strangers in one day: a harvest, still high.
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("bulk-routine"))
    w = background(store)
    for o in range(5):
        w.actor(f"B.o{o}", "B", "immigration_officer")
    for d in [d for d in range(60) if day(d).weekday() < 5]:
        for o in range(5):
            for i in range(10):
                person = subj(f"traveller-{d}-{o}-{i}")
                w.access(f"B.o{o}", person, day(d, 9 + i % 8, 5), "travel")
                w.access(f"B.o{o}", person, day(d, 9 + i % 8, 6), "identity")
        if d < 30:
            for who in ("B.o1", "B.o2"):
                for i in range(2):
                    w.access(who, subj(f"one-off-{who}-{d}-{i}"), day(d, 15, i), "identity")
    for i in range(100):
        w.access("B.o1", subj(f"busy-day-{i}"), day(44, 8 + i // 12, i % 60), ("travel", "identity")[i % 2])
        w.access("B.o2", subj(f"harvest-{i}"), day(45, 8 + i // 12, i % 60), "location")
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.bulk")


def test_a_busy_day_of_the_desks_own_kind_is_not_a_high_harvest(store) -> None:
    found = _found(store)
    assert found["B.o1"]["severity"] in ("low", "medium")
    assert found["B.o1"]["details"]["sale_share"] == 0.5


def test_a_harvest_of_what_the_desk_never_pulls_is_high(store) -> None:
    found = _found(store)
    assert found["B.o2"]["severity"] == "high"
    assert 0.3 < found["B.o2"]["details"]["unit_sale_share"] < 0.6
