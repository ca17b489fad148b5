"""Custodiet: who looked up whose telecom and identity data, and was it justified?"""

__version__ = "0.1.0"
