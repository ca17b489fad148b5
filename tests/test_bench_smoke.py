"""The benchmarks still run (at toy sizes) and still print their comparison: a bench that rots is found here,
not on the day someone needs its figures. Timings are not asserted; that is what bench/ is for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"


@pytest.mark.parametrize(("script", "args", "expect"), [
    ("ingest.py", ["--rows", "3000"], "crlf-quoted"),
    ("ledger.py", ["--events", "3000", "--batch", "1000", "--proof-leaves", "4096", "--verify-events", "3000",
                   "--pymerkle", "500"], "pymerkle"),
    ("x1xml.py", ["--messages", "300", "--per-document", "7", "--gzip"], "lxml iterparse"),
    ("interception.py", ["--warrants", "150", "--days", "120"], "DuckDB one scan grouping by task"),
    ("gateway.py", ["--rate", "20", "--seconds", "1", "--sweep", "20", "--sweep-seconds", "1"], "added p99"),
])
def test_bench_runs_and_compares(script, args, expect):
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert expect in proc.stdout
