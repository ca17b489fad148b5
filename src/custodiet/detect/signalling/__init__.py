"""Signalling detectors (SS7 MAP and Diameter): GSMA FS.11 categories 1-3, their FS.19 Diameter
equivalents, probing, and coordinated campaigns; plus ``evaluate`` against a simulated world's truth.

Every detector reads the shared table of resolved requests built by ``base.requests`` (one per run) and
the per-subscriber state of ``state``; none reads a capture. Detector ids start with ``signalling.``.
"""
