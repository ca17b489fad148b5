"""Interception class 3, ``wrong_period``: a task activated before its warrant's validity, reactivated after the
warrant ended, or running on past the end of it by more than the grace (a late Deactivate or renewal, or none by
the last message ingested).

Known false positives: an input that ends before the Deactivate was exported (the task is judged up to the last
message ingested); a warrant extended without the register being reloaded.

Tunables (under ``interception``, shared by every interception detector): ``grace_seconds``,
``stretch_factor`` (see ``custodiet.oversight.judge``).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.interception.base import judged, task_finding
from custodiet.detect.registry import detector

ID = "interception.wrong_period"
REVISION = 1


@detector(ID, revision=REVISION, severity="high", channel="interception")
def wrong_period(ctx: DetectionContext) -> list[Finding]:
    """One finding per task whose first error is of this class."""
    j = judged(ctx)
    return [task_finding(ID, REVISION, "high", 0.85, v, j.warrants) for v in j.of_class("wrong_period")]
