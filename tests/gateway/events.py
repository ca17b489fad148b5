"""Small deterministic gateway access events for the gateway tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def gateway_event(event_id: str, i: int = 0) -> dict[str, Any]:
    """One access event as the gateway writes it (``subject`` already a pseudonym)."""
    return {
        "event_id": event_id,
        "ts": T0 + timedelta(milliseconds=i),
        "channel": "gateway",
        "actor": f"officer-{i % 5}",
        "actor_org": "U12",
        "subject": f"{i * 7919 % 100003:064x}",
        "subject_kind": "msisdn",
        "data_kind": ("location", "cdr", "identity")[i % 3],
        "operation": "GET /v1/lookup",
        "authority": f"case-{i % 4}",
        "outcome": "allowed",
        "records": 1,
        "attrs": {"client_ip": f"10.0.0.{i % 250}", "status": 200},
        "source": f"gateway:{i}",
    }
