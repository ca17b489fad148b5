"""A seller's ramp is a climb in what sells (ramp-up revision 4).

On the shared background world, two accounts of unit ``U2`` look up strangers growing 60% a week from the
fifth week on:

- ``U2.o1`` pulls their location and call records: a ramp-up of a seller, rated as before (medium or high);
- ``U2.o3`` checks their identity and subscriber: a workload growing (a verification desk's heaviest operator,
  or an officer handed a list); revision 3 rated it exactly like the seller.
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("ramp-up-sale"))
    w = background(store)
    n = 0
    for wk in range(4, 10):
        for i in range(int(8 * 1.6 ** (wk - 3))):
            n += 1
            ts = day(wk * 7 + i % 5, 9 + i % 8, i % 60)
            w.access("U2.o1", subj(f"sold{n}"), ts, ("location", "cdr")[i % 2])
            w.access("U2.o3", subj(f"checked{n}"), ts, ("identity", "subscriber")[i % 2])
    w.commit()
    run_detectors(store, channel="portal", only=["insider.ramp_up"])
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.ramp_up")


def test_a_climb_in_what_sells_is_a_ramp_up(store) -> None:
    found = _found(store)["U2.o1"]
    assert found["severity"] in ("medium", "high")
    assert found["details"]["sale_share"] > 0.9


def test_a_climb_in_identity_checks_is_low_at_most(store) -> None:
    found = _found(store)["U2.o3"]
    assert found["details"]["sale_share"] < 0.1
    assert found["severity"] in ("info", "low")
