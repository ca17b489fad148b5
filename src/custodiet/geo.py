"""Country geography shared by the signalling detectors and the signalling simulator: centroids (bundled
``data/signalling_country_centroids.csv``), distances between them, neighbouring countries (bundled
``data/signalling_country_borders.csv``) and international (maritime / aeronautical) networks.

Kept below both ``detect`` and ``simulate`` so that the simulator never imports a detector.
"""

from __future__ import annotations

import csv
import math
from functools import cache
from importlib import resources

EARTH_RADIUS_KM = 6371.0
# E.164 country codes of international networks (ITU-T E.164 "international networks": ships, aircraft,
# satellite) and the MCC they use (901): they serve subscribers anywhere, so they are reachable from any
# country and any country is reachable from them.
INTERNATIONAL_CODES = ("881", "882", "883")
INTERNATIONAL_MCC = "901"
INTERNATIONAL = "XI"  # pseudo country of an international network in location reasoning


# Rough radius (km) of large or long countries: how far a subscriber's network can be from the country's
# centroid. The plausibility slack between two countries is the sum of their radii (``DEFAULT_RADIUS_KM``
# for the others), so that Miami -> Nassau is not measured from Kansas.
COUNTRY_RADIUS_KM = {
    "RU": 2000, "US": 1500, "CA": 1200, "CN": 1300, "BR": 1200, "AU": 1300, "ID": 1200, "IN": 800, "AR": 800,
    "KZ": 700, "MX": 700, "CL": 900, "NO": 600, "SE": 500, "FI": 400, "JP": 600, "PH": 500, "MN": 500,
    "PE": 500, "CO": 400, "ZA": 400, "SA": 500, "IR": 500, "DZ": 600, "TR": 400, "UA": 300, "PK": 400,
    "BO": 300, "NZ": 400, "MY": 400, "VN": 400, "TH": 300, "EG": 300, "IT": 300, "ES": 300, "FR": 300,
    "GB": 250, "PG": 300, "NG": 300, "GR": 250, "PL": 200, "DE": 200,
    "CD": 900, "LY": 600, "SD": 600, "TD": 600, "NE": 600, "ML": 600, "AO": 600, "MZ": 600, "ET": 500,
    "MR": 500, "TZ": 500, "NA": 500, "SO": 500, "MG": 500, "MM": 500, "BW": 400, "VE": 400, "SS": 400,
    "CF": 400, "AF": 400, "UZ": 400, "CU": 400, "ZW": 300, "YE": 300, "OM": 300, "PY": 300, "CM": 350,
    "CG": 300, "LA": 350, "NP": 300, "GA": 250, "KG": 250, "KP": 250, "CI": 250, "GN": 250, "BF": 250,
    "MW": 250, "EC": 250, "GY": 250, "SN": 200, "UG": 200, "SY": 200, "TN": 200, "SR": 200, "UY": 200,
    "TJ": 200, "GL": 1000, "PF": 800, "KI": 1500, "FM": 1000, "MH": 500, "SB": 500, "VU": 350, "TO": 300,
    "CV": 200,
}
DEFAULT_RADIUS_KM = 150.0


def radius_km(country: str) -> float:
    return float(COUNTRY_RADIUS_KM.get(country, DEFAULT_RADIUS_KM))


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("custodiet").joinpath(f"data/{name}").read_text("utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))


@cache
def country_centroids() -> dict[str, tuple[float, float]]:
    """ISO2 -> (lat, lon) in degrees."""
    return {r["iso2"]: (float(r["lat"]), float(r["lon"])) for r in _rows("signalling_country_centroids.csv")}


@cache
def neighbours() -> frozenset[frozenset[str]]:
    """Unordered pairs of countries a phone can switch between within minutes (borders, straits)."""
    return frozenset(frozenset((r["a"], r["b"])) for r in _rows("signalling_country_borders.csv"))


def adjacent(a: str, b: str) -> bool:
    """Same country, or countries that share a border (or a strait coastal cells reach across)."""
    return a == b or frozenset((a, b)) in neighbours()


def is_international_gt(digits: str | None) -> bool:
    """A global title of an international (maritime, aeronautical, satellite) network: +881/+882/+883."""
    return bool(digits) and str(digits).startswith(INTERNATIONAL_CODES)


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
