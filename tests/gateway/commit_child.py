"""A process that commits gateway events as fast as it can and records each acknowledged id.

``python commit_child.py HOME ACKS``: 16 concurrent committers; after each ``commit`` returns, the event id
is written (and flushed) to ACKS, one per line. It runs until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from custodiet.gateway.committer import GroupCommitter
from custodiet.store import Store
from tests.gateway.events import gateway_event


async def main(home: Path, acks: Path) -> None:
    committer = GroupCommitter(Store(home))
    await committer.start()
    with open(acks, "a", encoding="utf-8") as out:

        async def one_writer(k: int) -> None:
            i = 0
            while True:
                event = gateway_event(f"w{k:02d}-{i:06d}")
                await committer.commit(event)
                out.write(event["event_id"] + "\n")
                out.flush()  # the page cache outlives a kill -9 of this process
                i += 1

        await asyncio.gather(*(one_writer(k) for k in range(16)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
