"""Run registered detectors over one signed state of the store and keep their findings under ``<home>/findings/``.

Findings are kept per detector: ``<detector id>.parquet`` (``FINDING_SCHEMA``) holds that detector's
findings from the last run that ran it, and its Parquet metadata (key ``custodiet``) records what they
cover: the detector's revision and channel, the signed tree size and root hash of the ledger state it
read, when it finished and how long it took. A run replaces only the detectors it ran, so
``detect --channel signalling`` leaves the portal findings as they were. ``run.json`` describes the last
run (what ran, counts, seconds, errors, and the state it read).

Detection reads a snapshot (``ledger.snapshot``) and takes no lock while it runs; storing takes
``findings/lock``. A detector whose stored findings cover a larger tree than this run read is left as it
is, so two runs at once leave what running them one after the other would. A detector that fails does not
stop the others; its error is recorded, the run reports it, and its previous findings stay.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
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
from custodiet.writelock import file_lock

COVERAGE_KEY = b"custodiet"
LEGACY = "findings.parquet"  # the single file of earlier versions: split per detector on the next save


def findings_dir(store: Store) -> Path:
    return store.home / "findings"


def detector_path(store: Store, detector_id: str) -> Path:
    """Where one detector's findings are kept."""
    return findings_dir(store) / f"{detector_id}.parquet"


def run_info_path(store: Store) -> Path:
    return findings_dir(store) / "run.json"


@dataclass
class RunReport:
    findings: list[Finding] = field(default_factory=list)
    detectors: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    tree_size: int = 0  # the signed state the run read
    root_hash: str | None = None
    kept: list[str] = field(default_factory=list)  # detectors whose stored findings were newer than this run's

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
    from custodiet.scratch import remove_dead

    remove_dead(store)  # scratch of killed runs
    report = RunReport()
    ctx = DetectionContext.open(store, params)
    if ctx.snapshot is not None:
        report.tree_size, report.root_hash = ctx.snapshot.size, ctx.snapshot.root_hash
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
    """Replace the findings of each detector that ran without error, under the findings lock."""
    folder = findings_dir(store)
    folder.mkdir(parents=True, exist_ok=True)
    finished = datetime.now(UTC).isoformat()
    by_detector: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_detector.setdefault(f.detector, []).append(f)
    with file_lock(folder / "lock"):
        _split_legacy(store)
        for d in report.detectors:
            if d["error"] or d["id"].startswith("("):
                continue
            path = detector_path(store, d["id"])
            stored = _coverage_of(path)
            if stored and (stored.get("tree_size") or 0) > report.tree_size:
                report.kept.append(d["id"])
                continue
            coverage = {"detector": d["id"], "revision": d["revision"], "channel": d["channel"],
                        "tree_size": report.tree_size, "root_hash": report.root_hash, "finished_at": finished,
                        "seconds": d["seconds"], "findings": d["findings"]}
            _write(path, findings_table(by_detector.get(d["id"], [])), coverage)
        info = {"finished_at": finished, "seconds": round(report.seconds, 3), "findings": len(report.findings),
                "tree_size": report.tree_size, "root_hash": report.root_hash, "detectors": report.detectors,
                "kept_newer": report.kept}
        atomic.write_bytes(run_info_path(store), json.dumps(info, indent=2).encode())


def _write(path: Path, table: pa.Table, coverage: dict[str, Any]) -> None:
    meta = dict(table.schema.metadata or {})
    meta[COVERAGE_KEY] = json.dumps(coverage).encode()
    atomic.write_parquet(path, table.replace_schema_metadata(meta))


def _coverage_of(path: Path) -> dict[str, Any] | None:
    try:
        meta = pq.read_schema(path).metadata or {}
    except FileNotFoundError:
        return None
    return json.loads(meta[COVERAGE_KEY]) if COVERAGE_KEY in meta else None


def _split_legacy(store: Store) -> None:
    """Move the findings of the single file earlier versions kept into one file per detector (coverage
    unknown: tree size 0), for detectors that have no file of their own yet."""
    legacy = findings_dir(store) / LEGACY
    if not legacy.exists():
        return
    table = pq.read_table(legacy)
    channels = {d.id: d.channel for d in registry.load_all()}
    for detector in sorted(set(table.column("detector").to_pylist())):
        path = detector_path(store, detector)
        if not path.exists():
            mine = table.filter(pc.equal(table.column("detector"), detector))
            _write(path, mine, {"detector": detector, "revision": None, "channel": channels.get(detector),
                                "tree_size": 0, "root_hash": None, "finished_at": None, "findings": mine.num_rows})
    legacy.unlink()


def coverage(store: Store, channel: str | None = None) -> list[dict[str, Any]]:
    """What the stored findings cover, one dict per detector (see the module docstring), by detector id;
    ``channel`` keeps the detectors of that channel."""
    folder = findings_dir(store)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.parquet")):
        if path.name.startswith(".") or path.name == LEGACY:
            continue
        info = _coverage_of(path)
        if info is not None and (channel is None or info.get("channel") == channel):
            found.append(info)
    return found


def arrived_since(store: Store, channel: str | None = None) -> tuple[int | None, int]:
    """(the smallest tree size the stored findings cover, how many events the ledger has signed past it);
    (None, 0) when there are no stored findings."""
    from custodiet.ledger.snapshot import arrived_since as since

    sizes = [int(c.get("tree_size") or 0) for c in coverage(store, channel)]
    if not sizes:
        return None, 0
    return min(sizes), since(store, min(sizes))


def load_findings(store: Store, actor: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
    """The stored findings as dicts (``details`` parsed), strongest first; optionally one actor or channel.

    ``channel`` keeps findings of detectors registered for that channel ("portal", "signalling").
    Each detector's file is read whole (each was replaced atomically), so a run storing meanwhile shows
    either its findings or the previous ones for each detector, never a mix within one.
    """
    folder = findings_dir(store)
    if not folder.is_dir():
        return []
    by_id = {d.id: d.channel for d in registry.load_all()}
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.parquet")):
        if path.name.startswith(".") or path.name == LEGACY:
            continue
        try:
            rows += pq.read_table(path).to_pylist()
        except FileNotFoundError:
            continue
    legacy = folder / LEGACY
    if legacy.exists():  # not split yet: its detectors that have no file of their own
        own = {r["detector"] for r in rows} | {c["detector"] for c in coverage(store)}
        rows += [r for r in pq.read_table(legacy).to_pylist() if r["detector"] not in own]
    if channel is not None:
        rows = [r for r in rows if by_id.get(r["detector"]) == channel]
    if actor is not None:
        rows = [r for r in rows if r["actor"] == actor or actor in (r["actors"] or [])]
    for r in rows:
        r["details"] = json.loads(r["details"]) if r["details"] else {}
    rows.sort(key=lambda r: (-TIERS[r["severity"]], -r["score"], r["actor"], r["detector"], r["window_start"],
                             r["window_end"], min(r["event_ids"] or [""])))
    return rows
