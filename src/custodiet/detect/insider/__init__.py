"""Insider detectors (portal, gateway and console channels) and their shared tables (:mod:`.base`).

The channel list lives here, not in :mod:`.base`, so that light modules (leak tracing) can name it
without importing Ibis.
"""

INSIDER_CHANNELS = ("portal", "gateway", "console")
