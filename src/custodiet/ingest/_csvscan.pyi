"""Type stub for the C extension built from ``_csvscan.c`` (see that file for the contract)."""

from typing_extensions import Buffer

def line_flags(data: Buffer) -> bytes: ...
