"""The context tables a user can load, their columns and keys (cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContextSpec:
    table: str  # name in the store
    fields: tuple[str, ...]
    required: tuple[str, ...]
    key: tuple[str, ...]  # a later record with the same key replaces an earlier one


SPECS = {
    "actors": ContextSpec("actors", ("actor", "org", "role", "region"), ("actor",), ("actor",)),
    "cases": ContextSpec("cases", ("case_id", "org", "opened", "closed"), ("case_id",), ("case_id",)),
    "case-subjects": ContextSpec("case_subjects", ("case_id", "subject", "subject_kind"),
                                 ("case_id", "subject", "subject_kind"), ("case_id", "subject", "subject_kind")),
    "protected": ContextSpec("protected", ("subject", "subject_kind", "category"), ("subject", "subject_kind"),
                             ("subject", "subject_kind")),
}
