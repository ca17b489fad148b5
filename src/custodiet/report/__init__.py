"""Reports built from findings: the signalling report (``signalling``, rendered by ``render``)."""
