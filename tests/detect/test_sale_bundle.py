"""The data-for-sale detector's sittings: a package is pulled in one burst, on people nobody else looked up.

Three accounts of three units act on top of the shared background world (each unit's peers stay clean):

- ``U1.o1`` looks up location, CDR, IMEI and travel of four different strangers inside one clock hour on six
  days, a lookup every 12 minutes: casework-like scatter, not a package (a clock-hour session saw a bundle);
- ``U3.o2`` pulls six tight packages, but half of each package's identifiers (its IMEI and travel lookups)
  are people a colleague also looked up: associates that casework shares, not strangers sold;
- ``U2.o3`` harvests one package every two minutes for three hours in one night: one unbroken burst, which
  counts as one sitting per clock hour (three), so a long harvest is not a single sitting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store

SALE = ("location", "cdr", "imei", "travel")


def _scatter(w, actor: str) -> None:
    for d in range(6):
        for k, kind in enumerate(SALE):
            w.access(actor, subj(f"scatter{d}-{kind}"), day(36 + d, 15, 2 + k * 12), kind)


def _shared(w, actor: str, colleague: str) -> None:
    for d in range(6):
        for k, kind in enumerate(SALE):
            person = subj(f"shared{d}-{kind}")
            w.access(actor, person, day(36 + d, 11, 5 + k), kind)
            if kind in ("imei", "travel"):  # a colleague pulls the same identifier another day, no case either
                w.access(colleague, person, day(44 + d, 14), kind)


def _harvest(w, actor: str) -> list[datetime]:
    times = []
    for i in range(90):
        t0 = day(46, 1, 0) + timedelta(minutes=2 * i)
        for k, kind in enumerate(SALE):
            w.access(actor, subj(f"harvest{i}-{kind}"), t0 + timedelta(seconds=20 * k), kind)
        times.append(t0)
    return times


@pytest.fixture(scope="module")
def bundle_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("bundles"))
    w = background(store)
    _scatter(w, "U1.o1")
    _shared(w, "U3.o2", "U3.o3")
    _harvest(w, "U2.o3")
    w.commit()
    run_detectors(store, only=["insider.sale_bundle"])
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.sale_bundle")


def test_scattered_lookups_in_one_hour_are_not_a_package(bundle_store: Store) -> None:
    assert "U1.o1" not in _found(bundle_store)


def test_packages_on_people_colleagues_also_looked_up_are_not_sold(bundle_store: Store) -> None:
    assert "U3.o2" not in _found(bundle_store)


def test_a_long_harvest_counts_one_sitting_per_hour(bundle_store: Store) -> None:
    found = _found(bundle_store)
    assert set(found) == {"U2.o3"}
    f = found["U2.o3"]
    assert f["details"]["sessions"] == 3
    assert "in 3 sittings" in f["summary"]


def test_the_gap_is_a_tunable(tmp_path) -> None:
    """With a pause of 15 minutes allowed, the 12-minute scatter becomes one sitting per day (flagged)."""
    store = Store(tmp_path)
    w = background(store)
    _scatter(w, "U1.o1")
    w.commit()
    run_detectors(store, only=["insider.sale_bundle"], params={"insider.sale_bundle": {"gap_minutes": 15}})
    assert set(_found(store)) == {"U1.o1"}
    assert _found(store)["U1.o1"]["details"]["sessions"] == 6
