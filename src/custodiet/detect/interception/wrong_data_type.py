"""Interception class 4, ``wrong_data_type``: content (X3) under a warrant without content, communications data
(X2) without metadata, location (LALS) without location.

Known false positives: a register that lists fewer kinds than the warrant grants.

Tunables (under ``interception``, shared by every interception detector): ``grace_seconds``,
``stretch_factor`` (see ``custodiet.oversight.judge``).
"""

from __future__ import annotations

from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding
from custodiet.detect.interception.base import judged, task_finding
from custodiet.detect.registry import detector

ID = "interception.wrong_data_type"
REVISION = 1


@detector(ID, revision=REVISION, severity="high", channel="interception")
def wrong_data_type(ctx: DetectionContext) -> list[Finding]:
    """One finding per task whose first error is of this class."""
    j = judged(ctx)
    return [task_finding(ID, REVISION, "high", 0.85, v, j.warrants) for v in j.of_class("wrong_data_type")]
