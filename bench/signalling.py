"""Benchmark: ``custodiet ingest signalling`` end to end against tshark ``-T fields`` on the same file.

The MAP capture from ../shared/captures is replicated (default x200), each copy shifted in time by an
hour so the copies are distinct traffic (and outside SCTP's retransmission window). tshark needs
``-o sctp.tsn_analysis:FALSE`` on such files. Target: ours <= 0.5x tshark.

    .venv/bin/python bench/signalling.py [--copies 200] [--capture PATH]
"""

from __future__ import annotations

import argparse
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


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--capture", type=Path, default=DEFAULT)
    args = parser.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        raise SystemExit("tshark is not installed")
    custodiet = str(Path(sys.executable).with_name("custodiet"))
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "replicated.pcap"
        frames = replicate(args.capture, capture, args.copies)
        size = capture.stat().st_size
        print(f"{capture.name}: {args.copies} copies, {frames:,} frames, {size / 1e6:.1f} MB")
        ref = timed([tshark, "-r", str(capture), "-o", "sctp.tsn_analysis:FALSE", "-Y", "gsm_old.invoke_element",
                     "-T", "fields", *TSHARK_FIELDS])
        ours = timed([custodiet, "--home", str(Path(tmp) / "home"), "ingest", "signalling", str(capture)])
        startup = timed([custodiet, "--help"])
        print(f"tshark -T fields        {ref:7.2f} s")
        print(f"custodiet ingest        {ours:7.2f} s   (decode, map, pseudonymise, dedupe, store)")
        print(f"  of which CLI start-up {startup:7.2f} s   (custodiet --help: importing every command module)")
        print(f"ratio ours / tshark     {ours / ref:7.2f}   (target <= 0.50)")


if __name__ == "__main__":
    main()
