"""A kill -9 at any moment of an ingest, then a re-run: nothing lost, nothing stored twice."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custodiet.ingest import fastcsv
from custodiet.store import Store

ROWS = 40_000
SIMPLE_ROWS = 170_000  # over fastcsv.MIN_BYTES: read by Arrow


def write_big_log(path: Path, rows: int = ROWS, crlf_quoted: bool = False) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n" if crlf_quoted else "\n",
                       quoting=csv.QUOTE_ALL if crlf_quoted else csv.QUOTE_MINIMAL)
        w.writerow(["ts", "actor", "subject", "subject_kind", "data_kind", "event_id"])
        for i in range(rows):
            w.writerow([f"2026-02-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z", f"off{i % 50}",
                        f"{1000000000 + i * 7}", "nid", "identity", f"k{i}"])


def ingest(home: Path, log: Path, batch_rows: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "custodiet", "--home", str(home), "ingest", "portal", str(log),
           "--batch-rows", str(batch_rows)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stored_ids(home: Path) -> list[str]:
    con = Store(home).connect()
    return [r[0] for r in con.execute("SELECT event_id FROM events").fetchall()]


def kill_when(home: Path, log: Path, batch_rows: int, segments_seen: int) -> None:
    """Start an ingest and kill -9 it once ``segments_seen`` segments exist (or at once if 0)."""
    proc = ingest(home, log, batch_rows)
    seg_dir = home / "ledger" / "segments"
    deadline = time.monotonic() + 120
    while segments_seen and proc.poll() is None and time.monotonic() < deadline:
        if seg_dir.exists() and len([p for p in seg_dir.iterdir() if not p.name.startswith(".")]) >= segments_seen:
            break
        time.sleep(0.001)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize(("rows", "batch_rows", "crlf_quoted"),
                         [(ROWS, 2000, False), (SIMPLE_ROWS, 12_000, False), (SIMPLE_ROWS, 12_000, True)],
                         ids=["line by line", "arrow chunks", "arrow chunks, CRLF, every field quoted"])
def test_kill_9_then_rerun_loses_nothing_and_duplicates_nothing(tmp_path, rows, batch_rows, crlf_quoted):
    log = tmp_path / "big.csv"
    write_big_log(log, rows, crlf_quoted)
    assert (log.stat().st_size >= fastcsv.MIN_BYTES) == (rows == SIMPLE_ROWS)
    killed_mid_write = 0
    for i, seen in enumerate((0, 1, 3, 8)):
        home = tmp_path / f"home{i}"
        kill_when(home, log, batch_rows, seen)
        partial = stored_ids(home) if (home / "ledger").exists() else []
        killed_mid_write += 0 < len(partial) < rows
        assert len(partial) == len(set(partial))
        assert ingest(home, log, batch_rows).wait(timeout=300) == 0
        ids = stored_ids(home)
        assert len(ids) == rows
        assert len(set(ids)) == rows
    assert killed_mid_write >= 1, "no kill landed while segments were being written"
