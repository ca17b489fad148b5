"""Real servers for tests: a process listening on 127.0.0.1 at a free port, stopped by its process id.

    with uvicorn_app("custodiet.simulate.registry.app:from_env", env={"CUSTODIET_REGISTRY_WORLD": str(world)}) as url:
        httpx.get(f"{url}/stats")
    with registry(world) as url:          # `custodiet simulate registry --world WORLD --port PORT`
        ...

Each helper starts the process, waits until it answers HTTP (any status), yields its base URL
(``http://127.0.0.1:PORT``), and on leaving sends SIGTERM to that process id, then SIGKILL if it has not
ended within a few seconds. Its standard output and error go to a temporary file; when it fails to start
the error carries the tail of that output. The free port is found by binding port 0; should another
process take it in between, the start is tried again on a new port.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0  # generous: the test machine is shared
STOP_TIMEOUT_S = 10.0
_TRIES = 3


class ServerFailed(RuntimeError):
    """A server process exited or did not answer in time; the message ends with its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop one process by its id: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def _tail(log: Path, n: int = 3000) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return text[-n:]


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> bool:
    """True once ``url`` answers; False if the process exited (e.g. the port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            httpx.get(url, timeout=1.0)
            return True
        except httpx.TransportError:
            time.sleep(0.05)
    stop(proc)
    raise ServerFailed(f"no answer from {url} within {timeout:.0f} s; its output:\n{_tail(log)}")


@contextlib.contextmanager
def serve(argv: Callable[[int], Sequence[str]], env: Mapping[str, str] | None = None, ready_path: str = "/",
          timeout: float = START_TIMEOUT_S) -> Iterator[str]:
    """Run ``argv(port)`` (a command listening on 127.0.0.1:port) until the block ends; yields the base URL."""
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryDirectory(prefix="server-") as tmp:
        log = Path(tmp) / "output.log"
        for _ in range(_TRIES):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with open(log, "wb") as out:
                proc = subprocess.Popen(list(argv(port)), stdout=out, stderr=subprocess.STDOUT, env=full_env)
            try:
                ready = _wait_ready(proc, url + ready_path, log, timeout)
            except BaseException:
                stop(proc)
                raise
            if ready:
                break
            if b"address already in use" not in log.read_bytes().lower():
                raise ServerFailed(f"{' '.join(argv(port))} exited {proc.returncode}; its output:\n{_tail(log)}")
        else:
            raise ServerFailed(f"no free port after {_TRIES} tries; last output:\n{_tail(log)}")
        try:
            yield url
        finally:
            stop(proc)


def uvicorn_app(factory: str, env: Mapping[str, str] | None = None, ready_path: str = "/",
                timeout: float = START_TIMEOUT_S) -> contextlib.AbstractContextManager[str]:
    """``python -m uvicorn --factory MODULE:FUNC`` on 127.0.0.1 at a free port; yields the base URL."""
    return serve(lambda port: [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                               "--port", str(port), "--log-level", "warning", "--no-access-log"],
                 env, ready_path, timeout)


def registry(world: Path, env: Mapping[str, str] | None = None,
             timeout: float = START_TIMEOUT_S) -> contextlib.AbstractContextManager[str]:
    """``custodiet simulate registry --world WORLD`` on 127.0.0.1 at a free port; yields the base URL."""
    return serve(lambda port: [sys.executable, "-m", "custodiet", "simulate", "registry", "--world", str(world),
                               "--host", "127.0.0.1", "--port", str(port)],
                 env, "/stats", timeout)
