"""Test doubles registered as models: a sampler that records what it was given."""

from __future__ import annotations

from mbench.models.baselines.random_sampler import RandomSampler

CALLS: list[dict] = []


class SpySampler(RandomSampler):
    """Random selection that records every view it receives."""

    def query(self, view, n, *, seed, progress=lambda *a: None):
        CALLS.append({"view": view, "n": n, "seed": seed})
        return super().query(view, n, seed=seed, progress=progress)


class BrokenSampler:
    """Returns ids that are already labelled: the harness must refuse them."""

    def query(self, view, n, *, seed, progress=lambda *a: None):
        return list(view.labelled_ids[:n])
