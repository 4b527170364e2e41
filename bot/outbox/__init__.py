"""The outbox: digests are composed into delivery rows (``compose``), then sent (``loop``)."""
