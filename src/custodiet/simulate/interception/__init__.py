"""The interception world simulator: agencies, their warrants, the X1 tasks an operator's ADMF provisions
for them, planted errors of every class, and the ground truth.

``generate(InterceptionConfig(seed=7), out)`` writes, into ``out``: ``warrants.csv`` (the warrants
context), ``x1.jsonl`` and ``x1.xml`` (the same X1 requests in both forms) and ``truth.json`` (each task's
class, the agencies out of line and the transparency report of every quarter). The same config gives
byte-identical files. Every identifier is invented (drama and test ranges).

The background is ordinary work: most tasks are covered; warrants are renewed and tasks switched onto the
renewal by a Modify; tasks are paused and reactivated within validity, changed by Modify, provisioned on
several network elements, left open at the end, and deactivated minutes late within the grace; the ADMF
sometimes retransmits a request; agencies differ in volume, data kinds, targets per warrant and habits.
Planted among it: tasks of every error class 1-5 (a few percent), and in most seeds one agency out of line
(class 6): its activations outgrow its warrants, or its share of uncovered tasks stands out.
"""

from __future__ import annotations

from typing import Any

from custodiet.simulate.interception.config import InterceptionConfig

__all__ = ["InterceptionConfig", "generate"]


def __getattr__(name: str) -> Any:
    """``generate`` pulls in the whole world model: imported on first use, not with the CLI."""
    if name == "generate":
        from custodiet.simulate.interception.world import generate

        return generate
    raise AttributeError(name)
