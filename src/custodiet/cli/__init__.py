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
    app()
