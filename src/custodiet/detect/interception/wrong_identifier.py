"""Interception class 2, ``wrong_identifier``: a target that the task's warrant does not list with the same kind
and value, including one added by a ModifyTaskRequest (the commissioner's most common error, 45% in 2014).

Known false positives: a warrant row for the target missing from the register; a target written in a form that
does not normalise to the listed one.

Tunables (under ``interception``, shared by every interception detector): ``grace_seconds``,
``stretch_factor`` (see ``custodiet.oversight.judge``).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.interception.base import judged, task_finding
from custodiet.detect.registry import detector

ID = "interception.wrong_identifier"
REVISION = 1


@detector(ID, revision=REVISION, severity="high", channel="interception")
def wrong_identifier(ctx: DetectionContext) -> list[Finding]:
    """One finding per task whose first error is of this class."""
    j = judged(ctx)
    return [task_finding(ID, REVISION, "high", 0.9, v, j.warrants) for v in j.of_class("wrong_identifier")]
