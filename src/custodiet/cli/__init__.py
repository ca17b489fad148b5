"""The ``custodiet`` command line: thin; parses arguments, calls the modules, prints.

Each command group lives in its own module and registers itself on the app defined in ``app``.
"""

from __future__ import annotations

from custodiet.cli import (  # noqa: F401  (importing registers the commands)
    core,
    detect,
    ledger,
    portal,
    signalling,
    signalling_ingest,
    simulate,
)
from custodiet.cli.app import app


def main() -> None:
    """Run the CLI; a missing or mismatched store key, a bad settings file or a ledger a writer must not
    append to (e.g. a foreign file in it) is one clear line and exit 2."""
    from custodiet.cli.app import fail
    from custodiet.config import ConfigError
    from custodiet.ledger.heads import LedgerError
    from custodiet.pseudonym import KeyCustodyError

    try:
        app()
    except (KeyCustodyError, ConfigError, LedgerError) as exc:
        raise SystemExit(fail(str(exc), 2).exit_code) from None
