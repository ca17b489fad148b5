"""Agencies out of line (class 6): an agency whose share of uncovered tasks stands out from its peers', or
whose activations grow much faster than its warrants.

- **Uncovered share.** An agency's tasks with an error of classes 1–5, against the pooled share of every
  other agency's. It is out of line when its share is at least ``share_ratio`` (3) times the peers' and
  ``share_margin`` (5 points) above it, it has at least ``min_uncovered`` (5) such tasks, and so many would
  arise by chance at the peers' rate with probability below ``p_value`` (1e-3, a one-sided binomial tail)
  divided by the number of agencies compared: every agency is tested, so without that correction a register
  of twelve agencies would name an honest one twelve times as often as a register of one.
  A single error is an inspection's business; a rate that no peer comes near is a habit.
- **Growth.** The input's time span is cut in thirds. Activations in the last third over the first, against
  the warrants the agency was issued (``valid_from``) in the same thirds (each count plus 2, so that small
  numbers do not make large ratios). Out of line when activations grow ``growth_ratio`` (2) times faster
  than warrants, twice as fast as the median peer's, with at least ``min_activations`` (20) in the last
  third: an agency's activations track the warrants it is issued (honest agencies sit near 1, and never
  above 1.4 in the project's own worlds), so twice as many activations on the same paper is a habit, not
  noise. More interception on the same paper is what the commissioner calls a warrant being stretched.

Tasks whose lIID names no warrant belong to no agency (``unknown``) and are not judged here.
Known false positives: an agency that starts a large, legitimately warranted operation late in the period,
with warrants issued before the period began.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from custodiet.context.warrants import Warrant
from custodiet.ingest.interception.messages import ACTIVATE
from custodiet.oversight.judge import UNKNOWN, Verdict, agency_of

DEFAULTS = {"share_ratio": 3.0, "share_margin": 0.05, "min_uncovered": 5, "p_value": 1e-3, "growth_ratio": 2.0,
            "min_activations": 20}


@dataclass
class OutOfLine:
    agency: str
    reasons: list[str] = field(default_factory=list)
    numbers: dict[str, float] = field(default_factory=dict)
    xids: list[str] = field(default_factory=list)  # its uncovered tasks, or its activations in the last third


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
             for i in range(k, n + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def out_of_line(verdicts: dict[str, Verdict], warrants: dict[str, Warrant],
                params: dict[str, float] | None = None) -> list[OutOfLine]:
    p = {**DEFAULTS, **(params or {})}
    by_agency: dict[str, list[Verdict]] = {}
    for v in verdicts.values():
        by_agency.setdefault(agency_of(v, warrants), []).append(v)
    by_agency.pop(UNKNOWN, None)
    found: dict[str, OutOfLine] = {}
    _uncovered_share(by_agency, p, found)
    _growth(by_agency, warrants, p, found)
    return [found[a] for a in sorted(found)]


def _uncovered_share(by_agency: dict[str, list[Verdict]], p: dict[str, float], found: dict[str, OutOfLine]) -> None:
    total = sum(len(v) for v in by_agency.values())
    bad_total = sum(1 for vs in by_agency.values() for v in vs if v.error)
    for agency, vs in by_agency.items():
        n, bad = len(vs), [v for v in vs if v.error]
        if n == total or len(bad) < p["min_uncovered"]:
            continue
        share, peers = len(bad) / n, (bad_total - len(bad)) / (total - n)
        chance = binomial_tail(len(bad), n, max(peers, 1e-3))
        if share >= p["share_ratio"] * peers and share - peers >= p["share_margin"] and \
                chance < p["p_value"] / len(by_agency):
            hit = found.setdefault(agency, OutOfLine(agency))
            hit.reasons.append(f"{len(bad)} of its {n} tasks ({share:.0%}) are not covered by their warrant, "
                               f"against {peers:.1%} of its peers' (chance {chance:.1e})")
            hit.numbers.update(uncovered=len(bad), tasks=n, uncovered_share=round(share, 4),
                               peer_share=round(peers, 4))
            hit.xids += sorted(v.task.xid for v in bad)


def _thirds(start: datetime, end: datetime, moment: datetime) -> int:
    """0, 1 or 2: which third of [start, end] ``moment`` falls in (-1 outside)."""
    if moment < start or moment > end or end <= start:
        return -1
    return min(2, int(3 * (moment - start) / (end - start)))


def _growth(by_agency: dict[str, list[Verdict]], warrants: dict[str, Warrant], p: dict[str, float],
            found: dict[str, OutOfLine]) -> None:
    moments = [m.ts for vs in by_agency.values() for v in vs for m in v.task.messages]
    if not moments:
        return
    start, end = min(moments), max(moments)
    growth: dict[str, tuple[float, int, int, int, int, list[str]]] = {}
    for agency, vs in by_agency.items():
        acts: Counter[int] = Counter()
        late: list[str] = []
        for v in vs:
            for m in v.task.messages:
                if m.kind == ACTIVATE:
                    third = _thirds(start, end, m.ts)
                    acts[third] += 1
                    if third == 2:
                        late.append(v.task.xid)
        issued = Counter(_thirds(start, end, w.valid_from) for w in warrants.values() if w.agency == agency)
        ratio = ((acts[2] + 2) / (acts[0] + 2)) / ((issued[2] + 2) / (issued[0] + 2))
        growth[agency] = (ratio, acts[0], acts[2], issued[0], issued[2], sorted(set(late)))
    for agency, (ratio, a0, a2, w0, w2, late) in growth.items():
        peers = [g[0] for a, g in growth.items() if a != agency]
        typical = median(peers) if peers else 1.0
        if ratio >= p["growth_ratio"] and ratio >= 2 * typical and a2 >= p["min_activations"]:
            hit = found.setdefault(agency, OutOfLine(agency))
            hit.reasons.append(f"its activations went from {a0} to {a2} between the first and last third of the "
                               f"period while its new warrants went from {w0} to {w2}: {ratio:.1f}x faster "
                               f"(its peers' median {typical:.1f}x)")
            hit.numbers.update(growth=round(ratio, 3), peer_growth=round(typical, 3), activations_first=a0,
                               activations_last=a2, warrants_first=w0, warrants_last=w2)
            hit.xids += [x for x in late if x not in hit.xids]
