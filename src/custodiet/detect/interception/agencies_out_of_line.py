"""Interception class 6, ``agencies_out_of_line``: an agency whose share of uncovered tasks stands out from its
peers', or whose activations grow much faster than its warrants (see ``custodiet.oversight.agencies`` for the
tests, their thresholds and why).

Known false positives: an agency that starts a large, legitimately warranted operation late in the period on
warrants issued before it began; a small agency with one bad month.

Tunables (``ctx.param("interception.agencies_out_of_line", ...)``): ``share_ratio``, ``share_margin``,
``min_uncovered``, ``p_value``, ``growth_ratio``, ``min_activations``.
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.interception.base import judged
from custodiet.detect.registry import detector
from custodiet.oversight.agencies import DEFAULTS, out_of_line

ID = "interception.agencies_out_of_line"
REVISION = 2
EVIDENCE_LIMIT = 500  # event ids kept in one finding; the task ids are all listed


@detector(ID, revision=REVISION, severity="medium", channel="interception")
def agencies_out_of_line(ctx: DetectionContext) -> list[Finding]:
    """One finding per agency out of line, with the tasks that put it there."""
    j = judged(ctx)
    params = {k: float(ctx.param(ID, k, v)) for k, v in DEFAULTS.items()}
    found = []
    for hit in out_of_line(j.verdicts, j.warrants, params):
        tasks = [j.tasks[x] for x in hit.xids]
        ids = sorted({i for t in tasks for m in t.messages for i in m.event_ids})[:EVIDENCE_LIMIT]
        moments = [m.ts for t in tasks for m in t.messages]
        found.append(Finding(ID, REVISION, hit.agency, sorted({s for t in tasks for _, s in t.targets}),
                             min(moments), max(moments), 0.7, "medium",
                             f"agency {hit.agency}: " + "; ".join(hit.reasons), ids,
                             details={"xIds": hit.xids, **hit.numbers}))
    return found
