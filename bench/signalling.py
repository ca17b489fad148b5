"""Benchmark: ``custodiet ingest signalling`` against tshark ``-T fields`` on the same file, in one run.

The MAP capture from ../shared/captures (367 frames) is replicated, each copy shifted in time by an
hour so the copies are distinct traffic (and outside SCTP's retransmission window). tshark needs
``-o sctp.tsn_analysis:FALSE`` on such files. Target: ours <= 0.5x tshark, end to end.

Two sizes by default: x1000 (367,000 frames, 47 MB: a realistic capture file; rotating capture
tools cut files at tens to hundreds of MB) and x200 (73,400 frames, 9 MB: where start-up weighs most).

Four figures per size, each against tshark's time from the same run:

- ``custodiet ingest signalling`` (the CLI, a fresh process: start-up, imports, ingest, summary);
- ``custodiet --help`` (the CLI's start-up alone);
- a fresh interpreter that imports only ``ingest_file`` and its store and runs it (no CLI);
- ``ingest_file`` in this process, modules already imported (decode, map, pseudonymise, dedupe, store).

    .venv/bin/python bench/signalling.py [--copies 1000,200] [--capture PATH] [--repeat 3]

Our own modules' bytecode: where ``PYTHONDONTWRITEBYTECODE`` is set and the project is installed
editable, every run compiles custodiet's sources again (about 0.05-0.1 s), which an installed
package never does. ``--compile`` writes the bytecode caches first (``compileall``, into the
gitignored ``__pycache__`` folders); the header says whether they exist.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "captures" / "pycrate_tcapmap_pcapr_rebuilt.pcap"
TSHARK_FIELDS = ["-e", "frame.number", "-e", "gsm_old.localValue", "-e", "sccp.calling.digits",
                 "-e", "sccp.called.digits", "-e", "e212.imsi", "-e", "tcap.otid", "-e", "tcap.dtid"]


def replicate(src: Path, dst: Path, copies: int) -> int:
    """Write ``copies`` time-shifted copies of a little-endian µs pcap; returns the frame count."""
    data = src.read_bytes()
    if data[:4] != b"\xd4\xc3\xb2\xa1":
        raise SystemExit(f"{src}: the bench replicates little-endian microsecond pcap files only")
    records, off = [], 24
    while off < len(data):
        sec, usec, caplen, origlen = struct.unpack_from("<IIII", data, off)
        records.append((sec, usec, data[off + 16 : off + 16 + caplen], origlen))
        off += 16 + caplen
    with open(dst, "wb") as out:
        out.write(data[:24])
        for copy in range(copies):
            shift = copy * 3600  # an hour apart: beyond SCTP's retransmission window, distinct event ids
            for sec, usec, frame, origlen in records:
                out.write(struct.pack("<IIII", sec + shift, usec, len(frame), origlen))
                out.write(frame)
    return len(records) * copies


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds of a command, and CPU seconds (user + system) of it and the children it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


BARE_INGEST = """
import sys
from pathlib import Path
from custodiet.ingest.signalling.ingest import ingest_capture

def opener():
    from custodiet.context.network import Registry
    from custodiet.store import Store
    store = Store(sys.argv[1])
    return store, Registry.from_store(store)

ingest_capture(Path(sys.argv[2]), opener, head_start=True)
"""


def in_process(capture: Path, home: Path) -> tuple[float, int]:
    """Seconds of one ``ingest_file`` call here (imports done before timing), and events stored."""
    from custodiet.context.network import Registry
    from custodiet.ingest.signalling import ingest_file
    from custodiet.store import Store

    store = Store(home)
    registry = Registry.from_store(store)
    start = time.perf_counter()
    summary = ingest_file(store, capture, registry)
    return time.perf_counter() - start, summary.stored


def bytecode_cached() -> bool:
    """Whether custodiet's own modules have bytecode caches (else every run compiles them)."""
    import custodiet.ingest.signalling.decoder as decoder

    return (Path(decoder.__file__).parent / "__pycache__").is_dir()


