"""Times as integers for the insider tables: epoch days, hour slots in the week, ISO weeks.

Calendar functions on zoned timestamps are several times slower in the engine than integer arithmetic on
the epoch, and the store's times are UTC (and after 1970), so the shared tables key time by these.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


@ibis.udf.scalar.builtin(name="epoch_us")
def epoch_us(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's ``epoch_us``: microseconds since 1970 read straight off the zoned timestamp.

    A backend builtin rather than Ibis's ``epoch_seconds()``: Ibis compiles that to
    ``CAST(EPOCH(CAST(ts AS TIMESTAMP)) AS BIGINT)``; DuckDB converts every zoned timestamp through the ICU
    calendar for the inner cast (about 5 s per 20M rows, against under 1 s for ``epoch_us``), and the
    outer cast rounds to the nearest second, so 03:59:59.6 fell in the 04h slot. On another backend,
    swap this one function.
    """


@ibis.udf.scalar.builtin(name="divide")
def _quot(a: dt.int64, b: dt.int64) -> dt.int64:
    """DuckDB's integer division (``a // b``, truncating). Ibis compiles ``//`` to ``FLOOR(a / b)`` through
    a double, which costs seconds over 20M rows; for the non-negative epochs of the store (times after
    1970) truncating and flooring agree. On another backend, swap this one function."""


def epoch_day(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Days since 1970-01-01 (UTC) as an integer: calendar functions on zoned timestamps are several
    times slower than integer arithmetic on the epoch, and the store's times are UTC (and after 1970)."""
    return _quot(epoch_us(ts), 86_400_000_000).cast("int32")


def hour_slot(ts: ir.TimestampValue) -> ir.IntegerValue:
    """The slot of a time in the week: hour of day (UTC), plus 24 on Saturdays and Sundays (0..47).

    Day 0 (1970-01-01) was a Thursday, so (day + 3) % 7 is 0 on Mondays and 5, 6 at the weekend."""
    hours = _quot(epoch_us(ts), 3_600_000_000)
    weekend = ((_quot(hours, 24) + 3) % 7) >= 5
    return (hours % 24 + ibis.ifelse(weekend, 24, 0)).cast("int8")


def week_of_day(day: ir.IntegerValue) -> ir.IntegerValue:
    """The ISO week (Monday 00:00 UTC) of an epoch day, as the epoch day of that Monday.

    Day 0 (1970-01-01) was a Thursday, so Mondays are the days with (day + 3) % 7 == 0."""
    return (day - (day + 3) % 7).cast("int32")


def day_start(day: ir.IntegerValue, like: ir.TimestampValue) -> ir.TimestampValue:
    """The timestamp (type of ``like``) at 00:00 UTC of an epoch day; for small aggregated tables."""
    return (day.cast("int64") * 86400).as_timestamp("s").cast(like.type())
