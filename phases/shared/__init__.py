"""Measurement helpers that more than one phase group uses (Benford's law, the wide-scan builder)."""
