"""The canonical access event: its Arrow schema and the vocabularies of its coded fields.

Every source is mapped onto these columns by its adapter (``custodiet.ingest``); detectors only ever
see them. ``attrs`` holds channel-specific details as canonical JSON text (sorted keys, no whitespace).
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

CHANNELS = ("portal", "signalling", "interception", "gateway", "console")

SUBJECT_KINDS = ("msisdn", "imsi", "imei", "nid", "passport")

DATA_KINDS = (
    "identity",  # national ID / civil registry record
    "subscriber",  # SIM registration, subscriber profile
    "cdr",  # call detail records
    "location",  # cell / position of a phone
    "imei",  # device identity and history
    "travel",  # border crossings, foreign travel
    "criminal",  # criminal profile
    "intercept",  # interception, call forwarding, subscriber data that diverts traffic
    "sms_route",  # routing information for SMS
    "call_route",  # routing information for calls
    "auth_vectors",  # authentication vectors
    "sms",  # short message delivery / submission
    "service",  # USSD and supplementary services
    "registration",  # location registration / cancellation / purge (mobility management)
)

OUTCOMES = ("allowed", "denied", "error")

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("actor", pa.string(), nullable=False),
        pa.field("actor_org", pa.string()),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("subject_kind", pa.string(), nullable=False),
        pa.field("data_kind", pa.string(), nullable=False),
        pa.field("operation", pa.string()),
        pa.field("authority", pa.string()),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("records", pa.int64()),
        pa.field("attrs", pa.string()),
        pa.field("source", pa.string(), nullable=False),
    ]
)

EVENT_FIELDS = tuple(EVENT_SCHEMA.names)


def canonical_json(value: Any) -> str:
    """The one JSON text form used for attrs, heads and hashes: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sql_list(values: tuple[str, ...]) -> str:
    """A SQL list literal of vocabulary values, e.g. ``('a', 'b')``."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"
