"""The network registry: who owns a global title or a PLMN, and the home network's own profile.

Two sources, in this order of precedence:

- the home network profile (TOML, in the spirit of GSMA IR.21; see DESIGN.md), loaded with
  ``custodiet context load network FILE`` and kept at ``<home>/context/network.toml``: our own GT
  ranges and subscribers, and our interconnect / roaming partners with what each may send;
- the bundled, editable operators table (``custodiet/data/operators.csv``: MCC-MNC -> country and
  operator, optional E.164 GT prefixes), then phonenumbers' carrier data for mobile number ranges,
  then the E.164 country code alone.

Detectors use ``NetworkProfile`` for policy (is this GT ours? may this partner send SMS?) and
``Registry`` for attribution (which operator and country sent this?).
"""

from __future__ import annotations

import csv
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import phonenumbers

if TYPE_CHECKING:
    from custodiet.store import Store

PROFILE_NAME = "network.toml"
_DIGITS = re.compile(r"\d+")
_PLMN = re.compile(r"(\d{3})-(\d{2,3})")
_ISO2 = re.compile(r"[A-Z]{2}")
_NETWORK_KEYS = {"name", "country", "mcc_mnc", "gt_prefixes", "msisdn_prefixes", "roaming", "sms"}


class NetworkProfileError(ValueError):
    """A network profile that cannot be used; the message names the file and the TOML key."""


@dataclass(frozen=True)
class Network:
    """One network: the home network or an interconnect / roaming partner."""

    name: str
    country: str  # ISO 3166-1 alpha-2
    mcc_mnc: tuple[str, ...] = ()  # "310-260"
    gt_prefixes: tuple[str, ...] = ()  # E.164 digit prefixes of its global titles
    msisdn_prefixes: tuple[str, ...] = ()  # E.164 digit prefixes of its subscribers' numbers
    roaming: bool = False  # its VLRs/SGSNs may update our subscribers' location
    sms: bool = False  # its SMSCs may ask routing info for SMS to our subscribers
    home: bool = False


def _longest_prefix(digits: str, prefixes: dict[str, Any]) -> Any | None:
    """The value of the longest key of ``prefixes`` that starts ``digits``, or None."""
    for end in range(len(digits), 0, -1):
        hit = prefixes.get(digits[:end])
        if hit is not None:
            return hit
    return None


@dataclass
class NetworkProfile:
    """The home network and its partners, as an operator describes them (DESIGN.md, IR.21 spirit)."""

    home: Network
    partners: list[Network] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._gt_index: dict[str, Network] = {}
        for net in [*self.partners, self.home]:  # the home network wins a tie on the same prefix
            for prefix in net.gt_prefixes:
                self._gt_index[prefix] = net

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> NetworkProfile:
        """Read and validate a profile TOML; errors name the file and the offending key."""
        from custodiet.ingest.guard import CUT_RECORD, InputError, read_text

        path = Path(path)
        try:
            text = read_text(path)
        except InputError as exc:
            raise NetworkProfileError(str(exc)) from None
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            cut = bool(text) and not text.endswith("\n")  # a profile that fails to parse and lacks its last line end
            why = f"{CUT_RECORD}? (it ends at byte {len(text.encode())} without a line end) " if cut else ""
            raise NetworkProfileError(f"{path}: not valid TOML: {why}{exc}") from None
        return cls.from_dict(doc, origin=str(path))

    @classmethod
    def from_dict(cls, doc: dict[str, Any], origin: str = "network profile") -> NetworkProfile:
        unknown = sorted(set(doc) - {"home", "partner"})
        if unknown:
            raise NetworkProfileError(
                f"{origin}: unknown key {unknown[0]!r} (expected [home] and [[partner]])"
            )
        if not isinstance(doc.get("home"), dict):
            raise NetworkProfileError(f"{origin}: missing table [home]")
        home = _network(doc["home"], f"{origin}: home", home=True)
        partners_doc = doc.get("partner", [])
        if not isinstance(partners_doc, list):
            raise NetworkProfileError(f"{origin}: partner must be an array of tables [[partner]]")
        partners = []
        for i, item in enumerate(partners_doc):
            where = f"{origin}: partner[{i}]"
            if not isinstance(item, dict):
                raise NetworkProfileError(f"{where}: must be a table")
            partners.append(_network(item, where, home=False))
        return cls(home=home, partners=partners)

    @classmethod
    def from_store(cls, store: Store) -> NetworkProfile | None:
        """The profile loaded into this store, or None when none was loaded."""
        path = store.context_dir / PROFILE_NAME
        return cls.load(path) if path.exists() else None

    # -- questions detectors ask --------------------------------------------------------------
    @property
    def networks(self) -> list[Network]:
        return [self.home, *self.partners]

    def network_of_gt(self, digits: str | None) -> Network | None:
        """The home network or partner owning this GT (longest prefix), or None."""
        if not digits:
            return None
        found: Network | None = _longest_prefix(digits, self._gt_index)
        return found

    def is_home_gt(self, digits: str | None) -> bool:
        net = self.network_of_gt(digits)
        return net is not None and net.home

    def is_home_subscriber(self, msisdn_digits: str | None = None, imsi: str | None = None) -> bool:
        """True if the IMSI carries one of our MCC-MNCs, or the MSISDN one of our number prefixes."""
        if imsi:
            for plmn in self.home.mcc_mnc:
                if imsi.startswith(plmn.replace("-", "")):
                    return True
        if msisdn_digits:
            return any(msisdn_digits.startswith(p) for p in self.home.msisdn_prefixes)
        return False


