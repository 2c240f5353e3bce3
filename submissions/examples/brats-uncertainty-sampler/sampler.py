"""Active-learning sampler for ``brats18-al-wtseg``: label the slices whose FLAIR intensities are most ambiguous.

Each round it calibrates, on the labelled pool only, the FLAIR intensity threshold whose above-threshold
area best matches each labelled slice's tumour area (``view.labelled_targets``); then it scores every
unlabelled slice by the share of its pixels that lie within a narrow band around that threshold (pixels
whose tumour / no-tumour call is uncertain) and picks the ``n`` most ambiguous ones, spread over the
ranking so that near-duplicate slices of one patient are not all chosen together.

It sees what the sandbox gives a sampler (pool images, ids, labelled-pool targets) and nothing else.
"""

from __future__ import annotations

import numpy as np


class AmbiguitySampler:
    """See the module docstring; ``band`` is the half-width of the ambiguous band (intensities in [0, 1])."""

    def __init__(self, band: float = 0.05, candidates: int = 64, stride: int = 2) -> None:
        self.band, self.candidates, self.stride = band, candidates, stride

    def calibrate(self, images: np.ndarray, tumour_fraction: np.ndarray) -> float:
        grid = np.quantile(images, np.linspace(0.5, 0.999, self.candidates))
        errors = [np.mean(((images > t).mean(axis=(1, 2)) - tumour_fraction) ** 2) for t in grid]
        return float(grid[int(np.argmin(errors))])

    def query(self, view, n, *, seed, progress=None) -> list[str]:
        images = view.aux if view.aux is not None else view.images
        unlabelled = list(view.unlabelled_ids)
        labelled = list(view.labelled_ids)
        fractions = view.labelled_targets(labelled).reshape(len(labelled), -1).mean(axis=1)
        threshold = self.calibrate(images[view.index(labelled)], fractions)
        pool = images[view.index(unlabelled)]
        ambiguity = (np.abs(pool - threshold) < self.band).mean(axis=(1, 2))
        jitter = np.random.default_rng(seed).random(len(unlabelled)) * 1e-9  # seeded tie-break
        order = np.argsort(-(ambiguity + jitter), kind="stable")
        n = min(n, len(unlabelled))
        spread = order[:: max(1, self.stride)][:n]
        chosen = list(spread) + [i for i in order if i not in set(spread)][: n - len(spread)]
        return [unlabelled[i] for i in sorted(chosen)]
