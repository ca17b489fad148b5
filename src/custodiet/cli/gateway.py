"""Commands: ``gateway`` (the lookup gateway, served by uvicorn) and ``token issue / revoke / list`` (officers'
bearer tokens for it)."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from custodiet.cli.app import RowFormat, app, err_console, fail, print_rows, store

token_app = typer.Typer(help="Officers' bearer tokens for the lookup gateway (only their digests are stored).",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")

if TYPE_CHECKING:
    from custodiet.store import Store


@token_app.command("issue")
def token_issue(actor: str = typer.Argument(..., help="The account the token is for.")) -> None:
    """Issue a new token for ACTOR and print it, alone on one line: it is shown this once and never
    stored (the store keeps its SHA-256 digest). An actor may hold several tokens."""
    from custodiet.gateway import tokens

    st = store()
    try:
        token = tokens.issue(st, actor)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if not _known_actor(st, actor):
        err_console.print(f"[bold yellow]warning:[/] {actor!r} is not in the actors context table: the gateway "
                          "cannot tell its unit or its cases", soft_wrap=True)
    err_console.print(f"issued a gateway token for {actor}; hand it over now, it cannot be shown again",
                      soft_wrap=True, highlight=False)
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(actor: str = typer.Argument(..., help="The account whose tokens end.")) -> None:
    """Revoke every live token of ACTOR (the gateway refuses them within a second). Exit 1 when it held none."""
    from custodiet.gateway import tokens

    try:
        count = tokens.revoke(store(), actor)
    except tokens.TokenFileError as exc:
        raise fail(str(exc)) from None
    if not count:
        raise fail(f"{actor} holds no live gateway token", code=1)
    err_console.print(f"revoked {count} gateway token(s) of {actor}", soft_wrap=True, highlight=False)


@token_app.command("list")
def token_list(fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table.")) -> None:
    """Every token issued, oldest first: actor, when issued and revoked, and the first 12 hex digits of its
    digest (enough to tell tokens apart; the tokens themselves are not stored)."""
    from custodiet.gateway import tokens

    try:
        records = tokens.list_records(store())
    except tokens.TokenFileError as exc:
        raise fail(str(exc)) from None
    rows = [{"actor": r.actor, "digest": r.sha256[:12], "issued_at": r.issued_at, "revoked_at": r.revoked_at}
            for r in records]
    print_rows(rows, fmt, ["actor", "digest", "issued_at", "revoked_at"])


def _known_actor(st: Store, actor: str) -> bool:
    """Is ``actor`` in the actors context table? (True when there is no such table yet: nothing to say.)"""
    import pyarrow.parquet as pq

    path = st.context_path("actors")
    if not path.exists():
        return True
    return actor in set(pq.read_table(path, columns=["actor"]).column("actor").to_pylist())


class Mode(StrEnum):
    enforce = "enforce"
    warn = "warn"


@app.command("gateway")
def gateway(
    upstream: str = typer.Option(..., "--upstream", help="Base URL of the citizen-data API, e.g. http://127.0.0.1:8090."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port to listen on."),
    mode: Mode = typer.Option(Mode.enforce, "--mode", help="enforce: refuse what no authority covers; warn: allow, "
                                                           "mark and alert."),
    alert_webhook: str | None = typer.Option(None, "--alert-webhook", help="POST every alert's JSON here too."),
    rate_factor: float = typer.Option(5.0, "--rate-factor", min=1.0,
                                      help="Daily limit: this many times the unit's and role's normal day."),
    rate_floor: int = typer.Option(200, "--rate-floor", min=1, help="Daily limit never below this."),
) -> None:
    """Serve the lookup gateway: GET /v1/lookup/{data_kind}/{subject_kind}/{value} with a bearer token and
    X-Custodiet-Authority (optionally X-Custodiet-Break-Glass); GET /healthz.

    Every lookup is checked against the officer's cases and the warrants, limited relative to peers, and
    written to the ledger as one event before its answer leaves; canaries, break-glass and limits raise
    alerts to <home>/alerts.jsonl (and the webhook). Stop it with Ctrl-C or SIGTERM.
    """
    import uvicorn

    from custodiet.gateway.app import GatewaySettings, create_app

    if not upstream.startswith(("http://", "https://")):
        raise fail(f"--upstream {upstream!r} is not an http(s) URL")
    st = store()
    settings = GatewaySettings(st.home, upstream.rstrip("/"), mode is Mode.enforce, alert_webhook, rate_factor,
                               rate_floor)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)
