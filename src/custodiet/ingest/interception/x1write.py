"""X1 XML (ETSI TS 103 221-1) from messages in X1's JSON form: the inverse of ``x1xml.read_x1_xml``.

The element names and their order follow the standard's schema (TS_103_221_01.xsd v1.22.1 with the
TS 103 280 common types v2.15.1): an ``X1Request`` holds ``x1RequestMessage`` elements whose ``xsi:type``
names the request; each starts with ``admfIdentifier, neIdentifier, messageTimestamp, version,
x1TransactionId``. Activate and Modify then carry ``taskDetails`` (``xId, targetIdentifiers, deliveryType,
listOfDIDs, listOfMediationDetails, listOfServiceTypes``), Deactivate carries ``xId``. Every element is in
the X1 namespace (the schema is ``elementFormDefault="qualified"``; the identifiers' *types* come from
TS 103 280, the elements do not). Each mediation detail is written as the schema has it: ``LIID``,
``deliveryType`` (required: HI2Only, HI3Only or HI2andHI3, taken from the task's X2/X3 delivery unless the
detail names its own), ``StartTime``, ``EndTime``. ``listOfDIDs`` is required by the schema and written
empty, since the JSON form names no destinations. Other request types (Ping, Keepalive, GetNEStatus...)
are written with their header only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from xml.sax.saxutils import escape

X1_NS = "http://uri.etsi.org/03221/X1/2017/10"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
X1_VERSION = "v1.22.1"  # the schema version followed; written in every message's <version>
TASK_TYPES = ("ActivateTaskRequest", "ModifyTaskRequest")
HEADER = ("admfIdentifier", "neIdentifier", "messageTimestamp", "version", "x1TransactionId")
MEDIATION_DELIVERY = {"X2Only": "HI2Only", "X3Only": "HI3Only", "X2andX3": "HI2andHI3"}
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def write_x1_xml(messages: Iterable[Mapping[str, Any]], *, per_document: int = 1, prefix: str | None = None) -> str:
    """The messages as X1 XML: one ``X1Request`` document (with its XML declaration) per ``per_document``
    messages, concatenated; elements in the default namespace, or under ``prefix`` (e.g. ``"ns1"``).
    An empty iterable gives an empty string. A message missing a field its type needs raises ValueError
    naming the message's position and the field."""
    if per_document < 1:
        raise ValueError("per_document must be at least 1")
    if prefix is not None and not _NCNAME.match(prefix):
        raise ValueError(f"not an XML prefix: {prefix!r}")
    p = f"{prefix}:" if prefix else ""
    opening = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{p}X1Request xmlns{":" + prefix if prefix else ""}="{X1_NS}" xmlns:xsi="{XSI_NS}">\n'
    )
    closing = f"</{p}X1Request>\n"
    out: list[str] = []
    in_doc = 0
    for index, message in enumerate(messages):
        if in_doc == 0:
            out.append(opening)
        out.extend(_message(message, p, index))
        in_doc += 1
        if in_doc == per_document:
            out.append(closing)
            in_doc = 0
    if in_doc:
        out.append(closing)
    return "".join(out)


def _text(message: Mapping[str, Any], key: str, index: int) -> str:
    value = message.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"message {index}: {key} missing or not a non-empty string")
    return escape(value)


def _message(m: Mapping[str, Any], p: str, index: int) -> Iterator[str]:
    kind = m.get("messageType")
    if not isinstance(kind, str) or not _NCNAME.match(kind):
        raise ValueError(f"message {index}: messageType missing or not a type name")
    yield f'  <{p}x1RequestMessage xsi:type="{p}{kind}">\n'
    task = kind in TASK_TYPES
    if task or kind == "DeactivateTaskRequest":
        for key in HEADER:
            value = escape(m.get("version", X1_VERSION)) if key == "version" else _text(m, key, index)
            yield f"    <{p}{key}>{value}</{p}{key}>\n"
    else:  # another request type: whatever header fields it has
        for key in HEADER:
            if key == "version" or m.get(key):
                value = escape(m.get("version", X1_VERSION)) if key == "version" else _text(m, key, index)
                yield f"    <{p}{key}>{value}</{p}{key}>\n"
    if task:
        yield from _task_details(m, p, index)
    elif kind == "DeactivateTaskRequest":
        yield f"    <{p}xId>{_text(m, 'xId', index)}</{p}xId>\n"
    yield f"  </{p}x1RequestMessage>\n"


def _task_details(m: Mapping[str, Any], p: str, index: int) -> Iterator[str]:
    yield f"    <{p}taskDetails>\n"
    yield f"      <{p}xId>{_text(m, 'xId', index)}</{p}xId>\n"
    targets = m.get("targetIdentifiers")
    if not isinstance(targets, list) or not targets:
        raise ValueError(f"message {index}: targetIdentifiers missing or empty")
    yield f"      <{p}targetIdentifiers>\n"
    for target in targets:
        if not isinstance(target, Mapping) or len(target) != 1:
            raise ValueError(f"message {index}: a target identifier is not a one-key object: {target!r}")
        ((kind, value),) = target.items()
        if not _NCNAME.match(kind) or not isinstance(value, str):
            raise ValueError(f"message {index}: bad target identifier {target!r}")
        yield (f"        <{p}targetIdentifier>\n          <{p}{kind}>{escape(value)}</{p}{kind}>\n"
               f"        </{p}targetIdentifier>\n")
    yield f"      </{p}targetIdentifiers>\n"
    delivery = _text(m, "deliveryType", index)
    yield f"      <{p}deliveryType>{delivery}</{p}deliveryType>\n"
    yield f"      <{p}listOfDIDs/>\n"
    details = m.get("listOfMediationDetails")
    if details is not None:
        if not isinstance(details, list):
            raise ValueError(f"message {index}: listOfMediationDetails is not a list")
        yield f"      <{p}listOfMediationDetails>\n"
        for detail in details:
            yield from _mediation(detail, delivery, p, index)
        yield f"      </{p}listOfMediationDetails>\n"
    services = m.get("listOfServiceTypes")
    if services is not None:
        if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
            raise ValueError(f"message {index}: listOfServiceTypes is not a non-empty list of strings")
        yield f"      <{p}listOfServiceTypes>\n"
        for service in services:
            yield f"        <{p}serviceType>{escape(service)}</{p}serviceType>\n"
        yield f"      </{p}listOfServiceTypes>\n"
    yield f"    </{p}taskDetails>\n"


def _mediation(detail: Any, delivery: str, p: str, index: int) -> Iterator[str]:
    if not isinstance(detail, Mapping):
        raise ValueError(f"message {index}: a mediation detail is not an object")
    yield f"        <{p}mediationDetails>\n"
    yield f"          <{p}LIID>{_text(detail, 'lIID', index)}</{p}LIID>\n"
    hi = detail.get("deliveryType") or MEDIATION_DELIVERY.get(delivery, "HI2andHI3")
    yield f"          <{p}deliveryType>{escape(hi)}</{p}deliveryType>\n"
    for key, element in (("startTime", "StartTime"), ("endTime", "EndTime")):
        if key in detail:
            yield f"          <{p}{element}>{_text(detail, key, index)}</{p}{element}>\n"
    yield f"        </{p}mediationDetails>\n"
