"""Commands: detect, findings, rank, trace-leak, canary issue, evaluate."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from custodiet.cli.app import (
    RowFormat,
    app,
    err_console,
    fail,
    print_json,
    print_jsonl,
    print_rows,
    print_table,
    store,
    time_option,
)

if TYPE_CHECKING:
    from custodiet.store import Store

canary_app = typer.Typer(help="Canary subjects: fake people whose lookup or sale names an account.",
                         no_args_is_help=True)
app.add_typer(canary_app, name="canary")


class Channel(StrEnum):
    portal = "portal"
    signalling = "signalling"
    interception = "interception"


@app.command()
def detect(
    channel: Channel | None = typer.Option(None, help="Run only the detectors of this channel."),
    only: list[str] | None = typer.Option(None, "--only", help="Run only this detector id (repeatable)."),
) -> None:
    """Run the detectors (all, one channel's, or --only) over the newest signed state of the ledger and store
    their findings, replacing those of the same detectors only."""
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
    print_rows(rows, RowFormat.table, title=f"{len(report.findings)} findings in {report.seconds:.1f} s, "
               f"covering {report.tree_size:,} events")
    for kept in report.kept:
        err_console.print(f"[yellow]kept[/] the stored findings of {kept}: another run covered more events")
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
    """List the stored findings of every detector (each from the last `custodiet detect` that ran it),
    strongest first; says on stderr how many events arrived since they were computed."""
    from custodiet.detect.run import load_findings

    st = store()
    rows = load_findings(st, actor=actor, channel=channel.value if channel else None)
    _coverage_note(st, channel.value if channel else None)
    if fmt is RowFormat.table:
        rows = [{**r, "subjects": len(r["subjects"]), "event_ids": len(r["event_ids"]),
                 "score": round(r["score"], 3), "summary": escape(r["summary"])} for r in rows]
        print_rows(rows, fmt, ["severity", "score", "detector", "actor", "summary", "subjects", "event_ids"])
    else:
        print_rows(rows, fmt)


@app.command()
def rank(
    fmt: RowFormat = typer.Option(RowFormat.table, "--format", help="jsonl or table."),
    channel: Channel = typer.Option(Channel.portal,
                                    help="portal: accounts; signalling: foreign networks; interception: agencies."),
    limit: int | None = typer.Option(None, help="Show only the first N."),
) -> None:
    """Actors in descending order of risk, each with its findings' sentences."""
    from custodiet.detect import risk
    from custodiet.detect.run import load_findings

    st = store()
    rows = risk.rank(load_findings(st, channel=channel.value))[:limit]
    _coverage_note(st, channel.value)
    if fmt is RowFormat.table:
        rows = [{**r, "findings": escape("\n".join(r["findings"][:3]) + (
            f"\n… {len(r['findings']) - 3} more" if len(r["findings"]) > 3 else ""))} for r in rows]
        print_rows(rows, fmt, ["rank", "actor", "risk", "severity", "findings"])
    else:
        print_rows(rows, fmt)


def _coverage_note(st: Store, channel: str | None) -> None:
    """Tell (on stderr) which state of the ledger the stored findings cover and how much arrived since."""
    from custodiet.detect.run import arrived_since

    covered, since = arrived_since(st, channel)
    if covered is None:
        err_console.print("no stored findings yet: run `custodiet detect`")
    elif since:
        err_console.print(f"findings cover the first {covered:,} events; {since:,} events have arrived since "
                          "(run `custodiet detect` to include them)")
    else:
        err_console.print(f"findings cover all {covered:,} events (0 have arrived since)")


@app.command("trace-leak")
def trace_leak(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV or JSON lines: subject, subject_kind, optionally data_kind (what was sold)."),
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
        raise fail(str(exc)) from None
    for where, reason in result.rejected:
        err_console.print(f"[yellow]skipped[/] {where}: {reason}")
    err_console.print(f"{result.sample} people in the sample, {result.known} of them looked up before "
                      f"{when:%Y-%m-%d %H:%M}Z; {len(result.rejected)} record(s) skipped")
    rows = result.rows
    if fmt is RowFormat.table:
        # short headers: "sold" = matches pulled with a kind that sells (or the listing names), "no case" =
        # matches no case explained; the sample size is in the line above
        rows = [{**r, "expected": f"{r['expected']:.3g}", "p_value": f"{r['p_value']:.2g}",
                 "sold": r.get("matched_sold_kinds"), "no case": r.get("matched_unexplained")} for r in rows]
    print_rows(rows, fmt, ["rank", "actor", "score", "matched", "expected", "p_value", "sold", "no case", "canary"])
    if fmt is RowFormat.table and result.rows:
        err_console.print(leaks.verdict(result, file.name, when))


@canary_app.command("issue")
def canary_issue(
    actor: str | None = typer.Option(None, help="The account the canaries are for."),
    org: str | None = typer.Option(None, help="The unit the canaries are for."),
    count: int = typer.Option(1, min=1, help="How many."),
    kind: str = typer.Option("msisdn", help="msisdn, nid or imei."),
    prefix: str | None = typer.Option(
        None, metavar="DIGITS",
        help="The block the operator reserved for canaries (digits; for msisdn starting with the country code). "
             "Default: [canary.prefix] in the settings; with neither, issuing is refused."),
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
def evaluate(
    truth: Path | None = typer.Option(None, exists=True, dir_okay=False, help="One world's truth.json."),
    family: Path | None = typer.Option(None, exists=True, file_okay=False,
                                       help="A folder of worlds (each with truth.json and home/): mean and worst."),
    fmt: RowFormat = typer.Option(RowFormat.table, "--format",
                                  help="With --family: table (per world, mean, worst) or jsonl."),
) -> None:
    """Score the ranking and leak tracing (or the signalling findings) against simulated worlds' truth.

    ``--truth`` scores this store against one world (JSON). ``--family`` scores a folder of worlds, each
    loaded into its own ``home/``, and prints every world's figures, their mean and the worst world.
    """
    if (truth is None) == (family is None):
        raise fail("give exactly one of --truth FILE or --family DIR")
    if truth is not None:
        _check_truth_file(truth)
    try:
        if truth is not None:
            from custodiet.evaluate import evaluate as evaluate_world

            print_json(evaluate_world(store(), truth))
            return
        from custodiet.families import evaluate_family

        assert family is not None
        doc = evaluate_family(family, progress=lambda name: err_console.print(f"evaluating {name}"))
    except ValueError as exc:  # leaks.LeakInputError included
        raise fail(str(exc)) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise fail(f"{truth or family}: not a truth file this version understands "
                   f"({type(exc).__name__}: {exc})") from None
    if fmt is RowFormat.jsonl:
        print_jsonl(doc["worlds"])
        print_jsonl([{"summary": name, **figure} for name, figure in doc["summary"].items()])
        return
    print_table(doc["worlds"], title=f"{doc['channel']} family {doc['family']}: {len(doc['worlds'])} worlds",
                wrap=False)
    print_table([{"figure": name, **figure} for name, figure in doc["summary"].items()],
                title="mean and worst world")


def _check_truth_file(truth: Path) -> None:
    """A truth file must read whole and be a JSON object: one clear line otherwise."""
    import json

    from custodiet.ingest.guard import InputError, read_text

    try:
        doc = json.loads(read_text(truth))
    except InputError as exc:
        raise fail(str(exc)) from None
    except ValueError as exc:
        raise fail(f"{truth}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise fail(f"{truth}: not a truth file (expected a JSON object with a 'world' key)")
