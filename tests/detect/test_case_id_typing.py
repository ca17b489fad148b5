"""Case ids as officers type them: separators vary and neighbouring digits get swapped.

Units ``Y`` and ``Z`` number their cases in one national sequence. ``Y`` works ``CASE/2026/0451``; ``Z``
works ``CASE/2026/0415`` and ``CASE/2026/0452``. On top of the shared background world:

- ``Y.o1`` types its own case as ``case-2026-0451`` for six associates of it (revision 5 of the case
  misuse detector read an id on no case, two characters away from the real one: misuse);
- ``Y.o2`` types ``CASE/2026/0415`` for its own case, swapping two digits, and lands on Z's case (revision
  5: another unit's case, misuse);
- ``Y.o3`` cites Z's ``CASE/2026/0452`` for six strangers: one changed digit, but case numbers run in
  sequence, so that is a borrowed case, still misuse.
"""

from __future__ import annotations

import pytest
from detect_world import background, by_actor, day, subj

from custodiet.detect.run import run_detectors
from custodiet.store import Store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("case-id-typing"))
    w = background(store)
    suspects = [subj(f"y-suspect-{i}") for i in range(3)]
    w.case("CASE/2026/0451", "Y", suspects, opened=day(-10))
    w.case("CASE/2026/0415", "Z", [subj("z-suspect-a")], opened=day(-10))
    w.case("CASE/2026/0452", "Z", [subj("z-suspect-b")], opened=day(-10))
    for o in range(8):
        w.actor(f"Y.o{o}", "Y", "investigator")
        for d in range(0, 60, 3):
            w.access(f"Y.o{o}", suspects[d % 3], day(d, 10), "location", authority="CASE/2026/0451")
    for i in range(6):
        w.access("Y.o1", subj(f"y-associate-{i}"), day(20 + i, 11), "cdr", authority="case-2026-0451")
        w.access("Y.o2", subj(f"y-associate-b-{i}"), day(20 + i, 11), "cdr", authority="CASE/2026/0415")
        w.access("Y.o3", subj(f"y-stranger-{i}"), day(20 + i, 21), "location", authority="CASE/2026/0452")
    w.commit()
    run_detectors(store, channel="portal")
    return store


def _found(store: Store) -> dict[str, dict]:
    return by_actor(store, "insider.case_misuse")


def test_separators_do_not_make_another_case(store) -> None:
    assert "Y.o1" not in _found(store)


def test_swapped_digits_landing_on_another_units_case_are_a_typing_error(store) -> None:
    assert "Y.o2" not in _found(store)


def test_a_case_of_another_unit_one_digit_off_is_still_borrowed(store) -> None:
    found = _found(store)
    assert found["Y.o3"]["details"]["wrong_case_people"] == 6
