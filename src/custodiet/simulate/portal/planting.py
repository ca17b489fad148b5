"""Choosing the abusers and planting their behaviour; the ground truth about them.

Abusers are ordinary officers (they keep doing their casework); each gets one kind of misuse on top.
Every abuser has its own random stream, so adding one does not reshuffle the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from custodiet.simulate.portal import misuse, sellers
from custodiet.simulate.portal.clock import Clock
from custodiet.simulate.portal.config import ABUSER_KINDS, PROFILE, PortalConfig
from custodiet.simulate.portal.frame import EventFrame
from custodiet.simulate.portal.org import SHIFT_DAY, SHIFT_NIGHT, Org
from custodiet.simulate.portal.state import WorldState

Planter = Callable[[np.random.Generator, WorldState, int], EventFrame]

PLANTERS: dict[str, Planter] = {
    "bulk_seller": sellers.bulk_seller,
    "quiet_seller": sellers.quiet_seller,
    "vip_snooping": misuse.vip_snooping,
    "stalker": misuse.stalker,
    "enumeration": misuse.enumeration,
    "case_misuse": misuse.case_misuse,
    "hijacked_account": sellers.hijacked_account,
    "ramp_up": misuse.ramp_up,
}
NEEDS_IDENTIFIERS = {"enumeration"}  # planted after the population has its identifiers
SELLERS = {"bulk_seller", "quiet_seller", "hijacked_account"}


@dataclass(frozen=True)
class Abuser:
    index: int
    kind: str
    actor: int


def _eligible(org: Org, actor: int, kind: str) -> bool:
    unit_kind = org.unit_kind[org.actor_unit[actor]]
    role = org.actor_role[actor]
    if kind == "hijacked_account":
        return bool(org.shift[actor] == SHIFT_DAY)
    if not PROFILE[unit_kind].case_based or role == "supervisor" or org.shift[actor] == SHIFT_NIGHT:
        return False
    return kind != "case_misuse" or unit_kind in ("investigation", "cyber")


def choose_abusers(rng: np.random.Generator, org: Org, cfg: PortalConfig) -> list[Abuser]:
    used: set[int] = set()
    out: list[Abuser] = []
    for kind in ABUSER_KINDS:
        for _ in range(cfg.abusers.get(kind, 0)):
            pool = [a for a in range(org.n_actors) if a not in used and _eligible(org, a, kind)]
            if not pool:
                raise ValueError(f"no officer left to plant a {kind} on; use more --actors")
            actor = pool[int(rng.integers(len(pool)))]
            used.add(actor)
            out.append(Abuser(len(out), kind, actor))
    return out


def plant(seed: int, world: WorldState, abusers: list[Abuser], after_identifiers: bool) -> list[EventFrame]:
    frames = []
    for ab in abusers:
        if (ab.kind in NEEDS_IDENTIFIERS) != after_identifiers:
            continue
        rng = np.random.default_rng([seed, 1000 + ab.index])
        frame = PLANTERS[ab.kind](rng, world, ab.actor)
        frame.abuser[:] = ab.index
        frames.append(frame)
    return frames


def abuser_truth(abusers: list[Abuser], org: Org, clock: Clock, abuser: np.ndarray, t: np.ndarray,
                 person: np.ndarray, value: np.ndarray, kind: np.ndarray) -> list[dict[str, object]]:
    """The truth.json entry of each abuser, from its planted events (as written)."""
    out = []
    for ab in abusers:
        sel = np.flatnonzero(abuser == ab.index)
        known = person[sel] >= 0
        victims = len(np.unique(person[sel][known]))
        victims += len(np.unique(kind[sel][~known].astype(np.int64) * 10**17 + value[sel][~known]))
        out.append({
            "actor": org.actor_names[ab.actor],
            "kind": ab.kind,
            "window_start": Clock.iso(int(t[sel].min())),
            "window_end": Clock.iso(int(t[sel].max())),
            "victims": int(victims),
            "events": len(sel),
        })
    return out
