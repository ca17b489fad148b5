"""Type stub for the C extension built from ``_fasthash.c`` (see that file for the contracts)."""

from collections.abc import Sequence

from typing_extensions import Buffer

OPENSSL_VERSION: str
MAX_THREADS: int

def sha256_values(data: Buffer, offsets: Buffer, prefix: Buffer = ..., threads: int = ...,
                  offset_width: int = ...) -> bytes: ...
def node_hashes(pairs: Buffer, threads: int = ...) -> bytes: ...
def record_hashes(columns: Sequence[tuple[int, int, Buffer | None, Buffer | None, Buffer | None]], rows: int,
                  head: Buffer, threads: int = ...) -> bytes: ...
def content_hashes(columns: Sequence[tuple[int, int, Buffer | None, Buffer | None, Buffer | None]], rows: int,
                   threads: int = ...) -> bytes: ...
