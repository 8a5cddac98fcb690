"""Helpers the central-server tests and bench/central_scale.py share: a centre in real processes,
agents with filled spools, and a TCP proxy that breaks connections."""
