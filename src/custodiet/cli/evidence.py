"""Commands: evidence export, evidence verify — evidence bundles (``custodiet.evidence``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import typer

from custodiet.cli.app import DocFormat, app, fail, print_json, store

evidence_app = typer.Typer(help="Evidence bundles: a case with its events, inclusion proofs and a signed head, "
                                "checkable offline.", no_args_is_help=True)
app.add_typer(evidence_app, name="evidence")

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
TRUST_FILE_ENV = "CUSTODIET_TRUST_FILE"  # as ``ledger.trust`` reads it (no store here, so no settings file)


@evidence_app.command("export")
def evidence_export(
    case_id: str = typer.Option(..., "--case", help="The case id (CASE-000001)."),
    out: Path = typer.Option(..., "--out", help="The zip file to write.", dir_okay=False),
) -> None:
    """Write a case's evidence bundle: case.json, findings.json, events/, proofs/ (against the newest signed
    head), head.json, report.html and report.pdf (printed by headless Chromium, which must be installed)."""
    from custodiet.cases import CaseError, JournalError
    from custodiet.evidence import ChromiumError, EvidenceError, export_bundle

    try:
        done = export_bundle(store(), case_id, out)
    except (CaseError, EvidenceError, ChromiumError) as exc:
        raise fail(str(exc), 2) from None
    except JournalError as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"{done.path}: {done.case_id}, {done.findings} findings, {done.events} events proven against "
               f"tree size {done.tree_size} (root {done.root_hash[:16]}…)")


@evidence_app.command("verify")
def evidence_verify(
    bundle: Path = typer.Argument(..., help="The bundle (zip) to check."),
    public_key: str | None = typer.Option(
        None, "--public-key", metavar="HEX|FILE",
        help="The ledger's public key as you hold it: 64 hex digits, or a file with them or a PEM public key. "
             "Default: the trust file CUSTODIET_TRUST_FILE names; with neither, the head is checked only against "
             "the key it carries."),
    fmt: DocFormat = typer.Option(DocFormat.table, "--format", help="table: a short summary; json: the result."),
) -> None:
    """Check a bundle offline, with no store: every event's leaf and inclusion proof against head.json, the
    head's signature, the findings' events, the case's hash chain. Exit 0 when all hold; 1 naming the first
    bad member; 2 when the file is not a zip or the key cannot be read."""
    from custodiet.evidence.verify import BundleError, verify_bundle

    key = None
    if public_key is not None:
        key = _public_key(public_key)
    elif os.environ.get(TRUST_FILE_ENV, "").strip():
        key = _public_key(os.environ[TRUST_FILE_ENV].strip(), f"{TRUST_FILE_ENV}={os.environ[TRUST_FILE_ENV]}")
    try:
        result = verify_bundle(bundle, key)
    except BundleError as exc:
        raise fail(str(exc), 2) from None
    if fmt is DocFormat.json:
        print_json({"ok": result.ok, "problem": result.problem, "case_id": result.case_id,
                    "findings": result.findings, "events": result.events, "history": result.history,
                    "tree_size": result.tree_size, "root_hash": result.root_hash, "public_key": result.key,
                    "pinned": result.pinned, "trust": result.trust()})
        if not result.ok:
            raise typer.Exit(1)
        return
    if not result.ok:
        assert result.problem is not None
        raise fail(result.problem, 1)
    typer.echo(f"ok: {result.case_id}: {result.findings} findings, {result.events} events, each leaf rebuilt from "
               f"its JSON and proven in tree size {result.tree_size} (root {str(result.root_hash)[:16]}…); "
               f"chain of custody: {result.history} records, hash chain holds")
    typer.echo(f"trust: {result.trust()}")
    typer.echo("not checked: report.html and report.pdf (renderings of the JSON members)")


def _public_key(option: str, where: str | None = None) -> str:
    from custodiet.ledger.trust import TrustError, read_public_key

    if _HEX_KEY.fullmatch(option.strip()):
        return option.strip().lower()
    path = Path(option)
    if not path.is_file():
        raise fail(f"{where or '--public-key ' + option}: neither 64 hex digits nor a file", 2)
    try:
        return read_public_key(path)
    except TrustError as exc:
        raise fail(str(exc), 2) from None
