"""Where our subscribers are: trips abroad with plausible travel times, border towns, ships and planes.

A subscriber's ``stays`` are (start, end, network or None for home, VLR index) intervals; a gap between two
stays is time detached (phone off on a plane, or switched off abroad).
"""

from __future__ import annotations

import math

from sigmodel import Net, Sub, travel_hours

INF = float("inf")


def _daytime(rng, t0: float, day: int, lo: float = 6.0, hi: float = 22.0) -> float:
    return t0 + day * 86400 + rng.uniform(lo, hi) * 3600


def _hours(a: Net | None, b: Net | None, home: Net) -> float:
    a, b = a or home, b or home
    if a is b:
        return 0.0
    if math.isnan(a.lat) or math.isnan(b.lat):
        return 1.0
    return travel_hours(a, b)


def plan_traveller(rng, s: Sub, home: Net, dests: list[Net], aero: Net, t0: float, days: int) -> None:
    """One or two trips: fly out, maybe move on to a second country, come back (or stay beyond the period)."""
    stays: list[tuple[float, float, Net | None, int]] = []
    t = -INF
    where: Net | None = None
    if rng.random() < 0.3:  # already abroad when the capture starts
        where = rng.choice(dests)
    legs = []
    day = rng.randrange(days)
    dep = _daytime(rng, t0, day)
    if where is None:
        first = rng.choice(dests)
        legs.append((dep, first))
        if rng.random() < 0.35:
            second = rng.choice([d for d in dests if d is not first] or [first])
            legs.append((dep + rng.uniform(1.5, 4.0) * 86400, second))
        legs.append((legs[-1][0] + rng.uniform(1.0, 6.0) * 86400, None))
    else:
        if rng.random() < 0.4:
            legs.append((dep, rng.choice([d for d in dests if d is not where] or [where])))
        legs.append(((legs[-1][0] if legs else dep) + rng.uniform(0.5, 3.0) * 86400, None))
    for leave, dest in legs:
        hours = _hours(where, dest, home)
        stays.append((t, leave, where, rng.randrange(4)))
        arrive = leave + hours * 3600 * rng.uniform(1.0, 1.25) + rng.uniform(300, 2400)
        if hours > 4 and rng.random() < 0.3:  # wifi-and-GSM on board: registers on the aeronautical network
            on = leave + rng.uniform(0.8, 1.5) * 3600
            stays.append((on, min(on + rng.uniform(0.5, hours - 2) * 3600, arrive - 1800), aero, 0))
        t, where = arrive, dest
    stays.append((t, INF, where, rng.randrange(4)))
    s.stays = _with_purges(rng, stays)


def _with_purges(rng, stays):
    """Abroad, some phones are switched off for a night or two: split the stay, leaving a detached gap."""
    out = []
    for start, end_, net, vlr in stays:
        if net is not None and end_ - start > 86400 and rng.random() < 0.25:
            off = start + rng.uniform(0.2, 0.6) * (end_ - start if end_ < INF else 3 * 86400)
            on = off + rng.uniform(20, 60) * 3600
            if on < end_:
                out += [(start, off, net, vlr), (on, end_, net, rng.randrange(4))]
                continue
        out.append((start, end_, net, vlr))
    return out


def plan_border(rng, s: Sub, neighbour: Net, t0: float, days: int) -> None:
    """A border-town resident: flips between home and the neighbour's network many times a day."""
    stays = []
    t, where = -INF, None
    for day in range(days):
        night_end = t0 + day * 86400 + rng.uniform(6, 8) * 3600
        night_start = t0 + day * 86400 + rng.uniform(21, 23) * 3600
        cur = night_end
        while cur < night_start:
            stays.append((t, cur, where, 0))
            t, where = cur, (neighbour if where is None else None)
            cur += rng.expovariate(1 / (rng.uniform(0.3, 2.5) * 3600))
        if where is not None and rng.random() < 0.7:  # most sleep at home
            stays.append((t, night_start, where, 0))
            t, where = night_start, None
    stays.append((t, INF, where, 0))
    s.stays = [x for x in stays if x[1] > x[0]]


def plan_sailor(rng, s: Sub, sea: Net, ports: list[Net], t0: float, days: int) -> None:
    """Crew or passenger on a ship: the maritime network at sea, a land network in port."""
    stays = []
    t = -INF
    where: Net | None = rng.choice([sea, *ports])
    cur = t0 + rng.uniform(0, 1) * 86400
    while cur < t0 + days * 86400:
        stays.append((t, cur, where, 0))
        t = cur + rng.uniform(60, 900)
        where = rng.choice(ports) if where is sea else sea
        cur = t + (rng.uniform(10, 48) if where is sea else rng.uniform(6, 20)) * 3600
    stays.append((t, INF, where, 0))
    s.stays = stays
