"""Benchmarks, run on request (`python3 dev.py bench`); they print figures, never assert."""
