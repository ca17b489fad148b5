"""A simulated citizen-data registry (the upstream behind the gateway) serving a portal world's people."""
