"""The ``custodiet`` command line: thin; parses arguments, calls the modules, prints.

Each command group lives in its own module and registers itself on the app defined in ``app``.
"""

from __future__ import annotations

import os
import sys

from custodiet.cli import (  # noqa: F401  (importing registers the commands)
    cases,
    core,
    detect,
    evidence,
    gateway,
    interception,
    ledger,
    portal,
    signalling,
    signalling_ingest,
    simulate,
)
from custodiet.cli.app import app, error_line


def main() -> None:
    """The entry point: runs the app. A missing or mismatched store key, a bad settings file or a ledger a
    writer must not append to (e.g. a foreign file in it) is one clear line and exit 2; an exception no
    command expected becomes one error line (exit 3) instead of a traceback, unless ``CUSTODIET_DEBUG`` is
    set."""
    from custodiet.arrow_pool import use_reusing_pool
    from custodiet.config import ConfigError
    from custodiet.ledger.heads import LedgerError
    from custodiet.pseudonym import KeyCustodyError

    use_reusing_pool()
    try:
        app()
    except (KeyCustodyError, ConfigError, LedgerError) as exc:
        error_line(str(exc))
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("CUSTODIET_DEBUG"):
            raise
        error_line(f"unexpected {type(exc).__name__}: {exc} (set CUSTODIET_DEBUG=1 to see where it happened)")
        sys.exit(3)
