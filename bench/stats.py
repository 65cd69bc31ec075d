"""Small statistics and the results file, shared by the benchmarks."""

from __future__ import annotations


def percentile(samples: list[float], q: float) -> float:
    """The sample at quantile ``q`` (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def write_results(path: str, text: str, marker: str) -> None:
    """Write a benchmark's generated ``text`` to ``path``, keeping everything from ``marker``
    on (the notes written by hand) from the file as it was."""
    import os

    notes = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            old = f.read()
        if marker in old:
            notes = old[old.index(marker) :]
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + ("\n" + notes if notes else ""))
