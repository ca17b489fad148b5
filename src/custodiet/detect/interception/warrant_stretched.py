"""Interception class 5, ``warrant_stretched``: one warrant used for far more tasks than it lists targets. A
warrant may carry up to ``stretch_factor`` (4) tasks per listed target, since one target is often intercepted
on several network elements; ordered by the first time each named the warrant, the tasks beyond that are
stretched (an unlisted target is class 2, not this).

Known false positives: a target that moves across many network elements legitimately (raise the factor).

Tunables (under ``interception``): ``stretch_factor``, ``grace_seconds`` (see ``custodiet.oversight.judge``).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.interception.base import judged, settings
from custodiet.detect.registry import detector
from custodiet.oversight.judge import Verdict, agency_of

ID = "interception.warrant_stretched"
REVISION = 1
CLASS = "stretched"


@detector(ID, revision=REVISION, severity="medium", channel="interception")
def warrant_stretched(ctx: DetectionContext) -> list[Finding]:
    """One finding per warrant, listing the tasks beyond its allowance."""
    j = judged(ctx)
    factor = settings(ctx)[1]
    by_warrant: dict[str, list[Verdict]] = defaultdict(list)
    for v in j.of_class(CLASS):
        assert v.error is not None
        by_warrant[v.error.stretch.liid or ""].append(v)
    tasks_naming = Counter(liid for t in j.tasks.values() for liid in {s.liid for s in t.stretches})
    found = []
    for wid, vs in sorted(by_warrant.items()):
        w = j.warrants[wid]
        named = tasks_naming[wid]
        errors = [v.error for v in vs if v.error is not None]
        ids = sorted({i for e in errors for m in e.messages for i in m.event_ids})
        found.append(Finding(
            ID, REVISION, agency_of(vs[0], j.warrants), sorted({s for v in vs for _, s in v.task.targets}),
            min(e.stretch.start for e in errors), max(e.stretch.end for e in errors), 0.75, "medium",
            f"warrant {wid} lists {len(w.targets)} target(s) but {named} tasks named it: {len(vs)} beyond the "
            f"allowance of {int(factor * len(w.targets))}", ids,
            details={"xIds": sorted(v.task.xid for v in vs), "warrant": wid, "class": CLASS, "tasks": named,
                     "targets": len(w.targets)}))
    return found
