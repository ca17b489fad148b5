"""The integer time helpers of the insider tables: epoch days, weekly slots, ISO weeks (all UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import pytest

from custodiet.detect.insider.base import day_start, epoch_day, hour_slot, kind_code, week_of_day
from custodiet.events import DATA_KINDS


def _eval(ts: datetime) -> dict:
    t = ibis.memtable({"ts": [ts]}).mutate(ts=ibis._.ts.cast("timestamp('UTC')"))
    t = t.mutate(day=epoch_day(t.ts), slot=hour_slot(t.ts))
    t = t.mutate(week=day_start(week_of_day(t.day), t.ts))
    return ibis.duckdb.connect().to_pyarrow(t).to_pylist()[0]


@pytest.mark.parametrize(("ts", "day", "slot", "monday"), [
    # A Sunday just before midnight: weekend slot 23 + 24; its ISO week began on Monday 30 March.
    (datetime(2026, 4, 5, 23, 59, 59, 600000, tzinfo=UTC), 20548, 47, datetime(2026, 3, 30, tzinfo=UTC)),
    # Half a second before 04h stays in the 03h slot (a rounding epoch would move it to 04h).
    (datetime(2026, 4, 6, 3, 59, 59, 600000, tzinfo=UTC), 20549, 3, datetime(2026, 4, 6, tzinfo=UTC)),
    # Saturday 00:00 is the first weekend slot.
    (datetime(2026, 4, 11, 0, 0, tzinfo=UTC), 20554, 24, datetime(2026, 4, 6, tzinfo=UTC)),
    # The epoch itself was a Thursday.
    (datetime(1970, 1, 1, 12, 0, tzinfo=UTC), 0, 12, datetime(1969, 12, 29, tzinfo=UTC)),
])
def test_day_slot_and_week(ts: datetime, day: int, slot: int, monday: datetime) -> None:
    got = _eval(ts)
    assert got["day"] == day
    assert got["slot"] == slot
    assert got["week"] == monday


def test_kind_codes_follow_the_vocabulary() -> None:
    assert [kind_code(k) for k in DATA_KINDS] == list(range(len(DATA_KINDS)))
    with pytest.raises(ValueError, match="nonsense"):
        kind_code("nonsense")
