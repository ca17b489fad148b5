"""Commands: head, heads, proof, consistency, verify, witness add-head — the tamper-evident ledger
(``custodiet.ledger``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import typer

from custodiet.cli.app import DocFormat, RowFormat, app, fail, print_json, print_rows, store

T = TypeVar("T")

witness_app = typer.Typer(help="The oversight body's side: keep your own copy of the ledger's signed heads.",
                          no_args_is_help=True)
app.add_typer(witness_app, name="witness")


def _ledger(call: Callable[[], T], code: int) -> T:
    """Run a ledger call; a ``LedgerError`` becomes a clear error and exit ``code``."""
    from custodiet.ledger import LedgerError

    try:
        return call()
    except LedgerError as exc:
        raise fail(str(exc), code) from exc


def _doc(doc: dict, fmt: DocFormat) -> None:
    if fmt is DocFormat.json:
        print_json(doc)
    else:
        print_rows([{"field": k, "value": v if not isinstance(v, list) else "\n".join(v)} for k, v in doc.items()],
                   RowFormat.table)


@app.command("head")
def head_cmd(fmt: DocFormat = typer.Option(DocFormat.json, "--format", help="json: what a witness stores.")) -> None:
    """Print the newest signed tree head."""
    from custodiet import ledger

    found = _ledger(lambda: ledger.head(store()), 2)
    if found is None:
        raise fail("the ledger is empty: no signed tree head yet", 1)
    _doc(found, fmt)


@app.command("heads")
def heads_cmd(fmt: RowFormat = typer.Option(RowFormat.jsonl, "--format")) -> None:
    """Print every signed tree head, oldest first."""
    from custodiet import ledger
    from custodiet.events import canonical_json

    found = _ledger(lambda: ledger.heads(store()), 2)
    if fmt is RowFormat.jsonl:
        for h in found:
            typer.echo(canonical_json(h))
    else:
        print_rows(found, RowFormat.table, ["tree_size", "timestamp", "root_hash"], title="signed tree heads")


@app.command("proof")
def proof_cmd(
    event_id: str = typer.Argument(..., help="The event's id."),
    tree_size: int | None = typer.Option(None, "--tree-size", help="Prove against this earlier tree size."),
    fmt: DocFormat = typer.Option(DocFormat.json, "--format"),
) -> None:
    """Prove that an event is in the ledger (RFC 9162 §2.1.3 inclusion proof)."""
    from custodiet import ledger

    _doc(_ledger(lambda: ledger.inclusion_proof(store(), event_id, tree_size), 1), fmt)


@app.command("consistency")
def consistency_cmd(
    first: int = typer.Option(..., "--from", help="The older tree size (a head the witness holds)."),
    second: int | None = typer.Option(None, "--to", help="The newer tree size [default: the newest head]."),
    fmt: DocFormat = typer.Option(DocFormat.json, "--format"),
) -> None:
    """Prove that the tree of --to leaves extends the tree of --from leaves (RFC 9162 §2.1.4)."""
    from custodiet import ledger

    _doc(_ledger(lambda: ledger.consistency_proof(store(), first, second), 1), fmt)


@app.command("verify")
def verify_cmd(
    quick: bool = typer.Option(False, "--quick", help="Only the heads and the segment digests."),
    public_key: str | None = typer.Option(
        None, "--public-key", metavar="FILE",
        help="The ledger's public key as you hold it (PEM, or 64 hex digits; a file or the hex itself): every "
             "head must carry it. Default: the trust file of the settings (CUSTODIET_TRUST_FILE or [ledger] "
             "trust_file); with neither, the store is checked only against itself."),
    witness: Path | None = typer.Option(None, "--witness", help="JSON lines of heads a witness kept; each must "
                                        "match the ledger.", exists=True, dir_okay=False),
    fmt: DocFormat = typer.Option(DocFormat.table, "--format"),
) -> None:
    """Rebuild the tree from the segments and check it against every signed head; exit 1 on any mismatch.

    Read-only: it never heals, writes or signs. Any file in the ledger folder that no signed head and no
    journal record of the writer accounts for is reported as foreign."""
    from custodiet import ledger
    from custodiet.ledger.heads import HeadsFile
    from custodiet.ledger.trust import pinned_key

    witnessed = None
    if witness is not None:
        from custodiet.ingest.guard import InputError, read_text

        kept = witness
        try:
            if not read_text(kept).strip():
                raise fail(f"{kept}: the witness file holds no heads")
        except InputError as exc:
            raise fail(str(exc)) from None
        witnessed = _ledger(lambda: HeadsFile.read(kept, strict=True).heads, 2)
    the_store = store()
    pinned = _ledger(lambda: pinned_key(the_store, public_key), 2)
    result = ledger.verify(the_store, quick=quick, public_key=pinned[0] if pinned else None, witness=witnessed,
                           pinned_from=pinned[1] if pinned else None)
    if fmt is DocFormat.json:
        print_json(result.to_dict())
    else:
        mode = "quick" if quick else "full"
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        if result.ok:
            typer.echo(f"ok ({mode}): {result.heads} heads, {result.segments} segments, tree size "
                       f"{result.tree_size}" + (f", {result.events} events re-hashed" if not quick else ""))
        if result.trust:
            typer.echo(f"trust: {result.trust}")
    if not result.ok:
        assert result.problem is not None
        blame = f" (witness file {witness})" if witness is not None and "witness" in result.problem.message else ""
        raise fail(f"{result.problem.kind}: {result.problem.message}{blame}", 1)


@witness_app.command("add-head")
def witness_add_head(
    head_file: Path = typer.Argument(..., help="The head to add: `custodiet head --format json` as published."),
    store_at: str | None = typer.Option(None, "--store", metavar="DIR",
                                        help="The store (a folder, or a copy) whose consistency proof shows the "
                                             "head extends yours."),
    proof: Path | None = typer.Option(None, "--proof", metavar="FILE",
                                      help="Instead of --store: the operator's `custodiet consistency --from M "
                                           "--to N --format json`, M your newest head's size, N the new one's."),
    witness_file: Path = typer.Option(..., "--witness-file", help="Your own heads, JSON lines (created if absent)."),
    public_key: Path = typer.Option(..., "--public-key", metavar="FILE",
                                    help="The ledger's public key as you recorded it (PEM or 64 hex digits)."),
) -> None:
    """Keep a new signed head, if it is signed by the pinned key and extends the newest head you hold."""
    from custodiet.ledger import consistency_proof
    from custodiet.ledger.trust import read_public_key
    from custodiet.ledger.witness import add_head, read_head, read_proof
    from custodiet.store import Store

    if (store_at is None) == (proof is None):
        raise fail("give exactly one of --store DIR and --proof FILE", 2)
    head = _ledger(lambda: read_head(head_file), 2)
    key = _ledger(lambda: read_public_key(public_key), 2)
    if store_at is not None:
        if "://" in store_at:
            raise fail(f"--store {store_at}: fetching proofs from a URL is not supported yet; give the store's "
                       "folder, or the operator's proof with --proof FILE", 2)
        folder = Path(store_at)
        if not (folder / "ledger" / "heads.jsonl").is_file():
            raise fail(f"--store {folder}: not a store with a signed ledger (no ledger/heads.jsonl)", 2)
        source = Store(folder)
        accepted = _ledger(lambda: add_head(witness_file, head, key, lambda m, n: consistency_proof(source, m, n)),
                           1)
    else:
        assert proof is not None
        doc = _ledger(lambda: read_proof(proof), 2)
        accepted = _ledger(lambda: add_head(witness_file, head, key, lambda _m, _n: doc), 1)
    typer.echo(accepted.message())
