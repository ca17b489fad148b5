"""Commands: token issue / revoke / list (officers' bearer tokens for the lookup gateway)."""

from __future__ import annotations

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
