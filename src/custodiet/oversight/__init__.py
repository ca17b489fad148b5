"""Interception oversight: every interception task held against the warrant that should cover it.

``tasks`` puts the tasks back together from the X1 messages in the ledger; ``judge`` holds each against
its warrants and gives it its error class; ``report`` counts them for a transparency report; ``evaluate``
scores all of it against a world's truth.
"""
