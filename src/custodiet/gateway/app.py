"""The gateway's HTTP application (Starlette): ``GET /v1/lookup/{data_kind}/{subject_kind}/{value}`` and
``GET /healthz``.

One lookup, in order:
1. the bearer token names the officer; a bad one is answered 401 (slowed, then refused with 429, when one
   address keeps sending bad ones) and is an event with actor ``unknown``;
2. the path is checked (data and subject kinds of the access event's vocabularies, a valid identifier,
   normalised like ingest and pseudonymised);
3. the decision (``policy``): the authority must cover the subject, or break-glass; refused -> 403;
4. the daily limit relative to peers (``limits``) -> 429;
5. the request is journaled (``intents``), then forwarded to the upstream with the same path; its answer
   (status, body, content type) is returned unchanged, a transport failure is 502;
6. before the response leaves, the request's one event is committed to the ledger (``committer``: group
   commit), and the response names it (``X-Custodiet-Event``); when the ledger or the journal cannot be
   written the gateway answers 503 and returns no data.
A canary subject, a break-glass lookup, a limit reached, a burst of bad tokens from many addresses and (in
warn mode) a lookup enforce would refuse each raise an alert (``alerts``) within a second. Every lookup
request, whatever its outcome, is exactly one event on the ``gateway`` channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from yarl import URL

from custodiet.gateway.alerts import AlertSink
from custodiet.gateway.committer import GroupCommitter, LedgerUnavailable, segments_look_writable
from custodiet.gateway.context import LiveContext
from custodiet.gateway.intents import IntentJournal, JournalUnavailable
from custodiet.gateway.limits import FACTOR, FLOOR, DailyLimits
from custodiet.gateway.policy import decide
from custodiet.gateway.throttle import BadTokenBurst, BadTokenThrottle
from custodiet.gateway.tokens import TokenBook
from custodiet.identifiers import InvalidIdentifier, normalise
from custodiet.store import Store
from custodiet.vocabulary import DATA_KINDS, SUBJECT_KINDS

LOOKUP_KINDS = tuple(k for k in SUBJECT_KINDS if k not in ("tmsi", "unknown"))
UPSTREAM_TIMEOUT_S = 10.0
UPSTREAM_CONNECTIONS = 64  # keep-alive connections to the upstream; more lookups at once wait for one
EVENT_HEADER = "X-Custodiet-Event"  # every answer names its event: the reference an audit can ask for


@dataclass
class GatewaySettings:
    home: Path
    upstream: str
    enforce: bool = True
    alert_webhook: str | None = None
    rate_factor: float = FACTOR
    rate_floor: int = FLOOR
    name: str = "gateway"  # the ``source`` of its events


@dataclass
class _State:
    settings: GatewaySettings
    store: Store
    context: LiveContext
    tokens: TokenBook
    throttle: BadTokenThrottle
    burst: BadTokenBurst
    limits: DailyLimits
    committer: GroupCommitter
    journal: IntentJournal
    alerts: AlertSink
    client: aiohttp.ClientSession
    recovered: int = 0
    background: set[asyncio.Task[Any]] = field(default_factory=set)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _records(body: bytes, ok: bool) -> int:
    """How many records the upstream's answer holds: its ``records`` list, a top-level list, else 1 for a
    successful answer and 0 otherwise."""
    try:
        doc = json.loads(body)
    except ValueError:
        return 1 if ok else 0
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        return len(doc["records"])
    if isinstance(doc, list):
        return len(doc)
    return 1 if ok else 0


class _Lookup:
    """One lookup request on its way through: what its event will record."""

    def __init__(self, state: _State, request: Request) -> None:
        self.state, self.request = state, request
        self.event_id = uuid.uuid4().hex
        self.now = datetime.now(UTC)
        self.ip = request.client.host if request.client else "unknown"
        self.data_kind = request.path_params["data_kind"]
        self.subject_kind = request.path_params["subject_kind"]
        self.value = request.path_params["value"]
        self.authority = request.headers.get("x-custodiet-authority") or None
        self.break_glass = request.headers.get("x-custodiet-break-glass") or None
        self.actor: str = "unknown"
        self.org: str | None = None
        self.subject: tuple[str, str] | None = None
        self.committed = False  # its event is in the ledger
        self.attrs: dict[str, Any] = {"client_ip": self.ip, "break_glass": self.break_glass,
                                      "mode": "enforce" if state.settings.enforce else "warn"}

    def event(self, outcome: str, reason: str, status: int, records: int | None = None) -> dict[str, Any]:
        pseudo = self.state.store.pseudonymiser
        kind, subject = self.subject or ("unknown", pseudo.of_normalised("unknown", self.value))
        return {"event_id": self.event_id, "ts": self.now, "channel": "gateway", "actor": self.actor,
                "actor_org": self.org, "subject": subject, "subject_kind": kind,
                "data_kind": self.data_kind if self.data_kind in DATA_KINDS else "identity",
                "operation": "lookup", "authority": self.authority, "outcome": outcome, "records": records,
                "attrs": {**self.attrs, "decision_reason": reason, "status": status},
                "source": f"{self.state.settings.name}:{self.event_id}"}

    def alert(self, kind: str, **more: Any) -> None:
        self.state.alerts.emit({"ts": self.now.isoformat(), "kind": kind, "actor": self.actor,
                                "subject": self.subject[1] if self.subject else None, "event_id": self.event_id,
                                **more})

    async def answer(self, outcome: str, reason: str, status: int, body: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> Response:
        """Commit the event, then answer with a JSON error body."""
        try:
            await self.state.committer.commit(self.event(outcome, reason, status))
        except LedgerUnavailable:
            return _unavailable()
        self.committed = True
        return JSONResponse(body or {"error": _ERRORS.get(status, "refused"), "reason": reason}, status,
                            headers={**(headers or {}), EVENT_HEADER: self.event_id})


_ERRORS = {400: "bad request", 401: "unauthorized", 403: "forbidden", 429: "too many requests",
           502: "bad gateway"}


def _unavailable() -> Response:
    return JSONResponse({"error": "unavailable", "reason": "the ledger cannot be written: nothing is forwarded"},
                        503)


async def lookup(request: Request) -> Response:
    state: _State = request.app.state.gateway
    look = _Lookup(state, request)
    token = _bearer(request)
    actor = state.tokens.actor_of(token) if token else None
    if actor is None:
        verdict, wait = state.throttle.check(look.ip)
        if verdict == "refuse":
            return await look.answer("denied", "too many bad tokens from this address", 429,
                                     headers={"Retry-After": str(max(1, int(wait)))})
        state.throttle.failed(look.ip)
        burst = state.burst.failed(look.ip)
        if burst is not None:
            look.alert("bad_token_burst", **burst)
        if verdict == "slow":
            await asyncio.sleep(wait)
        return await look.answer("denied", "missing or unknown bearer token" if token else "no bearer token", 401,
                                 headers={"WWW-Authenticate": "Bearer"})
    ctx = state.context.get()
    look.actor = actor
    look.org, role = ctx.accounts.get(actor, (None, None))
    if look.data_kind not in DATA_KINDS or look.subject_kind not in LOOKUP_KINDS:
        return await look.answer("error", f"unknown data kind or subject kind ({look.data_kind}/"
                                          f"{look.subject_kind})", 400)
    try:
        normalised = normalise(look.subject_kind, look.value, state.store.rules)
    except InvalidIdentifier as exc:
        return await look.answer("error", f"not a valid {look.subject_kind}: {exc}", 400)
    look.subject = (look.subject_kind, state.store.pseudonymiser.of_normalised(look.subject_kind, normalised))
    owner = ctx.canaries.get(look.subject)
    decision = decide(ctx, actor, look.authority, look.subject, look.data_kind, look.now, look.break_glass,
                      state.settings.enforce)
    look.attrs.update(review=decision.break_glass or decision.would_deny, would_deny=decision.would_deny)
    if owner is not None:
        look.alert("canary", owner=owner, decision=decision.reason)
    if not decision.allowed:
        return await look.answer("denied", decision.reason, 403)
    day = look.now.date()
    within, used, cap = state.limits.take(actor, look.org, role, day)
    if not within:
        look.alert("rate_limit", used=used, limit=cap)
        return await look.answer("denied", f"daily limit reached: {used} lookups today, the limit is {cap} "
                                           f"({state.limits.factor:g}x the normal day of its unit and role)", 429)
    if decision.break_glass:
        look.alert("break_glass", reason=look.break_glass, decision=decision.reason)
    if decision.would_deny:
        look.alert("would_deny", decision=decision.reason)
    if not state.committer.writable or not segments_look_writable(state.store):
        state.limits.give_back(actor, day)
        return _unavailable()
    try:
        await state.journal.write({"event": look.event("error", "recovered: no answer was recorded", 0)})
    except JournalUnavailable:
        state.limits.give_back(actor, day)
        return _unavailable()
    try:
        return await _forward(state, look, request, decision.reason)
    finally:
        state.journal.settle(look.committed)


async def _forward(state: _State, look: _Lookup, request: Request, reason: str) -> Response:
    """Ask the upstream, commit the lookup's event, answer (the request is journaled)."""
    path = request.scope.get("raw_path") or request.url.path.encode()  # forwarded as the officer sent it
    try:
        async with state.client.get(URL(state.settings.upstream + path.decode("latin-1"), encoded=True)) as upstream:
            body, status = await upstream.read(), upstream.status
            media_type = upstream.headers.get("Content-Type", "application/json")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return await look.answer("error", f"upstream unreachable: {type(exc).__name__}", 502)
    ok = 200 <= status < 300
    try:
        await state.committer.commit(look.event("allowed" if ok else "error", reason, status, _records(body, ok)))
    except LedgerUnavailable:
        return _unavailable()
    look.committed = True
    return Response(body, status, headers={EVENT_HEADER: look.event_id}, media_type=media_type)


