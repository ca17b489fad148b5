"""Detection over families of worlds from two generators: every world's figures, the mean and the worst.

Reference: the same detectors scored on the project's own simulator (``custodiet simulate``) and on an
independent generator written from a description of real behaviour without reading the detectors
(``bench/worlds/``). Thresholds are tuned on the first and judged on the second; both figures are printed.

    python bench/evaluate_families.py --channel portal --generator own --worlds 20
    python bench/evaluate_families.py --channel portal --generator independent --worlds 20
    python bench/evaluate_families.py --channel signalling --generator independent --worlds 20
    python bench/evaluate_families.py --channel interception --generator independent --worlds 20

Each world gets randomised sizes (own simulator: accounts and days, subscribers and days, or agencies,
warrants and days; the independent
generators randomise sizes, unit mixes, noise and intensities from the seed themselves), is loaded into its
own store with the ordinary CLI, and scored with ``custodiet evaluate --family``. Worlds already built
are kept (delete the folder to rebuild).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
CLI = str(BIN / "custodiet")


def run(*args: str) -> None:
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def generate(channel: str, generator: str, seed: int, out: Path) -> None:
    rng = random.Random(seed)
    if generator == "own" and channel == "portal":
        run(CLI, "simulate", "portal", "--out", str(out), "--seed", str(seed),
            "--actors", str(rng.randint(120, 500)), "--days", str(rng.randint(45, 90)))
    elif generator == "own" and channel == "interception":
        run(CLI, "simulate", "interception", "--out", str(out), "--seed", str(seed),
            "--agencies", str(rng.randint(3, 9)), "--warrants", str(rng.randint(200, 3000)),
            "--days", str(rng.randint(60, 400)))
    elif generator == "own":
        run(CLI, "simulate", "signalling", "--out", str(out), "--seed", str(seed),
            "--subscribers", str(rng.randint(200, 1000)), "--days", str(rng.randint(3, 7)))
    else:
        script = HERE / "worlds" / f"{channel}_world.py"
        run(sys.executable, str(script), "--out", str(out), "--seed", str(seed))


def load(channel: str, world: Path) -> None:
    home = ["--home", str(world / "home")]
    if channel == "portal":
        for kind, name in (("actors", "actors"), ("cases", "cases"), ("case-subjects", "case_subjects"),
                           ("protected", "protected")):
            run(CLI, *home, "context", "load", kind, str(world / f"{name}.csv"))
        run(CLI, *home, "ingest", "portal", str(world / "access_log.csv"))
    elif channel == "interception":  # both forms: the same messages, so the second adds nothing
        run(CLI, *home, "context", "load", "warrants", str(world / "warrants.csv"))
        run(CLI, *home, "ingest", "interception", *sorted(str(p) for p in world.glob("x1*.jsonl*")))
        run(CLI, *home, "ingest", "interception", *sorted(str(p) for p in world.glob("x1*.xml*")))
    else:
        run(CLI, *home, "context", "load", "network", str(world / "network.toml"))
        run(CLI, *home, "ingest", "signalling", *sorted(str(p) for p in world.glob("*.pcap*")))
    run(CLI, *home, "detect", "--channel", channel)


def build(channel: str, generator: str, seed: int, family: Path) -> tuple[str, float]:
    world = family / f"seed-{seed:03d}"
    started = time.perf_counter()
    if not (world / "home" / "findings").exists():
        generate(channel, generator, seed, world)
        load(channel, world)
    return world.name, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--channel", choices=("portal", "signalling", "interception"), default="portal")
    ap.add_argument("--generator", choices=("own", "independent"), default="independent")
    ap.add_argument("--worlds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument("--out", type=Path, default=HERE / "out" / "families")
    args = ap.parse_args()
    family = args.out / f"{args.channel}-{args.generator}"
    family.mkdir(parents=True, exist_ok=True)
    seeds = range(args.first_seed, args.first_seed + args.worlds)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        for name, seconds in pool.map(lambda s: build(args.channel, args.generator, s, family), seeds):
            print(f"{name}: built in {seconds:.0f} s", file=sys.stderr)
    print(f"{args.worlds} worlds built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    # One evaluation (it traces every listing): saved as JSON lines, the summary printed.
    got = subprocess.run([CLI, "evaluate", "--family", str(family), "--format", "jsonl"], check=True,
                         capture_output=True, text=True).stdout
    (family / "evaluation.jsonl").write_text(got)
    for line in got.splitlines():
        row = json.loads(line)
        if "summary" in row:
            print(f"{row['summary']:<28} mean {row['mean']:<10} worst {row['worst']:<10} target {row['target']} "
                  f"met {row['met']}")
    print(json.dumps({"family": str(family), "saved": "evaluation.jsonl"}), file=sys.stderr)

if __name__ == "__main__":
    main()
