"""Commands: detect, findings, rank, trace-leak, canary issue, evaluate."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.markup import escape

from custodiet.cli.app import RowFormat, app, err_console, fail, print_json, print_rows, store, time_option

canary_app = typer.Typer(help="Canary subjects: fake people whose lookup or sale names an account.",
                         no_args_is_help=True)
app.add_typer(canary_app, name="canary")


class Channel(StrEnum):
    portal = "portal"
    signalling = "signalling"


@app.command()
def detect(
    channel: Channel | None = typer.Option(None, help="Run only the detectors of this channel."),
    only: list[str] | None = typer.Option(None, "--only", help="Run only this detector id (repeatable)."),
) -> None:
    """Run the detection suite (every registered detector) and store its findings, replacing the last run."""
    from custodiet.detect.run import run_detectors
    from custodiet.detect.signalling.base import assumptions

    if channel in (None, Channel.signalling) and (not only or any(d.startswith("signalling.") for d in only)):
        for text in assumptions(store()):
            err_console.print(f"[bold yellow]warning:[/] {escape(text)}")

    try:
        report = run_detectors(store(), channel=channel.value if channel else None, only=only,
                               console=err_console)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    rows = [{"detector": d["id"], "revision": d["revision"], "channel": d["channel"], "findings": d["findings"],
             "seconds": d["seconds"], "error": (d["error"] or "").splitlines()[0] if d["error"] else ""}
            for d in report.detectors]
    print_rows(rows, RowFormat.table, title=f"{len(report.findings)} findings in {report.seconds:.1f} s")
    if report.errors:
        for d in report.errors:
            err_console.print(f"[bold red]{d['id']} failed:[/]\n{d['error']}")
        raise typer.Exit(1)


@app.command()
def findings(
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table."),
    actor: str | None = typer.Option(None, help="Only findings about this account or network."),
    channel: Channel | None = typer.Option(None, help="Only findings of this channel's detectors."),
) -> None:
    """List the findings of the last `custodiet detect`, strongest first."""
    from custodiet.detect.run import load_findings

    rows = load_findings(store(), actor=actor, channel=channel.value if channel else None)
    if fmt is RowFormat.table:
        rows = [{**r, "subjects": len(r["subjects"]), "event_ids": len(r["event_ids"]),
                 "score": round(r["score"], 3), "summary": escape(r["summary"])} for r in rows]
        print_rows(rows, fmt, ["severity", "score", "detector", "actor", "summary", "subjects", "event_ids"])
    else:
        print_rows(rows, fmt)


@app.command()
def rank(
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table."),
    channel: Channel = typer.Option(Channel.portal, help="portal: accounts; signalling: foreign networks."),
    limit: int | None = typer.Option(None, help="Show only the first N."),
) -> None:
    """Actors in descending order of risk, each with its findings' sentences."""
    from custodiet.detect import risk
    from custodiet.detect.run import load_findings

    rows = risk.rank(load_findings(store(), channel=channel.value))[:limit]
    if fmt is RowFormat.table:
        rows = [{**r, "findings": escape("\n".join(r["findings"][:3]) + (
            f"\n… {len(r['findings']) - 3} more" if len(r["findings"]) > 3 else ""))} for r in rows]
        print_rows(rows, fmt, ["rank", "actor", "risk", "severity", "findings"])
    else:
        print_rows(rows, fmt)


@app.command("trace-leak")
def trace_leak(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or JSON lines: subject, subject_kind."),
    listed_at: str = typer.Option(..., "--listed-at", help="When the sample was listed (ISO date or time)."),
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table."),
    limit: int = typer.Option(10, help="How many accounts to show."),
) -> None:
    """Rank the accounts whose lookups before the listing best explain a leaked sample."""
    from custodiet import leaks

    when = time_option(listed_at, "--listed-at")
    try:
        result = leaks.trace(store(), file, when, limit=limit)
    except leaks.LeakInputError as exc:
        raise fail(str(exc)) from exc
    for where, reason in result.rejected:
        err_console.print(f"[yellow]skipped[/] {where}: {reason}")
    err_console.print(f"{result.sample} people in the sample, {result.known} of them looked up before "
                      f"{when:%Y-%m-%d %H:%M}Z; {len(result.rejected)} record(s) skipped")
    rows = result.rows
    if fmt is RowFormat.table:
        rows = [{**r, "expected": f"{r['expected']:.3g}", "p_value": f"{r['p_value']:.2g}"} for r in rows]
    print_rows(rows, fmt, ["rank", "actor", "score", "matched", "sample", "expected", "p_value", "canary"])
    if fmt is RowFormat.table and result.rows:
        err_console.print(leaks.verdict(result, file.name, when))


@canary_app.command("issue")
def canary_issue(
    actor: str | None = typer.Option(None, help="The account the canaries are for."),
    org: str | None = typer.Option(None, help="The unit the canaries are for."),
    count: int = typer.Option(1, min=1, help="How many."),
    kind: str = typer.Option("msisdn", help="msisdn, nid or imei."),
    prefix: str | None = typer.Option(None, help="The reserved block to draw from (digits)."),
) -> None:
    """Create canary subjects for an account or unit; prints their cleartext ONCE, for the operator to plant."""
    from custodiet import canary as canaries

    try:
        issued = canaries.issue(store(), actor=actor, org=org, count=count, kind=kind, prefix=prefix)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    err_console.print("[bold]Plant these now; their cleartext is not stored and will not be shown again.[/]")
    for c in issued:
        typer.echo(f"{c.subject_kind}\t{c.cleartext}\t{c.actor or 'unit ' + str(c.org)}")


@app.command()
def evaluate(truth: Path = typer.Option(..., exists=True, dir_okay=False, help="The world's truth.json.")) -> None:
    """Score the ranking and leak tracing against a simulated world's truth (JSON)."""
    from custodiet.evaluate import evaluate as evaluate_world

    try:
        print_json(evaluate_world(store(), truth))
    except ValueError as exc:  # leaks.LeakInputError included
        raise fail(str(exc)) from exc
