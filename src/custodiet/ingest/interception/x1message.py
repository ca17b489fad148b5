"""One ``x1RequestMessage`` element (an lxml element) in X1's JSON form, or why it cannot be.

``message_of`` gives ``messageType`` (the ``xsi:type`` without its prefix), the header fields, ``xId``
and, for Activate and Modify, the task details; other request types give ``{"messageType": type}`` only.
Children are matched by local name (their namespace is not checked), the first of each name counting;
unknown elements are ignored, and so are the schema's ``version``, ``listOfDIDs`` and a mediation
detail's ``deliveryType``, which have no place in the JSON form. A message missing what its type needs
raises ``Unmappable`` naming the element.
"""

from __future__ import annotations

from typing import Any

from custodiet.ingest.interception.x1write import XSI_NS

TASK_TYPES = ("ActivateTaskRequest", "ModifyTaskRequest")
DEACTIVATE = "DeactivateTaskRequest"
HEADER_KEYS = ("messageTimestamp", "admfIdentifier", "neIdentifier", "x1TransactionId")
_XSI_TYPE = f"{{{XSI_NS}}}type"


class Unmappable(Exception):
    """A message element that cannot be mapped to the JSON form; the text names the element."""


_LOCALS: dict[Any, str] = {}  # qualified tag -> local name, for the few tags a file uses


def local_name(tag: Any) -> str:
    """The local part of an lxml tag (``{namespace}name``), "" for a comment or PI; cached."""
    local = _LOCALS.get(tag)
    if local is None:
        local = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        if len(_LOCALS) < 10_000:
            _LOCALS[tag] = local
    return local


def _text(element: Any, what: str) -> str:
    text = element.text
    if text is None or not (text := text.strip()):
        raise Unmappable(f"empty <{what}>")
    return text


def _first_children(element: Any) -> dict[str, Any]:
    """The first child of each local name."""
    first: dict[str, Any] = {}
    for child in element:
        first.setdefault(local_name(child.tag), child)
    return first


def message_of(element: Any) -> dict[str, Any]:
    """The JSON form of one x1RequestMessage element (``Unmappable`` naming the element that is missing)."""
    declared = element.get(_XSI_TYPE)
    if not declared or not declared.strip():
        raise Unmappable("x1RequestMessage has no xsi:type")
    kind = declared.strip().rpartition(":")[2]
    if kind not in TASK_TYPES and kind != DEACTIVATE:
        return {"messageType": kind}
    first = _first_children(element)
    details, xid = first.get("taskDetails"), first.get("xId")
    message: dict[str, Any] = {"messageType": kind}
    for key in HEADER_KEYS:
        child = first.get(key)
        if child is None:
            raise Unmappable(f"{kind} has no <{key}>")
        message[key] = _text(child, key)
    if kind == DEACTIVATE:
        if xid is None:
            raise Unmappable(f"{kind} has no <xId>")
        message["xId"] = _text(xid, "xId")
        return message
    if details is None:
        raise Unmappable(f"{kind} has no <taskDetails>")
    _task_details(details, kind, message)
    return message


def _task_details(details: Any, kind: str, message: dict[str, Any]) -> None:
    first = _first_children(details)
    xid, targets_list, delivery = first.get("xId"), first.get("targetIdentifiers"), first.get("deliveryType")
    services, mediation = first.get("listOfServiceTypes"), first.get("listOfMediationDetails")
    if xid is None:
        raise Unmappable(f"{kind} has no <taskDetails>/<xId>")
    if targets_list is None:
        raise Unmappable(f"{kind} has no <taskDetails>/<targetIdentifiers>")
    if delivery is None:
        raise Unmappable(f"{kind} has no <taskDetails>/<deliveryType>")
    message["xId"] = _text(xid, "xId")
    targets: list[dict[str, str]] = []
    for holder in targets_list:
        if local_name(holder.tag) != "targetIdentifier":
            continue
        for ident in holder:
            local = local_name(ident.tag)
            targets.append({local: _identifier(ident, local)})
            break
        else:
            raise Unmappable(f"{kind} has an empty <targetIdentifier>")
    if not targets:
        raise Unmappable(f"{kind} has no <targetIdentifier> in <targetIdentifiers>")
    message["targetIdentifiers"] = targets
    message["deliveryType"] = _text(delivery, "deliveryType")
    if services is not None:
        names = [
            _text(c, "serviceType") for c in services if local_name(c.tag) == "serviceType"
        ]
        if names:
            message["listOfServiceTypes"] = names
    if mediation is not None:
        message["listOfMediationDetails"] = [
            _mediation(c, kind) for c in mediation if local_name(c.tag) == "mediationDetails"
        ]


def _identifier(ident: Any, local: str) -> str:
    """A target identifier's value: its text, or for a structured one (a port range, say) its parts as
    ``name=value`` joined by commas."""
    if len(ident) == 0:
        return _text(ident, local)
    return ",".join(f"{local_name(c.tag)}={(c.text or '').strip()}" for c in ident)


_MEDIATION_KEYS = {"LIID": "lIID", "lIID": "lIID", "StartTime": "startTime", "startTime": "startTime",
                   "EndTime": "endTime", "endTime": "endTime"}


def _mediation(detail: Any, kind: str) -> dict[str, str]:
    """One mediation detail: the schema's LIID, StartTime and EndTime (lIID, startTime and endTime
    accepted too) as lIID, startTime and endTime, each only when present, in document order."""
    out: dict[str, str] = {}
    for child in detail:
        local = local_name(child.tag)
        key = _MEDIATION_KEYS.get(local)
        if key is not None and key not in out:
            out[key] = _text(child, local)
    if "lIID" not in out:
        raise Unmappable(f"{kind} has a <mediationDetails> without <LIID>")
    return out
