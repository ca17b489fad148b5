"""Commands: case open, note, status, show, list — investigators' cases (``custodiet.cases``)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

import typer
from rich.markup import escape

from custodiet.cli.app import DocFormat, RowFormat, app, console, fail, print_json, print_rows, print_table, store

T = TypeVar("T")

case_app = typer.Typer(help="Investigators' cases: findings grouped under one id, with their chain of custody.",
                       no_args_is_help=True)
app.add_typer(case_app, name="case")

BY_HELP = "Who is acting (kept in the chain of custody). Default: the operating system's user name."


class Status(StrEnum):
    open = "open"
    under_review = "under_review"
    closed = "closed"


def _cases(call: Callable[[], T]) -> T:
    """Run a cases call: a refused request is exit 2, a journal that was changed is exit 1 (one line each)."""
    from custodiet.cases import CaseError, JournalError

    try:
        return call()
    except CaseError as exc:
        raise fail(str(exc), 2) from None
    except JournalError as exc:
        raise fail(str(exc), 1) from None


@case_app.command("open")
def case_open(
    title: str = typer.Option(..., "--title", help="What the case is about."),
    finding: list[str] = typer.Option(..., "--finding", help="A finding id (repeatable), from `custodiet findings`."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Open a case on stored findings; prints the new case id alone on one line."""
    from custodiet.cases import open_case

    typer.echo(_cases(lambda: open_case(store(), title, finding, by)))


@case_app.command("note")
def case_note(
    case_id: str = typer.Argument(..., help="The case id (CASE-000001)."),
    text: str = typer.Option(..., "--text", help="The note."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Add a note to a case."""
    from custodiet.cases import add_note

    record = _cases(lambda: add_note(store(), case_id, text, by))
    typer.echo(f"{case_id}: note {record['seq']} by {record['by']}")


@case_app.command("status")
def case_status(
    case_id: str = typer.Argument(..., help="The case id (CASE-000001)."),
    status: Status = typer.Argument(..., help="The new status."),
    outcome: str | None = typer.Option(None, "--outcome", help="How the case ended (needed to close it)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Move a case to open, under_review or closed (closing needs --outcome)."""
    from custodiet.cases import set_status

    record = _cases(lambda: set_status(store(), case_id, status.value, outcome, by))
    typer.echo(f"{case_id}: {record['from']} -> {record['status']} by {record['by']}")


@case_app.command("show")
def case_show(
    case_id: str = typer.Argument(..., help="The case id (CASE-000001)."),
    fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="json (the whole case, with its history) or "
                                  "table."),
) -> None:
    """Show a case: its state, findings, notes and chain of custody."""
    from custodiet.cases import read_case

    case = _cases(lambda: read_case(store(), case_id))
    if fmt is DocFormat.json:
        print_json(case)
        return
    console.print(f"[bold]{case['case_id']}[/] {escape(case['title'])}", highlight=False)
    typer.echo(f"status: {case['status']}" + (f" (outcome: {case['outcome']})" if case["outcome"] else "")
               + f"; opened {case['opened_at']} by {case['opened_by']}; updated {case['updated_at']}")
    for note in case["notes"]:
        typer.echo(f"note ({note['ts']}, {note['by']}): {note['text']}")
    print_table([{"finding_id": f["finding_id"], "severity": f["severity"], "detector": f["detector"],
                  "actor": f["actor"], "events": len(f["event_ids"] or []), "summary": escape(f["summary"])}
                 for f in case["findings"]], title="findings", max_width=80)
    print_table([{"seq": r["seq"], "ts": r["ts"], "by": r["by"], "action": r["action"], "what": escape(_what(r))}
                 for r in case["history"]], title="chain of custody", max_width=80)


def _what(record: dict) -> str:
    if record["action"] == "open":
        return f"{record['title']} ({len(record['finding_ids'])} findings)"
    if record["action"] == "note":
        return str(record["text"])
    if record["action"] == "status":
        return f"{record['from']} -> {record['status']}" + (f": {record['outcome']}" if record.get("outcome") else "")
    return ""


@case_app.command("list")
def case_list(fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table.")) -> None:
    """List every case, oldest first."""
    from custodiet.cases import list_cases

    rows = _cases(lambda: list_cases(store()))
    if fmt is RowFormat.table:
        rows = [{**r, "finding_ids": len(r["finding_ids"]), "title": escape(r["title"]),
                 "outcome": escape(r["outcome"] or "")} for r in rows]
    print_rows(rows, fmt, ["case_id", "status", "title", "opened_at", "opened_by", "updated_at", "finding_ids",
                           "notes", "outcome"], title=f"{len(rows)} cases")
