"""Ramp-up: an account whose weekly volume climbs away from its own history (one-sided CUSUM).

What it catches: the slow starter, who begins selling a few records a week and grows, never far enough
above the unit in any one week to trip :mod:`.volume`. Each week's distinct people are divided by the
median of the account's peers (same unit and role) that week, so a busy month for the whole unit is not
a ramp; the log of that ratio is standardised against the account's own first ``baseline_weeks`` active
weeks and fed to an upper CUSUM, S = max(0, S + z - k). An alarm is S ≥ h with the latest level at
least ``min_rise`` × the baseline.

Known false positives: a new officer whose first weeks were training (a low baseline); a move to a busier
desk without a role change in the actors table.

Tunables (``ctx.params["insider.ramp_up"]``): ``baseline_weeks`` (4), ``k`` (0.5), ``h`` (6.0),
``min_rise`` (2.5), ``min_people`` (20) in the peak week, ``sigma_floor`` (0.25, log scale).

The weekly counts are computed in the engine (Ibis); the recursion of CUSUM has no SQL window form, so
it runs over the small per-account weekly series in Python.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import evidence, named, rows, severity_for, squash, weekly
from custodiet.detect.registry import detector

ID = "insider.ramp_up"


def cusum(values: list[float], baseline: int, k: float, sigma_floor: float) -> tuple[float, int, int]:
    """Upper CUSUM of ``values`` against the mean/MAD of the first ``baseline`` of them.

    Returns (peak S, index where the run that reached the peak started, index of the peak).
    """
    base = values[:baseline]
    centre = statistics.median(base)
    spread = max(1.4826 * statistics.median(abs(v - centre) for v in base), sigma_floor)
    s, best, start, best_start, best_at = 0.0, 0.0, baseline, baseline, baseline
    for i in range(baseline, len(values)):
        if s == 0.0:
            start = i
        s = max(0.0, s + (values[i] - centre) / spread - k)
        if s > best:
            best, best_start, best_at = s, start, i
    return best, best_start, best_at


@detector(ID, revision=1, severity="high", channel="portal")
def ramp_up(ctx: DetectionContext) -> list[Finding]:
    """Weekly volume relative to peers, rising against the account's own baseline (upper CUSUM)."""
    p = ctx.params.get(ID, {})
    baseline, k, h = int(p.get("baseline_weeks", 4)), float(p.get("k", 0.5)), float(p.get("h", 6.0))
    min_rise, min_people = float(p.get("min_rise", 2.5)), int(p.get("min_people", 20))
    sigma_floor = float(p.get("sigma_floor", 0.25))
    per = named(weekly(ctx), ctx)
    peer = per.group_by(["org", "role", "week"]).aggregate(peer_med=per.people.median())
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(per.join(peer, ["org", "role", "week"]).order_by(["actor", "week"])):
        series[r["actor"]].append(r)
    ev = evidence(ctx)
    out: list[Finding] = []
    for actor, weeks in series.items():
        if len(weeks) < baseline + 3:
            continue
        ratios = [math.log((w["people"] + 1) / (max(w["peer_med"], 1.0) + 1)) for w in weeks]
        peak, run_start, peak_at = cusum(ratios, baseline, k, sigma_floor)
        base_ratio = math.exp(statistics.median(ratios[:baseline]))
        late = weeks[peak_at]
        rise = math.exp(ratios[peak_at]) / base_ratio
        if peak < h or rise < min_rise or late["people"] < min_people:
            continue
        first = weeks[run_start]
        start, end = first["week"], late["week"] + timedelta(days=7)
        score = squash(peak / h - 1 + math.log(rise), 1.5)
        base_people = statistics.median(w["people"] for w in weeks[:baseline])
        out.append(ev.want(Finding(
            detector=ID, revision=1, actor=actor, subjects=[], window_start=start, window_end=end,
            score=score, severity=severity_for(score, "high"),
            summary=(f"weekly volume climbed from {base_people:.0f} people (first {baseline} weeks) to "
                     f"{late['people']} in the week of {late['week']:%Y-%m-%d}, {rise:.1f}× its own baseline "
                     f"relative to peers in {first['org']}/{first['role']}; CUSUM {peak:.1f} ≥ {h:.0f} over "
                     f"{peak_at - run_start + 1} weeks"),
            event_ids=[],
            details={"cusum": peak, "rise": rise, "baseline_people": base_people,
                     "peak_people": late["people"], "weeks": peak_at - run_start + 1},
        ), late["week"], end))
    return out