def _strings(value: Any, where: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise NetworkProfileError(f"{where}: must be a list of {what}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not pattern.fullmatch(item):
            raise NetworkProfileError(f"{where}[{i}]: {item!r} is not {what}")
        out.append(item)
    return tuple(out)


def _network(doc: dict[str, Any], where: str, home: bool) -> Network:
    unknown = sorted(set(doc) - _NETWORK_KEYS)
    if unknown:
        expected = ", ".join(sorted(_NETWORK_KEYS))
        raise NetworkProfileError(f"{where}.{unknown[0]}: unknown key (expected {expected})")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise NetworkProfileError(f"{where}.name: required, a non-empty string")
    country = doc.get("country")
    if not isinstance(country, str) or country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise NetworkProfileError(f"{where}.country: {country!r} is not an ISO 3166-1 alpha-2 code")
    for key in ("roaming", "sms"):
        if key in doc and not isinstance(doc[key], bool):
            raise NetworkProfileError(f"{where}.{key}: must be true or false")
    if not home and "msisdn_prefixes" not in doc and "gt_prefixes" not in doc:
        raise NetworkProfileError(f"{where}.gt_prefixes: required for a partner")
    if home and "gt_prefixes" not in doc:
        raise NetworkProfileError(f"{where}.gt_prefixes: required for the home network")
    return Network(
        name=name.strip(),
        country=country.upper(),
        mcc_mnc=_strings(doc.get("mcc_mnc", []), f"{where}.mcc_mnc", _PLMN, "an MCC-MNC like \"310-260\""),
        gt_prefixes=_strings(
            doc.get("gt_prefixes", []), f"{where}.gt_prefixes", _DIGITS, "a string of digits"
        ),
        msisdn_prefixes=_strings(
            doc.get("msisdn_prefixes", []), f"{where}.msisdn_prefixes", _DIGITS, "a string of digits"
        ),
        roaming=bool(doc.get("roaming", home)),
        sms=bool(doc.get("sms", home)),
        home=home,
    )


def save_profile(store: Store, path: str | Path) -> NetworkProfile:
    """Validate a profile TOML and keep its text as ``<home>/context/network.toml`` (atomic write)."""
    from custodiet import atomic
    from custodiet.ingest.guard import read_bytes

    profile = NetworkProfile.load(path)
    atomic.write_bytes(store.context_dir / PROFILE_NAME, read_bytes(Path(path)))
    return profile


# -- attribution ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attribution:
    """Who a GT or PLMN belongs to, and where that answer came from."""

    operator: str | None
    country: str | None  # ISO 3166-1 alpha-2
    source: str  # "profile" | "registry" | "country_code" | "unknown"


UNKNOWN = Attribution(None, None, "unknown")


@dataclass(frozen=True)
class OperatorTable:
    """The bundled operators table: MCC-MNC and GT prefixes -> (operator, country)."""

    by_plmn: dict[str, tuple[str, str | None]]
    by_prefix: dict[str, tuple[str, str | None]]

    @classmethod
    def load(cls, path: str | Path | None = None) -> OperatorTable:
        """Read ``operators.csv`` (the bundled one unless a path is given); '#' lines are comments."""
        if path is None:
            text = resources.files("custodiet").joinpath("data", "operators.csv").read_text(encoding="utf-8")
            origin = "operators.csv"
        else:
            text = Path(path).read_text(encoding="utf-8")
            origin = str(path)
        lines = [
            (n, ln) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.startswith("#")
        ]
        reader = csv.DictReader(ln for _, ln in lines)
        by_plmn: dict[str, tuple[str, str | None]] = {}
        by_prefix: dict[str, tuple[str, str | None]] = {}
        for (lineno, _), row in zip(lines[1:], reader, strict=True):
            plmn, country, operator = row["mcc_mnc"].strip(), row["country"].strip(), row["operator"].strip()
            if not _PLMN.fullmatch(plmn) or not operator or (country and not _ISO2.fullmatch(country)):
                raise ValueError(f"{origin}:{lineno}: needs mcc_mnc like 310-260, an operator and an ISO2 "
                                 "country (empty for international networks)")
            by_plmn[plmn] = (operator, country or None)
            for prefix in (row.get("gt_prefixes") or "").split():
                if not _DIGITS.fullmatch(prefix):
                    raise ValueError(f"{origin}:{lineno}: gt prefix {prefix!r} is not digits")
                by_prefix[prefix] = (operator, country or None)
        return cls(by_plmn, by_prefix)


@lru_cache(maxsize=1)
def bundled_table() -> OperatorTable:
    return OperatorTable.load()


def country_of_e164(digits: str) -> str | None:
    """ISO2 country of E.164 digits from their country code (phonenumbers), or None."""
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if (not region or region == phonenumbers.UNKNOWN_REGION) and parsed.country_code:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    if not region or region in (phonenumbers.UNKNOWN_REGION, "001"):
        return None
    return str(region)


def _carrier_of_e164(digits: str) -> str | None:
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    from phonenumbers import carrier  # its data takes a few hundredths of a second to load: only when asked

    name = carrier.name_for_number(parsed, "en")
    return name or None


class Registry:
    """Attribution of global titles and PLMNs to operator and country; answers are cached."""

    def __init__(self, profile: NetworkProfile | None = None, table: OperatorTable | None = None):
        self.profile = profile
        self.table = table or bundled_table()
        self._gt_cache: dict[str, Attribution] = {}
        self._plmn_cache: dict[str, Attribution] = {}
        self._profile_plmn: dict[str, Network] = {}
        if profile is not None:
            for net in [*profile.partners, profile.home]:
                for plmn in net.mcc_mnc:
                    self._profile_plmn[plmn] = net

    @classmethod
    def from_store(cls, store: Store) -> Registry:
        """The store's network profile (if loaded) over the bundled operators table."""
        return cls(NetworkProfile.from_store(store))

    def attribute_gt(self, digits: str | None) -> Attribution:
        """Operator and country of a global title (E.164 digits)."""
        if not digits or not digits.isdigit():
            return UNKNOWN
        hit = self._gt_cache.get(digits)
        if hit is None:
            hit = self._attribute_gt(digits)
            self._gt_cache[digits] = hit
        return hit

    def _attribute_gt(self, digits: str) -> Attribution:
        if self.profile is not None:
            net = self.profile.network_of_gt(digits)
            if net is not None:
                return Attribution(net.name, net.country, "profile")
        found = _longest_prefix(digits, self.table.by_prefix)
        if found is not None:
            return Attribution(found[0], found[1], "registry")
        country = country_of_e164(digits)
        if country is None:
            return UNKNOWN
        name = _carrier_of_e164(digits)
        if name is not None:
            return Attribution(name, country, "registry")
        return Attribution(None, country, "country_code")

    def attribute_plmn(self, plmn: str | None) -> Attribution:
        """Operator and country of an MCC-MNC written "310-260"."""
        if not plmn:
            return UNKNOWN
        hit = self._plmn_cache.get(plmn)
        if hit is None:
            hit = self._plmn_cache[plmn] = self._attribute_plmn(plmn)
        return hit

    def _attribute_plmn(self, plmn: str) -> Attribution:
        if not _PLMN.fullmatch(plmn):
            return UNKNOWN
        net = self._profile_plmn.get(plmn)
        if net is not None:
            return Attribution(net.name, net.country, "profile")
        found = self.table.by_plmn.get(plmn)
        if found is not None:
            return Attribution(found[0], found[1], "registry")
        mcc = plmn[:3]
        countries = {c for p, (_, c) in self.table.by_plmn.items() if p.startswith(mcc + "-")}
        if len(countries) == 1 and None not in countries:
            return Attribution(None, countries.pop(), "country_code")
        return UNKNOWN

    def plmn_of_imsi(self, imsi: str | None) -> str | None:
        """The home PLMN of an IMSI as "MCC-MNC": a known 3-digit MNC, else a known 2-digit one, else the
        2-digit reading (the MNC length is not in the IMSI itself)."""
        if not imsi or len(imsi) < 6 or not imsi.isdigit():
            return None
        for mnc_len in (3, 2):
            plmn = f"{imsi[:3]}-{imsi[3:3 + mnc_len]}"
            if plmn in self._profile_plmn or plmn in self.table.by_plmn:
                return plmn
        return f"{imsi[:3]}-{imsi[3:5]}"

    def attribute_imsi(self, imsi: str | None) -> Attribution:
        """Operator and country of an IMSI's home PLMN (tries 3-digit, then 2-digit MNC)."""
        if not imsi or len(imsi) < 6 or not imsi.isdigit():
            return UNKNOWN
        for mnc_len in (3, 2):
            att = self.attribute_plmn(f"{imsi[:3]}-{imsi[3:3 + mnc_len]}")
            if att.operator is not None:
                return att
        return self.attribute_plmn(f"{imsi[:3]}-{imsi[3:5]}")