def run_size(args: argparse.Namespace, tshark: str, custodiet: str, copies: int, tmp: Path) -> float:
    """Time everything on one replicated capture; print the figures; return the CLI's ratio."""
    capture = tmp / f"replicated{copies}.pcap"
    frames = replicate(args.capture, capture, copies)
    size = capture.stat().st_size
    from custodiet.ingest.signalling import parallel

    split = parallel.split_point(capture, head_start=True)
    how = (f"the CLI forks a decoder, which takes frames {split + 1:,}.. while the CLI imports"
           if parallel.worth_it(capture, head_start=True) and split is not None else "the CLI decodes in one process")
    print(f"\n{capture.name}: {copies} copies, {frames:,} frames, {size / 1e6:.1f} MB; best of {args.repeat}; "
          f"load average {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} CPUs: {how}")
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}
    stored = 0
    for run in range(args.repeat):  # interleaved, so that a burst of load on the machine hits all alike
        home = tmp / f"home{copies}-{run}"
        times = {
            "tshark": timed([tshark, "-r", str(capture), "-o", "sctp.tsn_analysis:FALSE", "-Y",
                             "gsm_old.invoke_element", "-T", "fields", *TSHARK_FIELDS]),
            "cli": timed([custodiet, "--home", str(home / "cli"), "ingest", "signalling", str(capture)]),
            "startup": timed([custodiet, "--help"]),
            "bare": timed([sys.executable, "-c", BARE_INGEST, str(home / "bare"), str(capture)]),
        }
        seconds, stored = in_process(capture, home / "inproc")
        times["inproc"] = (seconds, float("nan"))
        for key, (wall, used) in times.items():
            best[key] = min(best.get(key, wall), wall)
            cpu[key] = min(cpu.get(key, used), used)
    ref = best["tshark"]
    print(f"tshark -T fields                      {ref:6.2f} s                cpu {cpu['tshark']:6.2f} s")
    rows = [
        ("cli", "custodiet ingest signalling (CLI)", "start-up, imports, ingest, summary"),
        ("startup", "  custodiet --help", "the CLI's start-up alone"),
        ("bare", "fresh python: ingest_capture", "the CLI without its own start-up"),
        ("inproc", "ingest_file in this process", f"decode, map, pseudonymise, dedupe, store: {stored:,} events"),
    ]
    for key, label, note in rows:
        used = "" if key == "inproc" else f"cpu {cpu[key]:6.2f} s ratio {cpu[key] / cpu['tshark']:4.2f}"
        print(f"{label:37} {best[key]:6.2f} s ratio {best[key] / ref:4.2f}   {used:26} ({note})")
    print(f"target: CLI ratio <= 0.50; now {best['cli'] / ref:.2f} at {frames:,} frames "
          f"(load average now {os.getloadavg()[0]:.1f}; cpu: user + system, the forked decoder included)")
    capture.unlink()
    return best["cli"] / ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", default="1000,200", help="replication factors, comma-separated")
    parser.add_argument("--capture", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best time counts")
    parser.add_argument("--compile", action="store_true", help="write custodiet's bytecode caches first")
    args = parser.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        raise SystemExit("tshark is not installed")
    custodiet = str(Path(sys.executable).with_name("custodiet"))
    if args.compile:
        import compileall

        import custodiet as package

        compileall.compile_dir(Path(package.__file__).parent, quiet=1)
    print(f"custodiet bytecode cached: {'yes' if bytecode_cached() else 'no (each run compiles the sources)'}")
    with tempfile.TemporaryDirectory() as tmp:
        ratios = {int(c): run_size(args, tshark, custodiet, int(c), Path(tmp)) for c in args.copies.split(",")}
    print("\nCLI / tshark: " + ", ".join(f"x{c}: {r:.2f}" for c, r in ratios.items()))


if __name__ == "__main__":
    main()
