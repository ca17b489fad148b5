"""The Typer application and its command groups; command modules register on these."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from custodiet.store import Store

app = typer.Typer(
    name="custodiet",
    help="Who looked up whose telecom and identity data, through which channel, under what authority — "
    "and was it justified?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(help="Read sources into the ledger.", no_args_is_help=True)
simulate_app = typer.Typer(help="Write synthetic worlds with planted ground truth.", no_args_is_help=True)
context_app = typer.Typer(help="Context: actors, cases, warrants, protected subjects, networks.",
                          no_args_is_help=True)
context_load_app = typer.Typer(help="Load a context table from a file.", no_args_is_help=True)
context_app.add_typer(context_load_app, name="load")
app.add_typer(ingest_app, name="ingest")
app.add_typer(simulate_app, name="simulate")
app.add_typer(context_app, name="context")

console = Console()
err_console = Console(stderr=True)


class RowFormat(StrEnum):
    jsonl = "jsonl"
    table = "table"


class DocFormat(StrEnum):
    json = "json"
    table = "table"


class State:
    home: Path | None = None


@app.callback()
def _root(
    home: Path | None = typer.Option(
        None, "--home", envvar="CUSTODIET_HOME", help="Store folder (default: ./custodiet-data)."
    ),
) -> None:
    State.home = home


def store() -> Store:
    from custodiet.store import Store

    return Store(State.home)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clear error and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # one line, however long
    return typer.Exit(code)


def time_option(value: str, name: str) -> datetime:
    """An ISO 8601 date or time given to option ``name`` (no zone means UTC), or a clear error."""
    from custodiet.events import parse_time  # here: the CLI's start-up does not load Arrow

    try:
        return parse_time(value)
    except ValueError:
        raise fail(f"{name} {value!r} is not an ISO 8601 date or time") from None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def print_jsonl(rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        typer.echo(json.dumps({k: _jsonable(v) for k, v in row.items()}, ensure_ascii=False))


def print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=_jsonable))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str | None = None,
                max_width: int = 48, wrap: bool = True) -> None:
    """A Rich table; ``wrap=False`` keeps one line per row (cells cut with an ellipsis)."""
    cols = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False)
    for c in cols:
        table.add_column(c, overflow="fold" if wrap else "ellipsis", no_wrap=not wrap, max_width=max_width,
                         min_width=None if wrap else min(len(c), 12))
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(_jsonable(row.get(c))) for c in cols))
    console.print(table)


def print_rows(rows: Sequence[dict[str, Any]], fmt: RowFormat, columns: Sequence[str] | None = None,
               title: str | None = None) -> None:
    if fmt is RowFormat.jsonl:
        print_jsonl(rows)
    else:
        print_table(rows, columns, title)
