"""Which allocator Arrow uses: one that keeps freed memory for reuse instead of handing it back at once.

Arrow's default pool (mimalloc) returns freed pages to the kernel within milliseconds. An ingest builds
and drops columns of hundreds of megabytes at every step, so the kernel zeroes the same memory again and
again: measured on a 2M-row portal log, a quarter of the ingest's CPU time went to zeroing fresh pages,
and the ingest took 7.4 s. With jemalloc (built into pyarrow's wheels; it returns freed pages after about
a second) the same ingest took 6.0 s at the same peak memory. The choice is the process's, so the
command line makes it once at start; a user's own ``ARROW_DEFAULT_MEMORY_POOL`` is left alone.
"""

from __future__ import annotations

import contextlib
import os

import pyarrow as pa

_ENVIRONMENT = "ARROW_DEFAULT_MEMORY_POOL"


def use_reusing_pool() -> str:
    """Make jemalloc Arrow's default pool when this pyarrow has it and the user chose none; returns the
    pool's backend name."""
    if not os.environ.get(_ENVIRONMENT):
        with contextlib.suppress(NotImplementedError):  # a pyarrow built without jemalloc keeps its default
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return pa.default_memory_pool().backend_name
