"""The portal world simulator: units, officers, cases and citizens of a national citizen-data portal,
their legitimate lookups, planted abusers of every kind, leaked samples, and the ground truth.

``generate(PortalConfig(seed=7), out)`` writes, into ``out``: ``access_log.csv`` (the portal log, the
input of ``custodiet ingest portal``), ``actors.csv``, ``cases.csv``, ``case_subjects.csv``,
``protected.csv`` (the context tables), ``leaks/leak_NN.csv`` (samples listed for sale) and
``truth.json`` (who the abusers are, what they did and when, which leak came from whom). The same
config gives byte-identical files. Every person is fake: identifiers are random within the
Bangladeshi formats and belong to nobody on record.

The world runs on local time in Dhaka (UTC+6; weekend Friday and Saturday); the log is in UTC.

In ``truth.json`` each abuser's ``window_start``/``window_end`` are its first and last planted lookup,
``victims`` counts the distinct people it looked up abusively (for enumeration: distinct identifiers
walked, whether or not anybody holds them) and ``events`` its planted lookups (on top of its ordinary
casework, which goes on). A leak's sample only holds people its seller pulled successfully at least
two days before ``listed_at``.
"""

from __future__ import annotations

from typing import Any

from custodiet.simulate.portal.config import ABUSER_KINDS, DEFAULT_ABUSERS, PortalConfig

__all__ = ["ABUSER_KINDS", "DEFAULT_ABUSERS", "PortalConfig", "generate"]


def __getattr__(name: str) -> Any:
    """``generate`` pulls in numpy and the whole world model: imported on first use, not with the CLI."""
    if name == "generate":
        from custodiet.simulate.portal.world import generate

        return generate
    raise AttributeError(name)
