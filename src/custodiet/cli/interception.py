"""Commands: ``ingest interception`` (X1 task messages into the ledger) and ``transparency report``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from custodiet.cli.app import (
    DocFormat,
    app,
    console,
    err_console,
    error_line,
    fail,
    ingest_app,
    print_json,
    print_table,
    store,
)

transparency_app = typer.Typer(help="Interception oversight: transparency reports.", no_args_is_help=True)
app.add_typer(transparency_app, name="transparency")


class ReportFormat(StrEnum):
    json = "json"
    md = "md"
    html = "html"


@ingest_app.command("interception")
def ingest_interception(
    files: list[Path] = typer.Argument(..., help="X1 task messages: JSON lines or X1 XML, optionally .gz."),
    fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="Summary as json or table."),
) -> None:
    """Read X1 (ETSI TS 103 221-1) task messages: every Activate, Modify and Deactivate becomes one event per
    target, on the interception channel, with the agency of the warrant its lIID names.

    Load the warrants first (`custodiet context load warrants FILE`): a message whose warrant is unknown at
    ingest keeps `unknown` as its actor (oversight still judges it against the warrants loaded when it runs).
    Messages that cannot be read go to quarantine with their line. Exits 1 when a file is cut short (its
    messages before the cut are stored) or cannot be read, 2 when no file could be read.
    """
    from custodiet.ingest.interception.ingest import ingest_x1

    st = store()
    if not st.context_path("warrants").exists():
        err_console.print("no warrants loaded: the events' actor will be `unknown` "
                          "(load them with: custodiet context load warrants FILE)", markup=False)
    summaries = [ingest_x1(st, path) for path in files]
    rows = [{**s.as_dict(), "skipped": sum(s.skipped.values()), "complete": "no" if s.incomplete else "yes"}
            for s in summaries if not s.error]
    if fmt is DocFormat.json:
        print_json({"files": [s.as_dict() for s in summaries]})
    elif rows:
        print_table(rows, ["name", "form", "messages", "events", "stored", "duplicates", "quarantined", "skipped",
                           "complete"], title="ingest interception")
        if any(s.quarantined for s in summaries):
            err_console.print("see the rejected messages with: custodiet quarantine --channel interception",
                              markup=False)
    failed = [s for s in summaries if s.error]
    for s in failed:
        error_line(s.error or "")
    for s in summaries:
        if s.incomplete:
            error_line(f"incomplete file: {s.incomplete} (the messages before it are stored)")
    if failed and len(failed) == len(summaries):
        raise typer.Exit(2)
    if failed or any(s.incomplete for s in summaries):
        raise typer.Exit(1)


@transparency_app.command("report")
def transparency_report(
    period: str = typer.Option(..., "--period", help="A calendar quarter in UTC, like 2026-Q3."),
    fmt: ReportFormat = typer.Option(ReportFormat.md, "--format", help="json, md or html."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of standard output."),
) -> None:
    """Interception in one quarter: tasks active, started and ended, targets, the share covered by a valid
    warrant, errors by class, by agency, authority level and data kind, and the longest-running tasks.

    Every task is judged against the loaded warrants over the newest signed state of the ledger (stored
    findings are neither read nor changed).
    """
    from custodiet.detect.interception.base import judge_store
    from custodiet.ledger.snapshot import take
    from custodiet.oversight.report import build_transparency, quarter
    from custodiet.report.transparency import RENDERERS

    try:
        quarter(period)
    except ValueError as exc:
        raise fail(str(exc)) from None
    st = store()
    if not take(st).size:
        raise fail(f"no events in {st.home}: ingest interception task messages first")
    if not st.context_path("warrants").exists():
        err_console.print("no warrants loaded: every task counts as having no warrant "
                          "(load them with: custodiet context load warrants FILE)", markup=False)
    judged = judge_store(st)
    text = RENDERERS[fmt.value](build_transparency(period, judged.tasks, judged.verdicts, judged.warrants))
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{out}: cannot write the report: {exc.strerror or exc}") from None
    console.print(f"wrote {out}")
