"""A hijacked account in office hours: lookups from an internet address by an account that works from the
intranet.

On top of the shared background world (every investigator works from ``10.0.0.1``):

- ``U2.o4``'s credentials are used from ``37.1.2.3`` on one afternoon for 45 strangers (revision 2 of the
  new-client detector called a new address in office hours low, whatever it was);
- ``U3.o3`` moves to a new internal workstation, ``10.0.5.5``, and looks up 30 strangers from it: a new
  desk, still low.
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("new-client-internet"))
    w = background(store)
    for i in range(45):
        w.access("U2.o4", subj(f"taken-{i}"), day(44, 13 + i // 20, i % 60), ("location", "cdr")[i % 2],
                 client_ip="37.1.2.3")
    for i in range(30):
        w.access("U3.o3", subj(f"new-desk-{i}"), day(45, 10 + i // 10, i), "identity", client_ip="10.0.5.5")
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.new_client")


def test_an_internet_address_for_an_intranet_account_is_a_takeover(store) -> None:
    found = _found(store)
    assert found["U2.o4"]["severity"] == "high"
    assert found["U2.o4"]["details"]["internet_address"] is True
    assert "takeover" in found["U2.o4"]["summary"]


def test_a_new_internal_workstation_stays_low(store) -> None:
    found = _found(store)
    assert found["U3.o3"]["severity"] in ("info", "low")
    assert found["U3.o3"]["details"]["internet_address"] is False
