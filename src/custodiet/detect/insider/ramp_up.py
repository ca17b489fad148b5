"""Ramp-up: an account whose weekly unexplained volume climbs away from its own history (upper CUSUM).

What it catches: the slow starter, who begins selling a few records a week and grows, never far enough
above the unit in any one week to trip :mod:`.volume`. Each whole week's distinct *unexplained* people
(no open case of the unit covers them: extra casework on the unit's cases is not a ramp) are divided by
the median of the account's peers (same unit and role) that week, so a busy month for the whole unit is
not a ramp; the log of that ratio is standardised against the account's own first ``baseline_weeks``
weeks and fed to an upper CUSUM, S = max(0, S + z - k). An alarm is S ≥ h over at least two weeks, with
the level of the last ``recent_weeks`` still at least ``min_rise`` × the baseline (a burst that ended is
left to the other detectors).

Peers are taken per week from the unit the account worked in that week (the events' unit), so a move to a
busier desk compares the new weeks with the new desk (revision 3; revision 2 used the unit the actors table
lists now for every week). A role with fewer than ``min_group`` accounts in the unit that week is compared
with the whole unit. A desk move is a step, not a climb: only the weeks since the account's last move
count, and their first ``baseline_weeks`` are its baseline (an account that moved too recently to have a
baseline at its new desk is left to the peer comparisons of :mod:`.volume` and :mod:`.bulk`).

A seller's ramp is a climb in what sells. A verification cell's heaviest operators check ever more strangers'
identities as their workload grows (volumes there are heavy-tailed and every lookup is on no case), which is
no ramp of abuse: revision 4 rates a climb low at most when under ``min_sale_share`` of the account's
unexplained lookups during the climb are of a kind that sells (location, call records, IMEI, travel).

Known false positives: a new officer whose first weeks were training (a low baseline); a move to a busier
desk with the same unit name (a new role inside the unit that the actors table does not show).

Tunables (``ctx.params["insider.ramp_up"]``): ``baseline_weeks`` (4), ``k`` (0.5), ``h`` (6.0),
``min_rise`` (2.5), ``min_people`` (20) in the peak week, ``sigma_floor`` (0.25, log scale),
``recent_weeks`` (3), ``min_group`` (4) accounts of a role in a unit that week, else the whole unit is
the peer group (the same rule as :mod:`.peers`), ``min_sale_share`` (0.1: one lookup in ten of a kind that sells
is far below any seller's share and above a desk that never pulls them).

The weekly counts are computed in the engine (Ibis); the recursion of CUSUM has no SQL window form, so
it runs over the small per-account weekly series in Python.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import timedelta
from typing import Any

import ibis

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.insider.base import (
    accesses,
    actors,
    evidence,
    is_sale,
    rows,
    severity_for,
    squash,
    unit_names,
    weekly,
)
from custodiet.detect.insider.peers import MAD_TO_SIGMA
from custodiet.detect.registry import detector

ID = "insider.ramp_up"


def cusum(values: list[float], baseline: int, k: float, sigma_floor: float) -> tuple[float, int, int]:
    """Upper CUSUM of ``values`` against the median/MAD of the first ``baseline`` of them.

    Returns (peak S, index where the run that reached the peak started, index of the peak).
    """
    base = values[:baseline]
    centre = statistics.median(base)
    spread = max(MAD_TO_SIGMA * statistics.median(abs(v - centre) for v in base), sigma_floor)
    s, best, start, best_start, best_at = 0.0, 0.0, baseline, baseline, baseline
    for i in range(baseline, len(values)):
        if s == 0.0:
            start = i
        s = max(0.0, s + (values[i] - centre) / spread - k)
        if s > best:
            best, best_start, best_at = s, start, i
    return best, best_start, best_at


REVISION = 4


def _since_last_move(weeks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The account's weeks in the unit it works in now (its last run of weeks in one unit): a move to
    another desk is a step, not a climb, and the baseline is the first weeks at the new desk."""
    i = len(weeks)
    while i > 0 and weeks[i - 1]["unit"] == weeks[-1]["unit"]:
        i -= 1
    return weeks[i:]


