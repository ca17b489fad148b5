"""Empty answers count against what the same kinds return empty in the unit (bulk revision 6).

Cyber unit ``C`` (five officers) checks identities, subscribers and criminal records every weekday; most
people have no criminal record, so four in five of those checks come back empty. ``C.o0`` .. ``C.o2`` also
look up a couple of one-off strangers on ordinary days. Then:

- ``C.o1`` walks through 200 national ids once each in one morning; a quarter of them belong to nobody
  (revision 5 wanted 30% empty answers, so an enumeration of ids that mostly exist was medium at most);
- ``C.o2`` checks the criminal record of 100 strangers in one day: four in five empty, as every such check
  in the unit (revision 5 counted those empty answers as an enumeration and rated the day high).
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("bulk-empty"))
    w = background(store)
    for o in range(5):
        w.actor(f"C.o{o}", "C", "analyst")
    for d in [d for d in range(60) if day(d).weekday() < 5]:
        for o in range(5):
            for i in range(10):
                person = subj(f"checked-{d}-{o}-{i}")
                w.access(f"C.o{o}", person, day(d, 9 + i % 8, 5), ("identity", "subscriber")[i % 2])
                w.access(f"C.o{o}", person, day(d, 9 + i % 8, 6), "criminal", records=0 if i % 5 else 1)
        if d < 30:
            for who in ("C.o0", "C.o1", "C.o2"):
                for i in range(2):
                    w.access(who, subj(f"one-off-{who}-{d}-{i}"), day(d, 15, i), "identity")
    for i in range(200):
        w.access("C.o1", subj(f"nid-{i}"), day(44, 2 + i // 60, i % 60), "identity", records=0 if i % 4 == 0 else 1)
    for i in range(100):
        w.access("C.o2", subj(f"record-check-{i}"), day(45, 8 + i // 12, i % 60), "criminal",
                 records=0 if i % 5 else 1)
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.bulk")


def test_an_enumeration_of_ids_that_mostly_exist_is_high(store) -> None:
    found = _found(store)
    assert found["C.o1"]["details"]["enumeration"] is True
    assert found["C.o1"]["details"]["routine_empty_share"] < 0.05
    assert found["C.o1"]["severity"] == "high"


def test_record_checks_as_empty_as_the_units_are_not_an_enumeration(store) -> None:
    found = _found(store)
    assert found["C.o2"]["details"]["enumeration"] is False
    assert found["C.o2"]["details"]["routine_empty_share"] > 0.5
    assert found["C.o2"]["severity"] in ("info", "low", "medium")
