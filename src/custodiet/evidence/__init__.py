"""Evidence bundles: a case, its findings, every event behind them with an RFC 9162 inclusion proof against
one signed tree head, and a readable report (HTML and PDF), in one zip that anyone can check offline.

Python entry points: ``export_bundle(store, case_id, out) -> Exported`` and
``verify_bundle(path, public_key=None) -> BundleResult`` (needs no store). The layout and the event's JSON
form are in ``bundle``; ``docs/evidence.md`` tells a court or an oversight body how to check a bundle with
a few lines of their own code.
"""

from __future__ import annotations

from custodiet.evidence.export import EvidenceError, Exported, export_bundle
from custodiet.evidence.report import ChromiumError
from custodiet.evidence.verify import BundleError, BundleResult, verify_bundle

__all__ = ["BundleError", "BundleResult", "ChromiumError", "EvidenceError", "Exported", "export_bundle",
           "verify_bundle"]
