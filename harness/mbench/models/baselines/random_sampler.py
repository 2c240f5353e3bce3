"""Uniform random selection: the active-learning baseline every sampler must beat."""

from __future__ import annotations

import numpy as np

from mbench.models.capabilities import Progress, SamplerView, no_progress

__all__ = ["RandomSampler"]


class RandomSampler:
    """Pick ``n`` unlabelled ids uniformly at random (seeded).

    Example:
        >>> import numpy as np
        >>> view = SamplerView(("a", "b", "c", "d"), ("a",), np.zeros((4, 2, 2), np.float32))
        >>> sorted(RandomSampler().query(view, 2, seed=0))
        ['b', 'c']
    """

    def query(self, view: SamplerView, n: int, *, seed: int, progress: Progress = no_progress) -> list[str]:
        pool = list(view.unlabelled_ids)
        picked = np.random.default_rng(seed).choice(len(pool), size=min(n, len(pool)), replace=False)
        progress("select", 1, 1)
        return [pool[i] for i in sorted(picked)]
