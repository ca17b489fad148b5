"""Run every registered detector over the store and keep the findings under ``<home>/findings/``.

``findings.parquet`` (``FINDING_SCHEMA``) holds the findings of the latest run, ``run.json`` what ran:
detector ids and revisions, their channel, how many findings, seconds, and any error. Both are replaced
atomically at the end of a run, so a reader sees the previous run or the new one, never a mix. A detector
that fails does not stop the others; its error is recorded and the run reports it.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from custodiet import atomic
from custodiet.detect import registry
from custodiet.detect.context import DetectionContext
from custodiet.detect.findings import Finding, findings_table
from custodiet.detect.insider import base as insider_base
from custodiet.detect.risk import TIERS
from custodiet.store import Store


def findings_dir(store: Store) -> Path:
    return store.home / "findings"


def findings_path(store: Store) -> Path:
    return findings_dir(store) / "findings.parquet"


def run_info_path(store: Store) -> Path:
    return findings_dir(store) / "run.json"


@dataclass
class RunReport:
    findings: list[Finding] = field(default_factory=list)
    detectors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [d for d in self.detectors if d["error"]]


def run_detectors(store: Store, channel: str | None = None, only: list[str] | None = None,
                  params: dict[str, dict[str, Any]] | None = None, console: Console | None = None) -> RunReport:
    """Run the registered detectors (all, or one channel, or the ids in ``only``) and store the findings.

    With a ``console``, shows a Rich progress bar on it.
    """
    started = time.perf_counter()
    chosen = [d for d in registry.load_all() if (channel is None or d.channel == channel)
              and (only is None or d.id in only)]
    if only:
        unknown = sorted(set(only) - {d.id for d in chosen})
        if unknown:
            raise ValueError(f"unknown detector(s): {', '.join(unknown)}")
    chosen.sort(key=lambda d: (d.channel, d.id))
    report = RunReport()
    ctx = DetectionContext.open(store, params)
    progress = Progress(TextColumn("{task.description:<32}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                        TimeElapsedColumn(), console=console, disable=console is None, transient=False)
    try:
        with progress:
            task = progress.add_task("detectors", total=len(chosen))
            for det in chosen:
                progress.update(task, description=det.id)
                t0 = time.perf_counter()
                error = None
                found: list[Finding] = []
                try:
                    found = det.run(ctx)
                except Exception as exc:  # noqa: BLE001 - one broken detector must not hide the others
                    error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
                report.findings.extend(found)
                report.detectors.append({"id": det.id, "revision": det.revision, "channel": det.channel,
                                         "findings": len(found), "seconds": round(time.perf_counter() - t0, 3),
                                         "error": error})
                progress.advance(task)
            progress.update(task, description="evidence")
            t0 = time.perf_counter()
            insider_base.resolve_pending(ctx)
            report.detectors.append({"id": "(evidence)", "revision": 0, "channel": "", "findings": 0,
                                     "seconds": round(time.perf_counter() - t0, 3), "error": None})
            progress.update(task, description="done")
    finally:
        insider_base.forget(ctx)
        ctx.con.close()
    report.seconds = time.perf_counter() - started
    _save(store, report)
    return report


def _save(store: Store, report: RunReport) -> None:
    folder = findings_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    atomic.write_parquet(findings_path(store), findings_table(report.findings))
    info = {"finished_at": datetime.now(UTC).isoformat(), "seconds": round(report.seconds, 3),
            "findings": len(report.findings), "detectors": report.detectors}
    atomic.write_bytes(run_info_path(store), json.dumps(info, indent=2).encode())


def load_findings(store: Store, actor: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
    """The stored findings as dicts (``details`` parsed), strongest first; optionally one actor or channel.

    ``channel`` keeps findings of detectors registered for that channel ("portal", "signalling").
    """
    path = findings_path(store)
    if not path.exists():
        return []
    rows = pq.read_table(path).to_pylist()
    if channel is not None:
        by_id = {d.id: d.channel for d in registry.load_all()}
        rows = [r for r in rows if by_id.get(r["detector"]) == channel]
    if actor is not None:
        rows = [r for r in rows if r["actor"] == actor or actor in (r["actors"] or [])]
    for r in rows:
        r["details"] = json.loads(r["details"]) if r["details"] else {}
    rows.sort(key=lambda r: (-TIERS[r["severity"]], -r["score"], r["actor"], r["detector"]))
    return rows