async def healthz(request: Request) -> Response:
    state: _State = request.app.state.gateway
    return JSONResponse({"ledger_writable": state.committer.writable and segments_look_writable(state.store)})


async def not_found(request: Request) -> Response:
    """Anything else: 401 without a valid token (nothing is said about what exists), 404 with one."""
    state: _State = request.app.state.gateway
    token = _bearer(request)
    if not token or state.tokens.actor_of(token) is None:
        return JSONResponse({"error": "unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"})
    return JSONResponse({"error": "not found"}, 404)


async def _recover(state: _State) -> None:
    """Ledger the journaled requests whose event never reached the ledger (marked ``recovered``)."""
    pending = state.journal.pending()
    if pending:
        con = state.store.connect()
        try:
            ids = [p["event"]["event_id"] for p in pending]
            known = {r[0] for r in con.execute("SELECT event_id FROM events WHERE list_contains(?, event_id)",
                                               [ids]).fetchall()}
        finally:
            con.close()
        for p in pending:
            event = p["event"]
            if event["event_id"] not in known:
                event["ts"] = datetime.fromisoformat(event["ts"])
                event["attrs"] = {**event["attrs"], "recovered": True}
                await state.committer.commit(event)
                state.recovered += 1
    state.journal.clear()


def create_app(settings: GatewaySettings) -> Starlette:
    store = Store(settings.home)
    store.init()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        live = LiveContext(store)
        today = datetime.now(UTC).date()
        state = _State(settings, store, live, TokenBook(store), BadTokenThrottle(), BadTokenBurst(),
                       DailyLimits.from_store(store, live.current.accounts, today, settings.rate_factor,
                                              settings.rate_floor),
                       GroupCommitter(store), IntentJournal(store.home / "gateway" / "journal.jsonl"),
                       AlertSink(store.home, settings.alert_webhook),
                       aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=UPSTREAM_CONNECTIONS),
                                             timeout=aiohttp.ClientTimeout(total=UPSTREAM_TIMEOUT_S),
                                             auto_decompress=False))
        await state.committer.start()
        await state.alerts.start()
        state.journal.open()
        await _recover(state)
        app.state.gateway = state
        try:
            yield
        finally:
            await state.client.close()
            await state.committer.stop()
            await state.alerts.stop()
            state.journal.close()

    routes = [Route("/healthz", healthz), Route("/v1/lookup/{data_kind}/{subject_kind}/{value}", lookup),
              Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])]
    return Starlette(routes=routes, lifespan=lifespan)
