"""Interception oversight detectors: each task's error class (``custodiet.oversight.judge``) as findings."""
