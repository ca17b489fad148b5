"""Detectors register here; ``run_all`` runs each and keeps every finding.

A detector is data plus one function: an ``id``, a ``revision``, a default ``severity``, a ``channel``
(which events it reads), a docstring (what it catches, known false positives, tunables), and
``run(ctx) -> list[Finding]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from custodiet.detect.findings import Finding


@dataclass(frozen=True)
class Detector:
    id: str
    revision: int
    severity: str
    channel: str  # "portal" for insider detectors (portal, gateway, console), "signalling", ...
    run: Callable[[Any], list[Finding]]
    doc: str


_REGISTRY: dict[str, Detector] = {}


def detector(id: str, revision: int, severity: str, channel: str) -> Callable[[Callable], Callable]:
    """Decorator: register ``run(ctx) -> list[Finding]`` as a detector; its docstring is its doc."""

    def wrap(fn: Callable[[Any], list[Finding]]) -> Callable[[Any], list[Finding]]:
        if id in _REGISTRY:
            raise ValueError(f"detector {id!r} registered twice")
        _REGISTRY[id] = Detector(id, revision, severity, channel, fn, (fn.__doc__ or "").strip())
        return fn

    return wrap


def detectors(channel: str | None = None) -> list[Detector]:
    return [d for d in _REGISTRY.values() if channel is None or d.channel == channel]


def load_all() -> list[Detector]:
    """Import every module under ``custodiet.detect`` so that their detectors register."""
    import importlib
    import pkgutil

    import custodiet.detect as pkg

    for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."):
        importlib.import_module(info.name)
    return detectors()
