"""Robust comparison with peers: median and MAD of a per-actor value within a peer group, as Ibis.

Peers are the accounts of the same unit and role. Small groups are common (a unit with three analysts),
and their MAD is often 0; two guards handle that: a group smaller than ``min_group`` falls back to the
whole unit (a verification cell's supervisor works like the cell, not like other units' supervisors),
and the spread has a floor, so "twice the median of a very regular unit" is
not an infinite z. Values are compared on a log scale (counts are skewed; ratios matter, not
differences).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

MAD_TO_SIGMA = 1.4826


def _stats(t: ir.Table, keys: Sequence[str], value: str, prefix: str) -> ir.Table:
    g = t.group_by(list(keys)).aggregate(**{f"{prefix}_med": t[value].median(), f"{prefix}_n": t.count()})
    j = t.join(g, list(keys)).select(*keys, dev=(t[value] - g[f"{prefix}_med"]).abs())
    mad = j.group_by(list(keys)).aggregate(**{f"{prefix}_mad": j.dev.median()})
    return g.join(mad, list(keys))


def peer_median(t: ir.Table, dim: ir.Table, value: str, min_group: int = 4) -> ir.Table:
    """Per account (``aid``): the median of ``value`` over its peers, every account of ``dim`` counting
    (0 where ``t`` has no row). Groups: (org, role), or the whole org when that is smaller than
    ``min_group``. Returns aid, peer_med, peer_n."""
    full = dim.left_join(t.select("aid", v=t[value]), "aid").select("aid", "org", "role", v=ibis._.v.fill_null(0))
    fine = full.group_by(["org", "role"]).aggregate(g_med=full.v.median(), g_n=full.count())
    coarse = full.group_by("org").aggregate(f_med=full.v.median(), f_n=full.count())
    j = full.join(fine, ["org", "role"]).join(coarse, "org")
    use = j.g_n >= min_group
    return j.select("aid", peer_med=ibis.ifelse(use, j.g_med, j.f_med).cast("float64"),
                    peer_n=ibis.ifelse(use, j.g_n, j.f_n))


def robust_z(t: ir.Table, group: Sequence[str], fallback: Sequence[str], value: str, *,
             min_group: int = 4, floor: float = 0.4) -> ir.Table:
    """Add ``peer_med``, ``peer_n`` and ``z`` (robust z of ``value`` against its group) to ``t``.

    ``value`` should already be on the scale to compare (e.g. ``ln(1 + count)``). ``floor`` is the
    smallest spread (in units of ``value``) accepted as sigma; on a log scale 0.4 means that being 50%
    above the median of a perfectly regular group is one sigma.
    """
    fine = _stats(t, group, value, "g")
    coarse = _stats(t, fallback, value, "f")
    j = t.join(fine, list(group)).join(coarse, list(fallback))
    use_fine = j.g_n >= min_group
    med = ibis.ifelse(use_fine, j.g_med, j.f_med)
    mad = ibis.ifelse(use_fine, j.g_mad, j.f_mad)
    sigma = ibis.greatest(mad * MAD_TO_SIGMA, ibis.literal(floor))
    return j.mutate(peer_med=med, peer_n=ibis.ifelse(use_fine, j.g_n, j.f_n),
                    z=(j[value] - med) / sigma).drop("g_med", "g_mad", "g_n", "f_med", "f_mad", "f_n")


def peer_median_at(t: ir.Table, presence: ir.Table, dim: ir.Table, value: str, min_group: int = 4) -> ir.Table:
    """Per (``aid``, ``oid``) row of ``t``: the median of ``value`` over the accounts that worked in unit
    ``oid`` (``presence``: every (aid, oid) an account worked in; 0 where ``t`` has no row), grouped by
    (unit, role), or the whole unit when that group is smaller than ``min_group``.

    Officers move desks: an account that spent two months in a verification cell and then joined an
    investigation unit is judged on its verification weeks against the verification cell, not against
    the unit the actors table lists now. Returns aid, oid, peer_med, peer_n.
    """
    roles = dim.select("aid", "role")
    full = presence.join(roles, "aid").left_join(t.select("aid", "oid", v=t[value]), ["aid", "oid"])
    full = full.select("aid", "oid", "role", v=ibis._.v.fill_null(0))
    fine = full.group_by(["oid", "role"]).aggregate(g_med=full.v.median(), g_n=full.count())
    coarse = full.group_by("oid").aggregate(f_med=full.v.median(), f_n=full.count())
    j = t.select("aid", "oid").join(roles, "aid").join(fine, ["oid", "role"]).join(coarse, "oid")
    use = j.g_n >= min_group
    return j.select("aid", "oid", peer_med=ibis.ifelse(use, j.g_med, j.f_med).cast("float64"),
                    peer_n=ibis.ifelse(use, j.g_n, j.f_n))
