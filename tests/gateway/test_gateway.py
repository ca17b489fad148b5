"""The lookup gateway, served for real by uvicorn in front of the simulated registry, asked over real HTTP.

Every path of a lookup: allowed, each reason to refuse, break-glass, the daily limit under concurrent
requests, a canary's alert reaching a webhook within a second, bad tokens and brute force, an upstream that
is down, fail-closed when the ledger cannot be written, warn mode, and that every request is one event.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from custodiet.store import Store
from tests.conftest import run_cli
from tests.gateway.servers import registry, serve
from tests.gateway.world import CASE, IMEI, MSISDN, NID, STRANGER, write_world

OTHER_CASE, CLOSED_CASE, WARRANT = "INV-2/2026/0002", "INV-1/2025/0009", "W-2026-001"
IMSI = "470010123456789"
CANARY_BLOCK = "88017999"
GLASS = "suspect fled, case file pending"


@dataclass
class Webhook:
    """A real HTTP server that records every alert POSTed to it, with the time it arrived."""

    received: list[tuple[float, dict]] = field(default_factory=list)
    url: str = ""

    def wait_for(self, kind: str, after: float, timeout: float = 3.0) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, alert in self.received:
                if alert.get("kind") == kind and at >= after:
                    return at, alert
            time.sleep(0.01)
        raise AssertionError(f"no {kind} alert within {timeout} s; got {self.received}")


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            hook.received.append((time.monotonic(), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.request_queue_size = 64
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()


def prepare(root: Path) -> tuple[Path, Path, dict[str, str], str]:
    """A world, a store with its context, tokens and a canary: (world, home, tokens by actor, canary)."""
    world = write_world(root / "world")
    home = root / "home"
    (root / "cases.csv").write_text(f"case_id,org,opened,closed\n{CASE},INV-1,2026-05-20T08:00:00Z,\n"
                                    f"{OTHER_CASE},INV-2,2026-05-20T08:00:00Z,\n"
                                    f"{CLOSED_CASE},INV-1,2025-01-01T00:00:00Z,2025-06-01T00:00:00Z\n")
    (root / "case_subjects.csv").write_text(f"case_id,subject,subject_kind\n{CASE},00{MSISDN},msisdn\n"
                                            f"{CASE},{IMEI},imei\n{OTHER_CASE},{NID},nid\n"
                                            f"{CLOSED_CASE},{NID},nid\n")
    (root / "warrants.csv").write_text(
        "warrant_id,agency,issuer,authority_level,target,target_kind,data_kinds,valid_from,valid_to\n"
        f"{WARRANT},Police,Judge,judicial,{IMSI},imsi,metadata,2026-01-01,2030-01-01\n")
    run_cli("context", "load", "actors", str(world / "actors.csv"), home=home)
    for kind, name in (("cases", "cases"), ("case-subjects", "case_subjects"), ("warrants", "warrants")):
        run_cli("context", "load", kind, str(root / f"{name}.csv"), home=home)
    tokens = {a: run_cli("token", "issue", a, home=home).stdout.strip() for a in ("inv-1.01", "ver-1.01")}
    canary = run_cli("canary", "issue", "--actor", "inv-1.01", "--prefix", CANARY_BLOCK, home=home).stdout.split()[1]
    return world, home, tokens, canary


def gateway(home: Path, upstream: str, *extra: str) -> contextlib.AbstractContextManager[str]:
    return serve(lambda port: [sys.executable, "-m", "custodiet", "--home", str(home), "gateway", "--upstream",
                               upstream, "--port", str(port), *extra], ready_path="/healthz")


@dataclass
class Setup:
    home: Path
    url: str
    upstream: str
    tokens: dict[str, str]
    canary: str

    def get(self, path: str, actor: str | None = "inv-1.01", authority: str | None = CASE,
            glass: str | None = None, token: str | None = None) -> httpx.Response:
        headers = {}
        if token or actor:
            headers["Authorization"] = f"Bearer {token or self.tokens[actor or '']}"
        if authority:
            headers["X-Custodiet-Authority"] = authority
        if glass:
            headers["X-Custodiet-Break-Glass"] = glass
        return httpx.get(f"{self.url}/v1/lookup/{path}", headers=headers, timeout=15)

    def served(self) -> int:
        return int(httpx.get(f"{self.upstream}/stats", timeout=5).json()["requests"])

    def events(self) -> list[dict]:
        con = Store(self.home).connect()
        try:
            rows = con.execute("SELECT * FROM events WHERE channel = 'gateway' ORDER BY ts").to_arrow_table()
        finally:
            con.close()
        return [{**r, "attrs": json.loads(r["attrs"])} for r in rows.to_pylist()]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[Setup]:
    world, home, tokens, canary = prepare(tmp_path_factory.mktemp("gateway"))
    with registry(world) as upstream, gateway(home, upstream, "--alert-webhook", webhook.url) as url:
        yield Setup(home, url, upstream, tokens, canary)


def test_an_allowed_lookup_is_answered_unchanged_and_ledgered(setup: Setup) -> None:
    before = setup.served()
    direct = httpx.get(f"{setup.upstream}/v1/lookup/cdr/msisdn/{MSISDN}", timeout=5)
    got = setup.get(f"cdr/msisdn/{MSISDN}")
    assert got.status_code == 200
    assert got.content == direct.content
    assert got.headers["content-type"] == direct.headers["content-type"]
    assert setup.served() == before + 2
    event = next(e for e in setup.events() if e["attrs"]["status"] == 200 and e["subject_kind"] == "msisdn")
    assert (event["actor"], event["actor_org"], event["outcome"], event["authority"]) == \
        ("inv-1.01", "INV-1", "allowed", CASE)
    assert event["records"] == len(direct.json()["records"])
    assert event["attrs"]["client_ip"] == "127.0.0.1"
    assert MSISDN not in json.dumps(event, default=str)  # the subject is a pseudonym
    warrant = setup.get(f"subscriber/imsi/{IMSI}", authority=WARRANT)
    assert warrant.status_code == 200


@pytest.mark.parametrize(("path", "authority", "reason"), [
    (f"cdr/msisdn/{MSISDN}", None, "no authority given"),
    (f"identity/nid/{NID}", OTHER_CASE, "belongs to unit INV-2"),
    (f"identity/nid/{NID}", CLOSED_CASE, "is closed"),
    (f"cdr/msisdn/{STRANGER}", CASE, "does not list this msisdn"),
    (f"cdr/msisdn/{MSISDN}", "NO-SUCH-CASE", "neither a case nor a warrant"),
    (f"location/imsi/{IMSI}", WARRANT, "does not authorise location"),
])
def test_each_reason_to_refuse(setup: Setup, path: str, authority: str | None, reason: str) -> None:
    before = setup.served()
    got = setup.get(path, authority=authority)
    assert got.status_code == 403
    assert reason in got.json()["reason"]
    assert setup.served() == before  # the upstream was never called
    assert any(e["outcome"] == "denied" and reason in e["attrs"]["decision_reason"] for e in setup.events())


def test_break_glass(setup: Setup, webhook: Webhook) -> None:
    assert setup.get(f"identity/nid/{NID}", authority=None, glass="urgent").status_code == 403  # too short
    sent = time.monotonic()
    got = setup.get(f"identity/nid/{NID}", authority=None, glass=GLASS)
    assert got.status_code == 200
    at, alert = webhook.wait_for("break_glass", sent)
    assert at - sent < 1.0
    assert alert["actor"] == "inv-1.01"
    event = next(e for e in setup.events() if e["event_id"] == alert["event_id"])
    assert event["attrs"]["review"] is True
    assert event["attrs"]["break_glass"] == GLASS


def test_a_canary_alerts_within_a_second_whatever_the_decision(setup: Setup, webhook: Webhook) -> None:
    sent = time.monotonic()
    got = setup.get(f"cdr/msisdn/{setup.canary}")
    assert got.status_code == 403  # no case lists it
    at, alert = webhook.wait_for("canary", sent)
    assert at - sent < 1.0
    assert setup.canary not in json.dumps(alert)  # the pseudonym, never the cleartext
    lines = [json.loads(x) for x in (setup.home / "alerts.jsonl").read_text().splitlines()]
    assert any(a["kind"] == "canary" and a["event_id"] == alert["event_id"] for a in lines)


def test_bad_tokens_are_events_and_brute_force_is_refused(setup: Setup) -> None:
    bad = "cgw_" + "x" * 43
    got = setup.get(f"cdr/msisdn/{MSISDN}", token=bad)
    assert got.status_code == 401
    assert "records" not in got.text
    assert any(e["actor"] == "unknown" and e["outcome"] == "denied" and e["attrs"]["status"] == 401
               for e in setup.events())
    codes = [setup.get(f"cdr/msisdn/{MSISDN}", token=bad).status_code for _ in range(60)]
    assert codes.count(429) >= 5
    assert set(codes) <= {401, 429}
    assert setup.get(f"cdr/msisdn/{MSISDN}").status_code == 200  # a valid token from the same address


def test_unauthenticated_paths_say_nothing(setup: Setup) -> None:
    assert httpx.get(f"{setup.url}/healthz", timeout=5).json() == {"ledger_writable": True}
    for path in ("/", "/v1/lookup", "/admin", "/v1/lookup/cdr/msisdn"):
        got = httpx.get(setup.url + path, timeout=5)
        assert got.status_code == 401
        assert got.json() == {"error": "unauthorized"}


def test_every_request_is_exactly_one_event(setup: Setup) -> None:
    before = len(setup.events())
    codes = [setup.get(f"cdr/msisdn/{MSISDN}").status_code, setup.get("cdr/msisdn/12").status_code,
             setup.get(f"bogus/msisdn/{MSISDN}").status_code, setup.get(f"cdr/msisdn/{MSISDN}", authority=None)
             .status_code]
    assert codes == [200, 400, 400, 403]
    assert len(setup.events()) == before + 4


def test_the_daily_limit_holds_under_concurrent_requests(tmp_path: Path) -> None:
    world, home, tokens, _ = prepare(tmp_path)
    with registry(world) as upstream, gateway(home, upstream, "--rate-floor", "7", "--rate-factor", "1") as url:
        s = Setup(home, url, upstream, tokens, "")
        with ThreadPoolExecutor(12) as pool:
            codes = list(pool.map(lambda _: s.get(f"cdr/msisdn/{MSISDN}").status_code, range(30)))
        assert codes.count(200) == 7
        assert codes.count(429) == 23
        assert s.served() == 7
        refused = [e for e in s.events() if e["attrs"]["status"] == 429]
        assert len(refused) == 23
        assert "daily limit" in refused[0]["attrs"]["decision_reason"]


def test_upstream_down_is_502_and_ledgered(tmp_path: Path) -> None:
    _, home, tokens, _ = prepare(tmp_path)
    from tests.gateway.servers import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with gateway(home, dead) as url:
        s = Setup(home, url, dead, tokens, "")
        got = s.get(f"cdr/msisdn/{MSISDN}")
        assert got.status_code == 502
        assert [e["outcome"] for e in s.events()] == ["error"]


def test_warn_mode_allows_marks_and_alerts(tmp_path: Path, webhook: Webhook) -> None:
    world, home, tokens, _ = prepare(tmp_path)
    with registry(world) as upstream, gateway(home, upstream, "--mode", "warn", "--alert-webhook", webhook.url) as url:
        s = Setup(home, url, upstream, tokens, "")
        sent = time.monotonic()
        assert s.get(f"cdr/msisdn/{STRANGER}").status_code == 200
        webhook.wait_for("would_deny", sent)
        assert s.events()[-1]["attrs"]["would_deny"] is True


def test_fail_closed_when_the_ledger_cannot_be_written(tmp_path: Path) -> None:
    world, home, tokens, _ = prepare(tmp_path)
    with registry(world) as upstream, gateway(home, upstream) as url:
        s = Setup(home, url, upstream, tokens, "")
        assert s.get(f"cdr/msisdn/{MSISDN}").status_code == 200
        segments = home / "ledger" / "segments"
        moved = segments.with_name("segments.away")
        segments.rename(moved)
        segments.write_text("not a folder")  # even root cannot write a segment into a file
        before = s.served()
        try:
            got = s.get(f"cdr/msisdn/{MSISDN}")
            assert got.status_code == 503
            assert "records" not in got.text
            assert s.served() == before  # nothing forwarded
            assert httpx.get(f"{url}/healthz", timeout=5).json() == {"ledger_writable": False}
        finally:
            segments.unlink()
            moved.rename(segments)
        deadline = time.monotonic() + 10
        while s.get(f"cdr/msisdn/{MSISDN}").status_code != 200:
            assert time.monotonic() < deadline, "the gateway did not recover once the ledger was writable"
            time.sleep(0.2)
    run_cli("verify", home=home)


def test_kill_9_under_load_loses_no_answered_event(tmp_path: Path) -> None:
    """Clients hammer the gateway; it is killed with SIGKILL mid-load and started again. Every answer a
    client received names its event (X-Custodiet-Event), and each of those events is in the ledger, which
    verifies."""
    import os
    import signal
    import subprocess

    from tests.gateway.servers import free_port

    world, home, tokens, _ = prepare(tmp_path)
    received: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()

    def client(url: str) -> None:
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                try:
                    r = http.get(f"{url}/v1/lookup/cdr/msisdn/{MSISDN}", headers={
                        "Authorization": f"Bearer {tokens['inv-1.01']}", "X-Custodiet-Authority": CASE})
                except httpx.HTTPError:
                    continue
                statuses.append(r.status_code)
                if "x-custodiet-event" in r.headers:
                    received.append(r.headers["x-custodiet-event"])

    with registry(world) as upstream:
        port = free_port()
        url = f"http://127.0.0.1:{port}"

        def argv(port: int) -> list[str]:
            return [sys.executable, "-m", "custodiet", "--home", str(home), "gateway", "--upstream", upstream,
                    "--port", str(port), "--rate-floor", "100000"]

        proc = subprocess.Popen(argv(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(url)
        threads = [threading.Thread(target=client, args=(url,)) for _ in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(received) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stop.set()
        for t in threads:
            t.join()
        assert len(received) >= 150, (len(statuses), statuses[-5:], received[:3])
        with serve(argv, ready_path="/healthz"):
            pass  # the restart heals the ledger and ledgers what the journal held
    con = Store(home).connect()
    try:
        stored = {r[0] for r in con.execute("SELECT event_id FROM events WHERE channel = 'gateway'").fetchall()}
    finally:
        con.close()
    assert set(received) <= stored
    run_cli("verify", home=home)


def _wait(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not start")
