"""docs/evidence.md's verifier listing, run as written against real bundles (docs that cannot drift)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from custodiet.evidence.bundle import event_member

from .helpers import rewrite

DOC = Path(__file__).resolve().parents[2] / "docs" / "evidence.md"


def listing(tmp_path: Path) -> Path:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    script = tmp_path / "check_bundle.py"
    script.write_text(blocks[0], encoding="utf-8")
    return script


def run(script: Path, bundle: Path, key: str) -> subprocess.CompletedProcess[str]:
    # run in an empty folder, with only the standard library and cryptography: nothing of custodiet
    return subprocess.run([sys.executable, "-I", str(script), str(bundle), key], capture_output=True, text=True,
                          timeout=120, cwd=script.parent)


def test_the_documented_verifier_accepts_a_real_bundle(exported, tmp_path):
    script = listing(tmp_path)
    proc = run(script, exported["bundle"], exported["public_key"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ok\n", "")


def test_the_documented_verifier_rejects_changes(exported, tmp_path):
    script = listing(tmp_path)
    name = event_member(exported["event_ids"][0])
    changed = rewrite(exported["bundle"], tmp_path / "e.zip",
                      lambda m: {**m, name: m[name].replace(b'"records":1', b'"records":2')})
    proc = run(script, changed, exported["public_key"])
    assert (proc.returncode, proc.stdout) == (1, f"{name}: not in the signed tree\n")
    missing = rewrite(exported["bundle"], tmp_path / "m.zip",
                      lambda m: {k: v for k, v in m.items() if not k.endswith(name.removeprefix("events/"))})
    assert run(script, missing, exported["public_key"]).stdout.endswith("missing from the bundle\n")

    def reroot(m: dict[str, bytes]) -> dict[str, bytes]:
        head = json.loads(m["head.json"])
        head["root_hash"] = "00" * 32
        return {**m, "head.json": json.dumps(head).encode()}

    proc = run(script, rewrite(exported["bundle"], tmp_path / "h.zip", reroot), exported["public_key"])
    assert (proc.returncode, proc.stdout) == (1, "head.json: the signature does not verify\n")
    other = "11" * 32
    assert run(script, exported["bundle"], other).stdout == "head.json: signed by another key than the ledger's\n"
