"""Daily lookup limits relative to peers: an account may do at most ``factor`` times its unit's and role's
normal daily volume in one UTC day, and never less than ``floor``.

The normal volume is the median, over the accounts of that unit and role and the days each of them worked
(looked something up), of their daily lookups on the portal and gateway channels in the ``window_days``
before the newest event. Days an account did not work are left out: part-time accounts would otherwise
pull the median to zero. Defaults: factor 5, floor 200 a day (an officer's busiest honest day is a few
times the usual one; the floor keeps a new unit, or one with no history, working).

Counts are kept in memory and start from the gateway's own allowed lookups of the day already in the
ledger, so a restart does not hand out a fresh allowance. ``take`` checks and counts in one step with no
await in between: on the gateway's single event loop no lookup over the limit is let through, however many
arrive at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from custodiet.store import Store

FACTOR = 5.0
FLOOR = 200
WINDOW_DAYS = 30


@dataclass
class DailyLimits:
    factor: float = FACTOR
    floor: int = FLOOR
    normal: dict[tuple[str | None, str | None], float] = field(default_factory=dict)  # (org, role) -> median
    used: dict[tuple[str, date], int] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: Store, accounts: dict[str, tuple[str | None, str | None]], today: date,
                   factor: float = FACTOR, floor: int = FLOOR, window_days: int = WINDOW_DAYS) -> DailyLimits:
        limits = cls(factor, floor)
        if not store.segment_paths():
            return limits
        con = store.connect()
        try:
            con.register("accounts", _accounts_table(accounts))
            rows = con.execute(
                f"""WITH recent AS (SELECT actor, ts FROM events WHERE channel IN ('portal', 'gateway')
                                     AND ts > (SELECT max(ts) FROM events) - INTERVAL {int(window_days)} DAY),
                         daily AS (SELECT actor, CAST(ts AS DATE) AS day, count(*) AS n FROM recent GROUP BY ALL)
                    SELECT a.org, a.role, median(d.n) FROM daily d JOIN accounts a USING (actor) GROUP BY ALL"""
            ).fetchall()
            limits.normal = {(org, role): float(m) for org, role, m in rows}
            for actor, n in con.execute(
                    "SELECT actor, count(*) FROM events WHERE channel = 'gateway' AND outcome = 'allowed' "
                    "AND CAST(ts AS DATE) = ? GROUP BY actor", [today]).fetchall():
                limits.used[(actor, today)] = int(n)
        finally:
            con.close()
        return limits

    def limit(self, org: str | None, role: str | None) -> int:
        normal = self.normal.get((org, role))
        return max(self.floor, int(self.factor * normal)) if normal is not None else self.floor

    def take(self, actor: str, org: str | None, role: str | None, day: date) -> tuple[bool, int, int]:
        """Count one lookup for ``actor`` on ``day`` if it is within the limit: (allowed, used, limit)."""
        key, cap = (actor, day), self.limit(org, role)
        used = self.used.get(key, 0)
        if used >= cap:
            return False, used, cap
        self.used[key] = used + 1
        if len(self.used) > 100_000:  # yesterday's counters are of no use
            for old in [k for k in self.used if k[1] < day]:
                del self.used[old]
        return True, used + 1, cap

    def give_back(self, actor: str, day: date) -> None:
        """Uncount a lookup that was counted but not made (refused afterwards, or failed)."""
        key = (actor, day)
        if self.used.get(key, 0) > 0:
            self.used[key] -= 1


def _accounts_table(accounts: dict[str, tuple[str | None, str | None]]) -> pa.Table:
    return pa.table({"actor": list(accounts), "org": [o for o, _ in accounts.values()],
                     "role": [r for _, r in accounts.values()]}, schema=pa.schema(
        [("actor", pa.string()), ("org", pa.string()), ("role", pa.string())]))
