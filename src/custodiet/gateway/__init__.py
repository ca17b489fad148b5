"""The lookup gateway: no citizen's data leaves without an authority that covers it, every lookup ledgered."""
