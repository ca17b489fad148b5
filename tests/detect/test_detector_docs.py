"""Docs that cannot drift: every registered detector is documented in its module and in the README."""

from __future__ import annotations

from pathlib import Path

from custodiet.detect.registry import load_all

README = Path(__file__).parents[2] / "README.md"


def test_every_insider_detector_is_in_the_readme_table() -> None:
    text = README.read_text()
    for det in load_all():
        if det.channel == "portal":
            assert f"| `{det.id}` |" in text, det.id


def test_every_detector_says_what_it_catches_and_its_false_positives() -> None:
    import importlib

    for det in load_all():
        module = importlib.import_module(det.run.__module__)
        doc = module.__doc__ or ""
        assert "false positive" in doc.lower() or "Known false positives" in doc, det.id
