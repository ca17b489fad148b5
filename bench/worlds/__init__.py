"""Independent world generators: worlds built from the written description of real behaviour, not from
the project's own simulator, to measure how the detectors fare on worlds they were not tuned on."""
