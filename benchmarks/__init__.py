"""Benchmarks of the issue's seven figures; run them all with ``python -m benchmarks``."""
