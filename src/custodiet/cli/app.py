"""The Typer application and its command groups; command modules register on these."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from custodiet.writelock import DEFAULT_TIMEOUT, LockTimeout

if TYPE_CHECKING:
    from custodiet.store import Store

LOCK_TIMEOUT_EXIT = 3  # exit code when a writer gives up waiting for the store's lock


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that nothing more is written to a pipe its reader closed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class _Commands(TyperGroup):
    """The root group: a reader that stops early (``custodiet events --format jsonl | head``) ends the
    command quietly with exit 0; a writer that gave up waiting for the lock says so and exits 3."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(0) from None
        except LockTimeout as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(LOCK_TIMEOUT_EXIT) from None


app = typer.Typer(
    cls=_Commands,
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
    lock_timeout: float = DEFAULT_TIMEOUT


@app.callback()
def _root(
    home: Path | None = typer.Option(
        None, "--home", envvar="CUSTODIET_HOME", help="Store folder (default: ./custodiet-data)."
    ),
    lock_timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--lock-timeout", envvar="CUSTODIET_LOCK_TIMEOUT", min=0, metavar="SECONDS",
        help="How long a write waits for other writers' commits before giving up with exit 3. "
             "Readers never wait."),
) -> None:
    State.home = home
    State.lock_timeout = lock_timeout


def store() -> Store:
    from custodiet.store import Store

    return Store(State.home, lock_timeout=State.lock_timeout)


def error_line(message: str) -> None:
    """Print one error line (never wrapped; the message is not read as markup)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a clear error and return the Exit to raise."""
    error_line(message)  # one line, however long
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
