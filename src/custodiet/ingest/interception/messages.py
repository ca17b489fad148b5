"""Check one X1 message (in X1's JSON form, from either reader) and read it into an ``X1Message``.

Only task messages matter to oversight: ActivateTaskRequest, ModifyTaskRequest, DeactivateTaskRequest.
Other X1 requests (Ping, destinations, task details) are counted and skipped. A message that breaks X1's
rules as Custodiet reads them gets the reason why, which goes to quarantine with its line:
- every message: a ``messageTimestamp`` (ISO 8601) and an ``xId``; no text field holds a control character;
- Activate and Modify (which carries the task's complete details): at least one target, each an object
  with one key, ``e164Number``, ``imsi`` or ``imei``, whose value is a valid identifier of that kind; a
  ``deliveryType`` of ``X2Only``, ``X3Only`` or ``X2andX3``; exactly one mediation detail, naming the
  warrant in its ``lIID``; ``listOfServiceTypes``, when present, a list of strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from custodiet.events import epoch_us, from_epoch_us, parse_time
from custodiet.identifiers import IdentifierRules, InvalidIdentifier, normalise

ACTIVATE, MODIFY, DEACTIVATE = "ActivateTaskRequest", "ModifyTaskRequest", "DeactivateTaskRequest"
TASK_MESSAGES = (ACTIVATE, MODIFY, DEACTIVATE)
TARGET_KINDS = {"e164Number": "msisdn", "imsi": "imsi", "imei": "imei"}  # X1's name -> subject kind
DELIVERY_KINDS = {"X2Only": ("metadata",), "X3Only": ("content",), "X2andX3": ("content", "metadata")}
LOCATION_SERVICE = "LALS"  # lawful access location services
# The data kind an event carries: the most intrusive its message asks for.
INTRUSION_ORDER = ("content", "location", "metadata")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NotATask(Exception):
    """An X1 request that is not about a task (Ping, destinations...): skipped, not rejected."""


@dataclass
class X1Message:
    """A task message as Custodiet reads it. ``targets`` are (subject kind, normalised value)."""

    line: int
    ts_us: int
    message_type: str
    xid: str
    transaction: str | None
    admf: str | None
    ne: str | None
    targets: list[tuple[str, str]] = field(default_factory=list)
    delivery: str | None = None
    services: list[str] = field(default_factory=list)
    liid: str | None = None
    start: str | None = None  # the mediation detail's times, recorded (in UTC when they read as ISO 8601)
    end: str | None = None

    @property
    def data_kinds(self) -> list[str]:
        """What the message asks for: X2 -> metadata, X3 -> content, LALS -> location (sorted)."""
        kinds = set(DELIVERY_KINDS.get(self.delivery or "", ()))
        if LOCATION_SERVICE in self.services:
            kinds.add("location")
        return sorted(kinds)


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    if _CONTROL.search(value):
        raise ValueError(f"{key} holds a control character")
    return value.strip() or None


def _timestamp_us(text: str) -> int:
    return epoch_us(parse_time(text))


def _targets(obj: dict[str, Any], rules: IdentifierRules) -> list[tuple[str, str]]:
    given = obj.get("targetIdentifiers")
    if not isinstance(given, list) or not given:
        raise ValueError("no targetIdentifiers")
    targets = []
    for i, entry in enumerate(given, 1):
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(f"target {i} is not an object with one identifier")
        ((key, value),) = entry.items()
        kind = TARGET_KINDS.get(key)
        if kind is None:
            raise ValueError(f"target {i}: identifier kind {key!r} is not supported (e164Number, imsi, imei)")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ValueError(f"target {i}: {key} is not a string")
        try:
            targets.append((kind, normalise(kind, str(value), rules)))
        except InvalidIdentifier as exc:
            raise ValueError(f"target {i}: {key} {value!r}: {exc}") from None
    return sorted(set(targets))


def _mediation(obj: dict[str, Any]) -> dict[str, Any]:
    details = obj.get("listOfMediationDetails")
    if not isinstance(details, list) or not details:
        raise ValueError("no listOfMediationDetails (the lIID names the warrant)")
    if len(details) > 1:
        raise ValueError(f"{len(details)} mediation details: a task message carries one")
    (detail,) = details
    if not isinstance(detail, dict) or not _text(detail, "lIID"):
        raise ValueError("the mediation detail has no lIID")
    return detail


def read_message(obj: dict[str, Any], line: int, rules: IdentifierRules) -> X1Message:
    """The task message ``obj`` (X1's JSON form) read and checked; ``ValueError`` says what is wrong and
    ``NotATask`` skips a request of another type."""
    kind = _text(obj, "messageType")
    if kind is None:
        raise ValueError("no messageType")
    if kind not in TASK_MESSAGES:
        raise NotATask(kind)
    stamp = _text(obj, "messageTimestamp")
    if stamp is None:
        raise ValueError("no messageTimestamp")
    try:
        ts_us = _timestamp_us(stamp)
    except ValueError:
        raise ValueError(f"messageTimestamp {stamp!r} is not an ISO 8601 timestamp") from None
    xid = _text(obj, "xId")
    if xid is None:
        raise ValueError("no xId")
    message = X1Message(line, ts_us, kind, xid, _text(obj, "x1TransactionId"), _text(obj, "admfIdentifier"),
                        _text(obj, "neIdentifier"))
    if kind == DEACTIVATE:
        return message
    message.targets = _targets(obj, rules)
    message.delivery = _text(obj, "deliveryType")
    if message.delivery not in DELIVERY_KINDS:
        raise ValueError(f"deliveryType {message.delivery!r} is not one of {', '.join(DELIVERY_KINDS)}")
    services = obj.get("listOfServiceTypes", [])
    if not isinstance(services, list) or not all(isinstance(s, str) and not _CONTROL.search(s) for s in services):
        raise ValueError("listOfServiceTypes is not a list of strings without control characters")
    message.services = sorted({s.strip() for s in services if s.strip()})
    detail = _mediation(obj)
    message.liid = _text(detail, "lIID")
    message.start, message.end = _recorded_time(_text(detail, "startTime")), _recorded_time(_text(detail, "endTime"))
    return message


def _recorded_time(text: str | None) -> str | None:
    """A mediation time in one spelling (UTC, microseconds), so that both X1 forms give the same event; text
    that is no timestamp is kept as given (it bounds nothing)."""
    if text is None:
        return None
    try:
        us = _timestamp_us(text)
    except ValueError:
        return text
    return from_epoch_us(us).isoformat(timespec="microseconds")
