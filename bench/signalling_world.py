"""Benchmark: the signalling simulator and the signalling detectors, each against a named reference.

1. ``simulate_signalling`` (pycrate templates filled in place) against encoding the same number of MAP
   messages with pycrate's ``TCAP_MAP_Message.set_val`` + ``to_ber`` (timed on a sample, scaled).
2. The six signalling detectors (``signalling_findings``) against DuckDB's own minimum: one scan of the
   same events parsing their attrs JSON (``json_extract_string`` of the same fields, aggregated).

    .venv/bin/python bench/signalling_world.py [--subscribers 1000] [--days 7] [--seed 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from custodiet.context.network import Registry, save_profile
from custodiet.detect.signalling.evaluate import evaluate_signalling, signalling_findings
from custodiet.ingest.signalling import ingest_file
from custodiet.simulate.signalling import simulate_signalling
from custodiet.simulate.signalling.encode import MAP_OPS, acn, message_codec
from custodiet.simulate.signalling.pcap import isdn_address, tbcd
from custodiet.store import Store

SAMPLE = 300


def pycrate_per_message() -> float:
    """Seconds per MAP Begin encoded by pycrate directly (set_val + to_ber), over a mix of operations."""
    codec = message_codec()
    ops = list(MAP_OPS.values())
    t0 = time.perf_counter()
    for i in range(SAMPLE):
        op = ops[i % len(ops)]
        arg = op.build(tbcd(f"00101{i:010d}"), isdn_address(f"4477009{i:05d}"), isdn_address(f"3399000{i:05d}"))
        dialogue = {"direct-reference": (0, 0, 17, 773, 1, 1, 1), "encoding": ("single-ASN1-type", (
            "DialoguePDU", ("dialogueRequest", {"protocol-version": (1, 1), "application-context-name": acn(op)})))}
        codec.set_val(("begin", {"otid": i.to_bytes(4, "big"), "dialoguePortion": dialogue, "components": [
            ("basicROS", ("invoke", {"invokeId": ("present", 1), "opcode": ("local", op.opcode),
                                     "argument": (op.arg_type, arg)}))]}))
        codec.to_ber()
    return (time.perf_counter() - t0) / SAMPLE


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "world"
        t0 = time.perf_counter()
        truth = simulate_signalling(out, args.seed, subscribers=args.subscribers, days=args.days)
        t_sim = time.perf_counter() - t0
        requests = truth["legitimate_messages"] + len(truth["attacks"])
        t_ref = pycrate_per_message() * requests * 2  # every request has an answer
        print(f"simulate: {requests:,} requests (+ answers) in {t_sim:.2f} s; pycrate to_ber for the same "
              f"messages ~{t_ref:.2f} s (sampled); ratio {t_sim / t_ref:.2f}x")

        store = Store(Path(tmp) / "home")
        save_profile(store, out / "network.toml")
        registry = Registry.from_store(store)
        t0 = time.perf_counter()
        for name in truth["files"]:
            ingest_file(store, out / name, registry)
        print(f"ingest (decoder, for context): {time.perf_counter() - t0:.2f} s")

        con = store.connect()
        t0 = time.perf_counter()
        con.execute("SELECT count(*), count(DISTINCT j[1]), count(DISTINCT j[3]) FROM (SELECT json_extract_string("
                    "attrs, ['$.map_opcode', '$.command_code', '$.sccp_calling_gt', '$.origin_realm']) AS j "
                    "FROM events WHERE channel = 'signalling')").fetchall()
        t_scan = time.perf_counter() - t0
        con.close()
        t0 = time.perf_counter()
        findings = signalling_findings(store)
        t_det = time.perf_counter() - t0
        print(f"detectors: {len(findings):,} findings in {t_det:.2f} s; DuckDB attrs scan {t_scan:.3f} s; "
              f"ratio {t_det / t_scan:.1f}x")
        result = evaluate_signalling(store, truth, findings)
        print(f"evaluation: found {result['found_share']:.1%} of {result['planted_attacks']} planted attacks, "
              f"{result['false_alarms_per_100k']} false alarms per 100k legitimate messages, "
              f"campaign grouped: {result['targets']['campaigns_grouped']}")


if __name__ == "__main__":
    main()
