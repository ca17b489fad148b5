"""The README's example commands, run exactly as written, in order."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from tests.conftest import run_cli

README = Path(__file__).parents[1] / "README.md"


def readme_commands() -> list[list[str]]:
    text = README.read_text()
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no console example"
    return [shlex.split(line[2:])[1:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_readme_examples_run(tmp_path):
    outputs = {}
    for args in readme_commands():
        proc = run_cli(*args, cwd=tmp_path)
        outputs[" ".join(args)] = proc.stdout
    stats = json.loads(outputs["--home store stats --format json"])
    assert stats["events"] > 10_000
    assert stats["quarantined"] == 0
    ranking = [json.loads(line) for line in outputs["--home store rank --format jsonl"].splitlines()]
    assert ranking
    assert {"actor", "risk", "findings"} <= ranking[0].keys()
    head = json.loads(outputs["--home store head --format json"])
    assert head["tree_size"] == stats["events"]
    assert len(outputs["--home store pseudonym msisdn +8801712345678"].strip()) == 64
