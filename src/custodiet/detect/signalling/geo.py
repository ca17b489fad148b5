"""Country centroids (bundled ``data/signalling_country_centroids.csv``) and distances between them."""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources

EARTH_RADIUS_KM = 6371.0


@cache
def country_centroids() -> dict[str, tuple[float, float]]:
    """ISO2 -> (lat, lon) in degrees."""
    text = resources.files("custodiet").joinpath("data/signalling_country_centroids.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {r["iso2"]: (float(r["lat"]), float(r["lon"])) for r in rows}


@cache
def distance_km(a: str, b: str) -> float:
    """Great-circle (haversine) distance between two countries' centroids; KeyError if one is unknown."""
    if a == b:
        return 0.0
    cent = country_centroids()
    (la1, lo1), (la2, lo2) = cent[a], cent[b]
    p1, p2 = math.radians(la1), math.radians(la2)
    dp, dl = p2 - p1, math.radians(lo2 - lo1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
