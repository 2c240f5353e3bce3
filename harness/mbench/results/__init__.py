"""Results: one folder per run (provenance, per-job results, tidy per-case scores, summary)."""

from mbench.results.store import RunFolder, ResultsStore, atomic_write_text
from mbench.results.summary import summarise

__all__ = ["RunFolder", "ResultsStore", "atomic_write_text", "summarise"]
