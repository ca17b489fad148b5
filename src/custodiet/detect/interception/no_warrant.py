"""Interception class 1, ``no_warrant``: an lIID that names no warrant: interception with no authority at all.

Known false positives: a warrant missing from the loaded table (load the whole register), an lIID typed
differently from the warrant id.

Tunables (under ``interception``, shared by every interception detector): ``grace_seconds``,
``stretch_factor`` (see ``custodiet.oversight.judge``).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.interception.base import judged, task_finding
from custodiet.detect.registry import detector

ID = "interception.no_warrant"
REVISION = 1


@detector(ID, revision=REVISION, severity="critical", channel="interception")
def no_warrant(ctx: DetectionContext) -> list[Finding]:
    """One finding per task whose first error is of this class."""
    j = judged(ctx)
    return [task_finding(ID, REVISION, "critical", 0.95, v, j.warrants) for v in j.of_class("no_warrant")]
