"""The simulated registry's throughput (the gateway bench's upstream) against a bare Starlette app.

    .venv/bin/python bench/registry.py [--seconds 5] [--concurrency 8] [--pool 10000] [--world DIR]

Starts `custodiet simulate registry` under uvicorn pinned to one core (``taskset -c 0``), and
drives it for --seconds with an httpx async client, then with a minimal asyncio HTTP/1.1 client (httpx
costs the client more CPU than the server spends answering): --concurrency workers asking lookups of --pool
distinct identifiers (half the world's people, half strangers; more than the answer cache holds after
one pass). The reference is a Starlette app under the same uvicorn that answers a fixed JSON body of the
same size without looking anything up: the ratio is what loading, normalising and drawing records costs
over HTTP serving alone. Without --world a small portal world is generated in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
BODY = b'{"subject_kind":"msisdn","subject":"8801712345678","data_kind":"cdr","records":[' + b",".join(
    [b'{"ts":"2026-06-18T22:05:10Z","msisdn":"8801712345678","type":"voice","direction":"in",'
     b'"other_party":"8801930246669","duration_s":42,"cell_id":"65471"}'] * 2) + b"]}"


def reference_app():  # noqa: ANN201  (uvicorn factory: ``--factory registry:reference_app``)
    """A Starlette app answering the lookup path with a fixed body and nothing else."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def lookup(request):  # noqa: ANN001, ANN202
        return Response(BODY, 200, media_type="application/json")

    async def stats(request):  # noqa: ANN001, ANN202
        return Response(b'{"requests":0}', 200, media_type="application/json")

    return Starlette(routes=[Route("/v1/lookup/{data_kind}/{subject_kind}/{value}", lookup),
                             Route("/stats", stats)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    pin = ["taskset", "-c", "0"] if os.cpu_count() and os.cpu_count() > 1 else []  # type: ignore[operator]
    proc = subprocess.Popen(pin + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(argv)} exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{' '.join(argv)} did not answer within 60 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


async def drive(url: str, paths: list[str], seconds: float, concurrency: int) -> tuple[int, int, float]:
    """(answered, errors, seconds) for ``concurrency`` workers asking ``paths`` in turn for ``seconds``."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = errors = 0
    nxt = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        for p in paths[:concurrency]:  # warm the connections
            await client.get(p)
        began = time.perf_counter()
        stop_at = began + seconds

        async def worker() -> None:
            nonlocal done, errors, nxt
            while time.perf_counter() < stop_at:
                path = paths[nxt % len(paths)]
                nxt += 1
                r = await client.get(path)
                done += 1
                errors += r.status_code != 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done, errors, time.perf_counter() - began


async def drive_raw(url: str, paths: list[str], seconds: float, concurrency: int) -> tuple[int, int, float]:
    """As ``drive``, with a minimal HTTP/1.1 keep-alive client on asyncio streams (far less client work than
    httpx: it shows what the server can do when the client is not the bottleneck)."""
    host, port = url.removeprefix("http://").split(":")
    done = errors = 0
    nxt = 0
    conns = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]
    began = time.perf_counter()
    stop_at = began + seconds

    async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal done, errors, nxt
        while time.perf_counter() < stop_at:
            path = paths[nxt % len(paths)]
            nxt += 1
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            done += 1
            errors += not head.startswith(b"HTTP/1.1 200")
        writer.close()

    await asyncio.gather(*(worker(r, w) for r, w in conns))
    return done, errors, time.perf_counter() - began


def lookup_paths(world: Path, pool: int) -> list[str]:
    from custodiet.simulate.registry.records import World

    people = sorted(World.load(world).people)
    known = [f"/v1/lookup/{('cdr' if k == 'msisdn' else 'identity')}/{k}/{v}" for k, v in people
             if k in ("msisdn", "nid")][: pool // 2]
    strangers = [f"/v1/lookup/cdr/msisdn/88017{i:08d}" for i in range(pool - len(known))]
    mixed = [p for pair in zip(known, strangers, strict=False) for p in pair]
    return mixed + strangers[len(known):]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--world", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        world = args.world
        if world is None:
            from custodiet.simulate.portal import generate
            from custodiet.simulate.portal.config import PortalConfig

            world = Path(tmp) / "world"
            generate(PortalConfig(seed=11, actors=40, days=30), world)
        paths = lookup_paths(world, args.pool)
        uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--log-level", "warning",
                   "--no-access-log"]
        results = {}
        for client, name in [(c, n) for c in ("httpx", "raw") for n in ("reference", "registry")]:
            port = free_port()
            if name == "registry":
                argv = [sys.executable, "-m", "custodiet", "simulate", "registry", "--world", str(world),
                        "--port", str(port)]
            else:
                argv = [*uvicorn, "--app-dir", str(HERE), "--factory", "registry:reference_app", "--port", str(port)]
            proc = start(argv, port)
            try:
                server_cpu, client_cpu = cpu_seconds(proc.pid), time.process_time()
                driver = drive if client == "httpx" else drive_raw
                done, errors, took = asyncio.run(driver(f"http://127.0.0.1:{port}", paths, args.seconds,
                                                        args.concurrency))
                server_cpu, client_cpu = cpu_seconds(proc.pid) - server_cpu, time.process_time() - client_cpu
                served = httpx.get(f"http://127.0.0.1:{port}/stats").json()["requests"]
            finally:
                stop(proc)
            results[client, name] = done / max(server_cpu, 1e-9)
            print(f"{client:5s} client, {name:9s}: {done:,} lookups in {took:.2f} s = {done / took:,.0f} req/s wall; "
                  f"server CPU {server_cpu:.2f} s = {results[client, name]:,.0f} req per CPU-second; "
                  f"client CPU {client_cpu:.2f} s ({errors} errors; server counted {served:,})")
        for client in ("httpx", "raw"):
            print(f"{client} client: registry / reference (bare Starlette, fixed body), per server CPU-second: "
                  f"{results[client, 'registry'] / results[client, 'reference']:.2f}")
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
