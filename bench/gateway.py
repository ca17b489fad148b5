"""Benchmark: the latency the lookup gateway adds, against calling the simulated registry directly.

    .venv/bin/python bench/gateway.py [--rate 500] [--seconds 60] [--sweep 100,250,500,750,1000 --sweep-seconds 15]

One run starts the simulated registry (``custodiet simulate registry`` over a small portal world) and the
gateway in front of it (``custodiet gateway``, its own store with a bench officer, a case listing every
person asked for, a token), both under uvicorn on 127.0.0.1. An open-loop client (asyncio streams, HTTP/1.1
keep-alive, a connection per request in flight) sends lookups at a fixed rate, first straight to the
registry, then through the gateway, and times each from the moment it was due (so a server that falls
behind is charged for the queue it builds). Reference: the direct calls of the same run; the figure is
p99 through the gateway minus p99 direct. Every request through the gateway must be in the ledger
afterwards. ``--sweep`` then tries each rate for a shorter time and reports the highest whose added p99
stays within 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from registry import free_port, stop  # the registry bench's, beside this one

CLI = [sys.executable, "-m", "custodiet"]
CASE = "BENCH/2026/0001"
UNIT = "BENCH-1"
MAX_CONNECTIONS = 128  # requests in flight at once; later ones wait (and are charged for it)


def start(argv: list[str], url: str, ready: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url + ready, timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{' '.join(argv)} did not start")


def prepare(root: Path) -> tuple[Path, Path, str, list[str]]:
    """A portal world, a store whose one case lists every person asked for, a token; the lookup paths."""
    from custodiet.simulate.portal import generate
    from custodiet.simulate.portal.config import PortalConfig
    from custodiet.simulate.registry.records import World

    world, home = root / "world", root / "home"
    generate(PortalConfig(seed=11, actors=40, days=30), world)
    people = sorted(p for p in World.load(world).people if p[0] in ("msisdn", "nid"))[:2000]
    paths = [f"/v1/lookup/{'cdr' if k == 'msisdn' else 'identity'}/{k}/{v}" for k, v in people]
    (root / "actors.csv").write_text(f"actor,org,role,region\nbench.officer,{UNIT},investigator,x\n")
    (root / "cases.csv").write_text(f"case_id,org,opened,closed\n{CASE},{UNIT},2020-01-01T00:00:00Z,\n")
    (root / "subjects.csv").write_text("case_id,subject,subject_kind\n" +
                                       "".join(f"{CASE},{v},{k}\n" for k, v in people))
    for kind, name in (("actors", "actors"), ("cases", "cases"), ("case-subjects", "subjects")):
        subprocess.run([*CLI, "--home", str(home), "context", "load", kind, str(root / f"{name}.csv")], check=True,
                       capture_output=True)
    token = subprocess.run([*CLI, "--home", str(home), "token", "issue", "bench.officer"], check=True,
                           capture_output=True, text=True).stdout.strip()
    return world, home, token, paths


async def drive(url: str, paths: list[str], rate: float, seconds: float, headers: str) -> tuple[list[float], int]:
    """Open loop: request i is due at start + i / rate; returns each latency (s) from its due time, errors."""
    host, port = url.removeprefix("http://").split(":")
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    errors = 0

    slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def one(i: int, due: float) -> None:
        nonlocal errors
        async with slots:  # waiting for a connection counts in the latency: the request was due
            try:
                conn = idle.pop() if idle else await asyncio.open_connection(host, int(port))
                reader, writer = conn
                writer.write(f"GET {paths[i % len(paths)]} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, StopIteration):
                errors += 1
                latencies.append(time.perf_counter() - due)
                return
            latencies.append(time.perf_counter() - due)
            errors += not head.startswith(b"HTTP/1.1 200")
            idle.append(conn)

    began = time.perf_counter()
    tasks = []
    for i in range(int(rate * seconds)):
        due = began + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    for _, writer in idle:
        writer.close()
    return latencies, errors


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000 if len(values) > 1 else 0.0


def measure(upstream: str, gateway: str, token: str, paths: list[str], rate: float, seconds: float
            ) -> tuple[float, float, int, int, int]:
    """(p99 direct ms, p99 through ms, errors direct, errors through, requests through)."""
    auth = f"Authorization: Bearer {token}\r\nX-Custodiet-Authority: {CASE}\r\n"
    direct, e1 = asyncio.run(drive(upstream, paths, rate, seconds, ""))
    through, e2 = asyncio.run(drive(gateway, paths, rate, seconds, auth))
    return p(direct, 0.99), p(through, 0.99), e1, e2, len(through)


def ledgered(home: Path) -> int:
    from custodiet.store import Store

    con = Store(home).connect()
    try:
        return int(con.execute("SELECT count(*) FROM events WHERE channel = 'gateway'").fetchall()[0][0])
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--sweep", default="")
    ap.add_argument("--sweep-seconds", type=float, default=15)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        world, home, token, paths = prepare(Path(tmp))
        rport, gport = free_port(), free_port()
        upstream, gateway = f"http://127.0.0.1:{rport}", f"http://127.0.0.1:{gport}"
        registry = start([*CLI, "simulate", "registry", "--world", str(world), "--port", str(rport)], upstream,
                         "/stats")
        proxy = start([*CLI, "--home", str(home), "gateway", "--upstream", upstream, "--port", str(gport),
                       "--rate-floor", "100000000"], gateway, "/healthz")
        try:
            before = ledgered(home)
            d99, g99, e1, e2, sent = measure(upstream, gateway, token, paths, args.rate, args.seconds)
            stored = ledgered(home) - before
            segments = sum(1 for _ in (home / "ledger" / "segments").glob("*.parquet"))
            print(f"{args.rate:.0f} req/s for {args.seconds:.0f} s: direct p99 {d99:.1f} ms, through the gateway "
                  f"p99 {g99:.1f} ms, added {g99 - d99:.1f} ms (target 10); errors direct {e1}, through {e2}; "
                  f"{stored:,} of {sent:,} requests ledgered; {segments:,} segments")
            best = None
            for rate in [float(r) for r in args.sweep.split(",") if r]:
                d99, g99, e1, e2, _ = measure(upstream, gateway, token, paths, rate, args.sweep_seconds)
                print(f"  {rate:.0f} req/s: added p99 {g99 - d99:.1f} ms (direct {d99:.1f}, through {g99:.1f}), "
                      f"errors {e1}/{e2}")
                if g99 - d99 <= 50 and not e2:
                    best = rate
            if args.sweep:
                print(f"highest rate with added p99 <= 50 ms: {best or 'none of those tried'}")
        finally:
            for proc in (proxy, registry):
                stop(proc)


if __name__ == "__main__":
    main()
