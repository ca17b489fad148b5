"""The gateway's decision on one lookup: is the authority the officer names one that covers this subject?

Allowed when the authority is
- one of the officer's unit's cases (the actors table gives the unit), open now, that lists the subject; or
- a warrant valid now that lists the subject, for a kind of data it authorises: a location lookup needs
  ``location``, an interception lookup (``intercept``) needs ``content``, any other (subscriber, call
  records, identity...) needs ``metadata`` — communications data.
Otherwise refused, with the reason. Break-glass: a stated reason of at least ``BREAK_GLASS_MIN`` characters
allows a lookup nothing covers (no authority, another unit's case, a closed case), marked for review; it
never overrides a bad token or the rate limit (those are decided before and after this).

Cases do not yet list the identifiers linked to their subjects (a suspect's second SIM): such a lookup
needs the identifier on the case, or break-glass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custodiet.gateway.context import Context

BREAK_GLASS_MIN = 10
WARRANT_KIND = {"location": "location", "intercept": "content"}  # anything else: communications data


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    break_glass: bool = False  # allowed only by break-glass: to be reviewed
    would_deny: bool = False  # warn mode: allowed, but enforce mode would have refused


def _covered(ctx: Context, actor: str, authority: str, subject: tuple[str, str], data_kind: str,
             now: datetime) -> tuple[bool, str]:
    """(covered, why) for one authority."""
    case = ctx.cases.get(authority)
    if case is not None:
        unit = ctx.accounts.get(actor, (None, None))[0]
        if unit is None:
            return False, f"account {actor} has no unit in the actors table, so no case of its unit covers it"
        if case.org != unit:
            return False, f"case {authority} belongs to unit {case.org}, not to {actor}'s unit {unit}"
        if not case.open_at(now):
            when = f"closed {case.closed:%Y-%m-%d}" if case.closed and case.closed <= now else "not open yet"
            return False, f"case {authority} is {when}"
        if subject not in case.subjects:
            return False, f"case {authority} does not list this {subject[0]}"
        return True, f"case {authority} of unit {unit} lists this {subject[0]}"
    warrant = ctx.warrants.get(authority)
    if warrant is not None:
        if not warrant.valid_from <= now <= warrant.valid_to:
            return False, (f"warrant {authority} is valid from {warrant.valid_from:%Y-%m-%d} to "
                           f"{warrant.valid_to:%Y-%m-%d}, not now")
        if subject not in warrant.targets:
            return False, f"warrant {authority} does not list this {subject[0]}"
        needed = WARRANT_KIND.get(data_kind, "metadata")
        if needed not in warrant.data_kinds:
            return False, f"warrant {authority} does not authorise {needed} ({data_kind} lookups)"
        return True, f"warrant {authority} lists this {subject[0]} for {needed}"
    return False, f"{authority} is neither a case nor a warrant"


def decide(ctx: Context, actor: str, authority: str | None, subject: tuple[str, str], data_kind: str,
           now: datetime, break_glass: str | None, enforce: bool = True) -> Decision:
    """The decision for an authenticated officer's lookup (token and rate limit are judged elsewhere)."""
    if authority:
        covered, why = _covered(ctx, actor, authority.strip(), subject, data_kind, now)
    else:
        covered, why = False, "no authority given (X-Custodiet-Authority)"
    if covered:
        return Decision(True, why)
    reason = (break_glass or "").strip()
    if len(reason) >= BREAK_GLASS_MIN:
        return Decision(True, f"break-glass ({why}): {reason}", break_glass=True)
    if reason:
        why += f"; a break-glass reason needs at least {BREAK_GLASS_MIN} characters"
    if not enforce:
        return Decision(True, f"warn mode, enforce would refuse: {why}", would_deny=True)
    return Decision(False, why)
