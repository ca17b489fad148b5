"""Investigators' cases: findings grouped under one id, with a hash-chained chain of custody.

Python entry points (the CLI calls these, and so will the console):

- ``open_case(store, title, finding_ids, by) -> case id``; ``add_note(store, case_id, text, by)``;
- ``set_status(store, case_id, status, outcome, by)`` (``open``, ``under_review``, ``closed``);
- ``read_case(store, case_id) -> dict`` (the fold of its records, with ``history``); ``list_cases(store)``.

Errors: ``CaseError`` for a request that cannot be carried out, ``JournalError`` for a journal that is not
as it was written (see ``journal``).
"""

from __future__ import annotations

from custodiet.cases.cases import (
    STATUSES,
    CaseError,
    add_note,
    fold_case,
    list_cases,
    open_case,
    read_case,
    set_status,
)
from custodiet.cases.journal import JournalError, line_hash

__all__ = ["STATUSES", "CaseError", "JournalError", "add_note", "fold_case", "line_hash", "list_cases", "open_case",
           "read_case", "set_status"]
