"""The world's calendar: local days (Asia/Dhaka, UTC+6) mapped to UTC milliseconds.

Officers work on local time; the portal logs UTC. Day ``d`` is the ``d``-th local day of the world
(0-based); negative days lie before it (for cases opened earlier).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from custodiet.simulate.portal.config import LOCAL_UTC_OFFSET_H, WEEKEND

DAY_MS = 86_400_000
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Clock:
    first_day: date
    days: int

    @classmethod
    def ending(cls, end: date, days: int) -> Clock:
        return cls(end - timedelta(days=days - 1), days)

    @property
    def start(self) -> datetime:
        """UTC instant of the first local midnight."""
        return datetime(self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC) - timedelta(
            hours=LOCAL_UTC_OFFSET_H)

    def day_start_ms(self, day: np.ndarray | int) -> np.ndarray:
        base = int(self.start.timestamp()) * 1000
        return base + np.asarray(day, dtype=np.int64) * DAY_MS

    @staticmethod
    def local_minutes_ms(minutes: np.ndarray | int) -> np.ndarray:
        return np.asarray(minutes, dtype=np.int64) * MINUTE_MS

    def weekday(self) -> np.ndarray:
        """Monday = 0 for each day of the world."""
        return (self.first_day.weekday() + np.arange(self.days)) % 7

    def weekend(self) -> np.ndarray:
        return np.isin(self.weekday(), WEEKEND)

    def local_day_of(self, t_ms: np.ndarray) -> np.ndarray:
        return (np.asarray(t_ms) - self.day_start_ms(0)) // DAY_MS

    @staticmethod
    def iso(t_ms: int) -> str:
        return datetime.fromtimestamp(t_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def date_of(self, t_ms: int) -> date:
        """The local calendar date of an instant."""
        return self.first_day + timedelta(days=int(self.local_day_of(np.array([t_ms]))[0]))
