"""Alerts: written to alerts.jsonl at once, delivered to a real webhook within a second, retried while it
fails, dead-lettered when it stays down."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from custodiet.gateway.alerts import AlertSink


class Webhook:
    """A real HTTP server in a thread that records what it is POSTed. ``fail_first`` answers the first n
    attempts of every alert with ``fail_status``; ``delay_s`` holds every answer back."""

    def __init__(self, fail_first: int = 0, fail_status: int = 503, delay_s: float = 0.0):
        self.received: list[tuple[float, dict]] = []
        self.attempts: dict[str, int] = {}
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the sink's pool reuses connections

            def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
                body = self.rfile.read(int(self.headers["Content-Length"]))
                alert = json.loads(body)
                with hook.lock:
                    n = hook.attempts[alert["event_id"]] = hook.attempts.get(alert["event_id"], 0) + 1
                time.sleep(delay_s)
                status = fail_status if n <= fail_first else 204
                if status == 204:
                    with hook.lock:
                        hook.received.append((time.monotonic(), alert))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 64  # http.server's 5 drops SYNs of a burst of new connections (a 1 s retry)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alert(i: int, kind: str = "canary") -> dict:
    return {"ts": datetime(2026, 3, 1, 9, 0, i, tzinfo=UTC), "kind": kind, "actor": f"officer-{i}",
            "subject": f"{i:064x}", "event_id": f"{i:032x}", "detail": {"data_kind": "location"}}


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_alerts_are_written_at_once_and_reach_the_webhook_within_a_second(home):
    with Webhook() as hook:
        async def run() -> dict[str, float]:
            sink = AlertSink(home, hook.url)
            await sink.start()
            emitted = {}
            for i in range(20):
                sink.emit(alert(i))
                emitted[f"{i:032x}"] = time.monotonic()
                # on disk before anything awaited: a reader of alerts.jsonl sees it at once
                assert lines(home / "alerts.jsonl")[-1]["event_id"] == f"{i:032x}"
            deadline = time.monotonic() + 2
            while len(hook.received) < 20 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await sink.stop()
            return emitted

        emitted = asyncio.run(run())
    assert len(hook.received) == 20
    for at, body in hook.received:
        assert at - emitted[body["event_id"]] < 1.0
    written = lines(home / "alerts.jsonl")
    assert sorted(json.dumps(b, sort_keys=True) for _, b in hook.received) == sorted(
        json.dumps(w, sort_keys=True) for w in written)  # the file and the webhook get the same object
    assert written[0]["ts"] == "2026-03-01T09:00:00.000000Z"
    assert not (home / "alerts.deadletter.jsonl").exists()


def test_a_failing_webhook_is_retried_until_it_answers(home):
    with Webhook(fail_first=2, fail_status=503) as hook:
        async def run() -> AlertSink:
            sink = AlertSink(home, hook.url, retries=5, backoff_s=0.02)
            await sink.start()
            for i in range(3):
                sink.emit(alert(i, "break_glass"))
            deadline = time.monotonic() + 3
            while len(hook.received) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await sink.stop()
            return sink

        sink = asyncio.run(run())
    assert sorted(b["event_id"] for _, b in hook.received) == [f"{i:032x}" for i in range(3)]
    assert hook.attempts == {f"{i:032x}": 3 for i in range(3)}
    assert sink.stats.retried == 6
    assert not (home / "alerts.deadletter.jsonl").exists()


def test_a_webhook_that_stays_down_dead_letters_after_the_last_retry(home):
    url = f"http://127.0.0.1:{free_port()}/alerts"  # nothing listens there

    async def run() -> float:
        sink = AlertSink(home, url, retries=3, backoff_s=0.01)
        await sink.start()
        started = time.monotonic()
        sink.emit(alert(7, "rate_limit"))
        while not (home / "alerts.deadletter.jsonl").exists() and time.monotonic() - started < 3:
            await asyncio.sleep(0.005)
        took = time.monotonic() - started
        await sink.stop()
        return took

    took = asyncio.run(run())
    dead = lines(home / "alerts.deadletter.jsonl")
    assert len(dead) == 1
    assert dead[0]["alert"]["event_id"] == f"{7:032x}"
    assert dead[0]["attempts"] == 4
    assert "Connect" in dead[0]["error"]
    assert took >= 0.01 + 0.02 + 0.04  # it waited between attempts
    assert lines(home / "alerts.jsonl")[0]["kind"] == "rate_limit"  # the local copy is kept regardless


def test_a_refusal_is_not_retried(home):
    with Webhook(fail_first=99, fail_status=400) as hook:
        async def run() -> None:
            sink = AlertSink(home, hook.url, retries=5, backoff_s=0.01)
            await sink.start()
            sink.emit(alert(1))
            deadline = time.monotonic() + 2
            while not (home / "alerts.deadletter.jsonl").exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await sink.stop()

        asyncio.run(run())
    assert hook.attempts == {f"{1:032x}": 1}
    dead = lines(home / "alerts.deadletter.jsonl")
    assert dead[0]["attempts"] == 1
    assert "HTTP 400" in dead[0]["error"]


def test_stop_dead_letters_what_could_not_be_delivered_in_time(home):
    with Webhook(delay_s=1.5) as hook:
        async def run() -> None:
            sink = AlertSink(home, hook.url, timeout_s=5.0, drain_s=0.2, concurrency=2)
            await sink.start()
            for i in range(5):
                sink.emit(alert(i))
            await asyncio.sleep(0.05)
            await sink.stop()

        asyncio.run(run())
    dead = lines(home / "alerts.deadletter.jsonl")
    assert sorted(d["alert"]["event_id"] for d in dead) == [f"{i:032x}" for i in range(5)]
    assert all("stopped" in d["error"] for d in dead)
    assert len(lines(home / "alerts.jsonl")) == 5


def test_without_a_webhook_alerts_go_to_the_file_only(home):
    async def run() -> None:
        sink = AlertSink(home)
        await sink.start()
        sink.emit(alert(3))
        with pytest.raises(ValueError, match="lacks subject, event_id"):
            sink.emit({"ts": datetime.now(UTC), "kind": "canary", "actor": "a"})
        await sink.stop()

    asyncio.run(run())
    assert [a["event_id"] for a in lines(home / "alerts.jsonl")] == [f"{3:032x}"]
