"""The context tables a user can load, their columns and keys (cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContextSpec:
    table: str  # name in the store
    fields: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...]  # a later record with the same key replaces an earlier one
    subject: tuple[str, str] | None = None  # (identifier field, its kind field), pseudonymised on load
    subject_kinds: tuple[str, ...] | None = None  # the kinds its identifiers may be (default: every subject kind)
    times: tuple[str, str] | None = None  # (start, end) timestamp fields; the end may not precede the start
    same_within: tuple[str, ...] = ()  # fields every record of one value of ``key[0]`` must agree on


SPECS = {
    "actors": ContextSpec("actors", ("actor", "org", "role", "region"), ("actor",), ("actor",)),
    "cases": ContextSpec("cases", ("case_id", "org", "opened", "closed"), ("case_id",), ("case_id",),
                         times=("opened", "closed")),
    "case-subjects": ContextSpec("case_subjects", ("case_id", "subject", "subject_kind"),
                                 ("case_id", "subject", "subject_kind"), ("case_id", "subject", "subject_kind"),
                                 subject=("subject", "subject_kind")),
    "protected": ContextSpec("protected", ("subject", "subject_kind", "category"), ("subject", "subject_kind"),
                             ("subject", "subject_kind"), subject=("subject", "subject_kind")),
    # One row per (warrant, target); the warrant's own fields repeat on each of its rows.
    "warrants": ContextSpec("warrants", ("warrant_id", "agency", "issuer", "authority_level", "target", "target_kind",
                                         "data_kinds", "valid_from", "valid_to"),
                            ("warrant_id", "agency", "target", "target_kind", "data_kinds", "valid_from", "valid_to"),
                            ("warrant_id", "target_kind", "target"), subject=("target", "target_kind"),
                            subject_kinds=("msisdn", "imsi", "imei"),
                            times=("valid_from", "valid_to"),
                            same_within=("agency", "issuer", "authority_level", "data_kinds", "valid_from",
                                         "valid_to")),
}

WARRANT_DATA_KINDS = ("content", "metadata", "location")  # what a warrant may authorise
