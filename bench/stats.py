"""Small statistics shared by the benchmarks."""

from __future__ import annotations


def percentile(samples: list[float], q: float) -> float:
    """The sample at quantile ``q`` (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
