"""Commands: simulate (synthetic worlds with planted ground truth)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer

from custodiet.cli.app import fail, simulate_app
from custodiet.simulate.interception.config import MAX_AGENCIES, MIN_AGENCIES, InterceptionConfig
from custodiet.simulate.portal.config import PortalConfig


def _parse_date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"--end {text!r} is not a date like 2026-06-30") from None


def _generated(write: Callable[[], dict[str, Any]], out: Path) -> tuple[dict[str, Any], float]:
    """Run a simulator that writes a world into ``out``: (its truth, seconds); a clear error otherwise."""
    began = time.perf_counter()
    try:
        truth = write()
    except ValueError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{out}: cannot write the world there: {exc.strerror or exc}") from None
    return truth, time.perf_counter() - began


@simulate_app.command("portal")
def simulate_portal(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into (created if missing)."),
    seed: int = typer.Option(..., "--seed", help="Random seed; the same seed gives byte-identical files."),
    actors: int = typer.Option(PortalConfig.actors, "--actors", help="Number of portal accounts (officers)."),
    days: int = typer.Option(PortalConfig.days, "--days", help="Length of the world in days."),
    end: str = typer.Option(PortalConfig.end.isoformat(), "--end", help="Last (local) day of the world."),
) -> None:
    """Write a portal world: access_log.csv, actors/cases/case_subjects/protected.csv, leaks/, truth.json.

    Units of officers work their cases (verification cells look up strangers all day); planted abusers
    of every kind (bulk and quiet sellers, VIP snooping, stalking, enumeration, case misuse, a hijacked
    account, ramp-up) act among them, and samples of the sellers' data turn up for sale in leaks/.
    """
    from custodiet.simulate.portal import generate

    cfg = PortalConfig(seed=seed, actors=actors, days=days, end=_parse_date(end))
    truth, took = _generated(lambda: generate(cfg, out), out)
    typer.echo(f"wrote {out}: {truth['events']:,} events, {actors} actors, {days} days "
                  f"({truth['start']} to {truth['end']}), {len(truth['abusers'])} planted abusers, "
                  f"{len(truth['leaks'])} leaks in {took:.1f} s")


@simulate_app.command("interception")
def simulate_interception(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into (created if missing)."),
    seed: int = typer.Option(..., "--seed", help="Random seed; the same seed gives byte-identical files."),
    agencies: int = typer.Option(InterceptionConfig.agencies, "--agencies",
                                 help=f"Number of agencies ({MIN_AGENCIES} to {MAX_AGENCIES})."),
    warrants: int = typer.Option(InterceptionConfig.warrants, "--warrants",
                                 help="Warrant numbers issued, renewals included."),
    days: int = typer.Option(InterceptionConfig.days, "--days", help="Length of the world in days."),
    end: str = typer.Option(InterceptionConfig.end.isoformat(), "--end", help="Last (UTC) day of the world."),
) -> None:
    """Write an interception world: warrants.csv, the X1 requests as x1.jsonl and x1.xml, truth.json.

    Agencies' warrants, renewed or not, and the X1 tasks an operator's ADMF provisions for them on its
    network elements; most tasks are covered. Planted among them: tasks with no warrant, a wrong
    identifier, a wrong period, a wrong data type, or beyond a warrant's allowance (stretched), and in
    most seeds one agency out of line. truth.json names each task's class and holds the transparency
    report of every quarter.
    """
    from custodiet.simulate.interception import generate

    cfg = InterceptionConfig(seed=seed, agencies=agencies, warrants=warrants, days=days, end=_parse_date(end))
    truth, took = _generated(lambda: generate(cfg, out), out)
    classes = truth["classes"]
    errors = sum(n for cls, n in classes.items() if cls != "covered")
    lines = ", ".join(truth["agencies_out_of_line"]) or "none"
    typer.echo(f"wrote {out}: {len(truth['tasks']):,} tasks, {truth['messages']:,} X1 messages, "
               f"{truth['warrants']:,} warrants, {agencies} agencies, {days} days ({truth['start']} to "
               f"{truth['end']}), {errors} planted task errors, out of line: {lines} in {took:.1f} s")


@simulate_app.command("registry")
def simulate_registry(
    world: Path = typer.Option(..., "--world", help="A portal world folder (from `custodiet simulate portal`)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8090, "--port", min=0, max=65535, help="Port to listen on."),
) -> None:
    """Serve a simulated citizen-data registry over a portal world, as the gateway's upstream.

    GET /v1/lookup/{data_kind}/{subject_kind}/{value} answers every well-formed identifier: the world's
    people with their records, anyone else with a synthetic record of the same shape (the same every
    time); a malformed identifier is a 400. GET /stats counts the lookups served.
    """
    import uvicorn

    from custodiet.simulate.registry.app import create_app
    from custodiet.simulate.registry.records import World

    if not world.is_dir():
        raise fail(f"--world {world}: no such folder")
    began = time.perf_counter()
    try:
        loaded = World.load(world)
    except (OSError, ValueError) as exc:  # duckdb's errors for a broken CSV are ValueErrors too
        raise fail(f"--world {world}: {exc}") from None
    typer.echo(f"registry over {world}: {len(loaded.people):,} people loaded in {time.perf_counter() - began:.1f} s; "
               f"listening on http://{host}:{port}", err=True)
    uvicorn.run(create_app(loaded), host=host, port=port, log_level="warning", access_log=False)
