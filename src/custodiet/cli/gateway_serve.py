"""Command: ``gateway`` (the lookup gateway, served by uvicorn)."""

from __future__ import annotations

from enum import StrEnum

import typer

from custodiet.cli.app import app, fail, store


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
