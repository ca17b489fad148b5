"""A simulated signalling world: real encoded M3UA/SCCP/TCAP/MAP and Diameter S6a/Sh/SLh captures of a
home network's interconnect, with legitimate roaming traffic, planted attacks of every FS.11 / FS.19
category, a probing sweep and a coordinated campaign, plus the home network profile and ground truth.

Deterministic for a seed. Every name and number is invented (see ``world``).
"""

from __future__ import annotations

from custodiet.simulate.signalling.build import simulate_signalling

__all__ = ["simulate_signalling"]
