"""The witness's stand-alone check in docs/witnessing.md works on real proofs (docs that cannot drift)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from custodiet import ledger
from custodiet.store import Store

from .helpers import append_batches, append_batches_at, rewrite_history

DOC = Path(__file__).resolve().parents[2] / "docs" / "witnessing.md"


def snippet() -> dict:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert code is not None
    namespace: dict = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)
    return namespace


def test_documented_witness_check_accepts_real_and_rejects_forged(store):
    check = snippet()
    append_batches(store, [1, 3, 4, 7, 1])
    heads = ledger.heads(store)
    key = heads[0]["public_key"]
    for old in heads:
        for new in heads:
            if old["tree_size"] <= new["tree_size"]:
                doc = ledger.consistency_proof(store, old["tree_size"], new["tree_size"])
                assert check["head_is_signed"](new, key)
                assert check["consistent"](old, new, doc)
    forged = dict(heads[1], root_hash="00" * 32)
    doc = ledger.consistency_proof(store, heads[1]["tree_size"], heads[-1]["tree_size"])
    assert not check["head_is_signed"](forged, key)
    assert not check["consistent"](forged, heads[-1], doc)


# -- the step-by-step walk-through, run as written ------------------------------------------------------

JANUARY = ("ts,actor,subject,subject_kind,data_kind,event_id\n"
           "2026-01-05T09:00:00Z,off1,1000000007,nid,identity,j1\n"
           "2026-01-05T09:10:00Z,off2,1000000014,nid,identity,j2\n"
           "2026-01-06T11:00:00Z,off1,1000000021,nid,identity,j3\n")
FEBRUARY = ("ts,actor,subject,subject_kind,data_kind,event_id\n"
            "2026-02-02T08:00:00Z,off3,1000000028,nid,identity,f1\n"
            "2026-02-03T16:30:00Z,off2,1000000035,nid,identity,f2\n")


def console_steps() -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of the doc's console blocks, with the output lines the doc shows after it."""
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip():
                steps[-1][1].append(line)
    return steps


def shell(command: str, exports: list[str], cwd: Path, bin_dir: Path) -> subprocess.CompletedProcess[str]:
    paths = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(["bash", "-c", "\n".join([*exports, command])], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the walk-through makes its key with openssl")
def test_the_walk_through_runs_as_written(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "custodiet").write_text(f'#!/bin/sh\nexec {sys.executable} -m custodiet "$@"\n')
    (bin_dir / "custodiet").chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "january.csv").write_text(JANUARY)
    (work / "february.csv").write_text(FEBRUARY)
    exports: list[str] = []
    steps = console_steps()
    assert any(c.startswith("custodiet witness add-head") for c, _ in steps)
    for command, expected in steps:
        if command.startswith("export "):
            exports.append(command)
            continue
        proc = shell(command, exports, work, bin_dir)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        for line in expected:
            assert line in proc.stdout.splitlines(), f"{command}: expected {line!r}, got\n{proc.stdout}"
    held = [json.loads(line) for line in (work / "witness-heads.jsonl").read_text().splitlines()]
    assert [h["tree_size"] for h in held] == [3, 5]

    # The rewrite the doc describes: an event of January changed, every head re-signed with the same key,
    # two more events; the witness refuses the next head with the doc's very words and keeps its file.
    store = Store(work / "store")

    def rewritten(tables: list[pa.Table]) -> list[pa.Table]:
        first = tables[0]
        actors = first.column("actor").to_pylist()
        actors[1] = "someone-else"
        return [first.set_column(first.schema.get_field_index("actor"), "actor", pa.array(actors)), *tables[1:]]

    key_env = {"CUSTODIET_SIGNING_KEY_FILE": str(work / "ledger-signing.pem")}
    os.environ.update(key_env)
    try:
        rewrite_history(store, rewritten)
        append_batches_at(store, 900, 2)
    finally:
        for name in key_env:
            os.environ.pop(name, None)
    shell("custodiet --home store head --format json > head-3.json", exports, work, bin_dir)
    before = (work / "witness-heads.jsonl").read_bytes()
    refused = shell("custodiet witness add-head head-3.json --store store --witness-file witness-heads.jsonl "
                    "--public-key ledger.pub", exports, work, bin_dir)
    assert refused.returncode == 1
    documented = re.search(r"```text\n(error: refused: .*?)\n```", DOC.read_text(encoding="utf-8"), re.S)
    assert documented is not None
    assert refused.stderr.strip() == documented.group(1)
    assert (work / "witness-heads.jsonl").read_bytes() == before
    forged = shell("custodiet --home store verify --public-key ledger.pub --witness witness-heads.jsonl", exports,
                   work, bin_dir)
    assert forged.returncode == 1
    assert "witness" in forged.stderr
