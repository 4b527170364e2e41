"""Shared test helpers (servers on loopback, database fixtures)."""
