"""Vocabularies of the canonical event's coded fields (pure Python: cheap to import)."""

from __future__ import annotations

CHANNELS = ("portal", "signalling", "interception", "gateway", "console")

# tmsi: a temporary mobile subscriber identity (hex), as signalling names a subscriber it has no IMSI for;
# unknown: no identifier at all: the subject is then a pseudonym of a dialogue reference (signalling).
SUBJECT_KINDS = ("msisdn", "imsi", "imei", "nid", "passport", "tmsi", "unknown")

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
    "content",  # interception of communications content (X3)
    "metadata",  # interception of communications data: who, when, where from (X2)
)

# What sells: the listing sites price phone location, call records, travel and IMEI details.
SALE_KINDS = ("location", "cdr", "imei", "travel")

OUTCOMES = ("allowed", "denied", "error")