@detector(ID, revision=REVISION, severity="high", channel="portal")
def ramp_up(ctx: DetectionContext) -> list[Finding]:
    """Weekly volume relative to peers, rising against the account's own baseline (upper CUSUM)."""
    if ctx.now is None:
        return []
    p = ctx.params.get(ID, {})
    baseline, k, h = int(p.get("baseline_weeks", 4)), float(p.get("k", 0.5)), float(p.get("h", 6.0))
    min_rise, min_people = float(p.get("min_rise", 2.5)), int(p.get("min_people", 20))
    sigma_floor, recent = float(p.get("sigma_floor", 0.25)), int(p.get("recent_weeks", 3))
    min_group = int(p.get("min_group", 4))
    min_sale_share = float(p.get("min_sale_share", 0.1))
    w = weekly(ctx)
    # Peers are the accounts of the unit the account worked in *that week* (officers move desks: a move
    # into a verification cell is a new desk, not a ramp), with the same role.
    per = w.join(actors(ctx).select("aid", "actor", "role"), "aid").select(
        "aid", "actor", "role", "week", unit="w_oid", people="u_people")
    # A (unit, role) group smaller than ``min_group`` that week falls back to the whole unit, as in
    # :mod:`.peers` (a moved officer is often the only one of its role in its old unit).
    fine = per.group_by(["unit", "role", "week"]).aggregate(g_med=per.people.median(), g_n=per.count())
    coarse = per.group_by(["unit", "week"]).aggregate(f_med=per.people.median())
    peer = fine.join(coarse, ["unit", "week"])
    peer = peer.select("unit", "role", "week",
                       peer_med=ibis.ifelse(peer.g_n >= min_group, peer.g_med, peer.f_med).cast("float64"))
    names = unit_names(ctx)
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    # Whole weeks only: a week cut by the start or end of the data would look like a jump or a drop.
    first_week = rows(per.aggregate(w=per.week.min()))[0]["w"]
    whole = per.filter((per.week > first_week) & (per.week + ibis.interval(days=7) <= ctx.now))
    for r in rows(whole.join(peer, ["unit", "role", "week"]).order_by(["actor", "week"])):
        series[r["actor"]].append(r)
    found: list[dict[str, Any]] = []
    for actor, weeks in series.items():
        weeks = _since_last_move(weeks)
        if len(weeks) < baseline + 3:
            continue
        ratios = [math.log((w["people"] + 1) / (max(w["peer_med"], 1.0) + 1)) for w in weeks]
        peak, run_start, peak_at = cusum(ratios, baseline, k, sigma_floor)
        base_ratio = math.exp(statistics.median(ratios[:baseline]))
        late = weeks[peak_at]
        rise = math.exp(ratios[peak_at]) / base_ratio
        now_rise = math.exp(statistics.median(ratios[-recent:])) / base_ratio
        if peak < h or rise < min_rise or late["people"] < min_people or peak_at == run_start \
                or now_rise < min_rise:
            continue
        found.append({"aid": late["aid"], "actor": actor, "late": late, "start": weeks[run_start]["week"],
                      "end": late["week"] + timedelta(days=7), "peak": peak, "rise": rise,
                      "weeks": peak_at - run_start + 1,
                      "base_people": statistics.median(w["people"] for w in weeks[:baseline])})
    sale = _sale_shares(ctx, found)
    ev = evidence(ctx)
    out: list[Finding] = []
    for r in found:
        late, start, end, peak, rise = r["late"], r["start"], r["end"], r["peak"], r["rise"]
        sale_share = sale.get(r["aid"], 0.0)
        score = squash(peak / h - 1 + math.log(rise), 1.5)
        out.append(ev.want(Finding(
            detector=ID, revision=REVISION, actor=r["actor"], subjects=[], window_start=start, window_end=end,
            score=score, severity=severity_for(score, "high" if sale_share >= min_sale_share else "low"),
            summary=(f"weekly unexplained lookups climbed from {r['base_people']:.0f} people (first {baseline} "
                     f"weeks) to {late['people']} in the week of {late['week']:%Y-%m-%d}, {rise:.1f}× its own "
                     f"baseline relative to peers in {names.get(late['unit'], '?')}/{late['role']}; CUSUM "
                     f"{peak:.1f} ≥ {h:.0f} over {r['weeks']} weeks; {sale_share:.0%} of the unexplained lookups "
                     f"of the climb for kinds that sell"),
            event_ids=[],
            details={"cusum": peak, "rise": rise, "baseline_people": r["base_people"],
                     "peak_people": late["people"], "weeks": r["weeks"], "sale_share": sale_share},
        ), late["week"], end))
    return out


def _sale_shares(ctx: DetectionContext, found: list[dict[str, Any]]) -> dict[int, float]:
    """Per climbing account: the share of its unexplained lookups during the climb that are of a kind that
    sells (location, call records, IMEI, travel)."""
    if not found:
        return {}
    a = accesses(ctx)
    span = ibis.memtable([{"aid": r["aid"], "s": r["start"], "e": r["end"]} for r in found],
                         schema={"aid": "int32", "s": "timestamp('UTC')", "e": "timestamp('UTC')"})
    u = a.filter(a.unexpl).join(span, "aid")
    u = u.filter((u.ts >= u.s) & (u.ts < u.e))
    got = u.group_by("aid").aggregate(n=u.count(), sale=u.count(where=is_sale(u.kind)))
    return {r["aid"]: r["sale"] / r["n"] for r in rows(got) if r["n"]}
