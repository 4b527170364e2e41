"""Digests: what a subscriber reads (model) and how it looks on each platform (render)."""
