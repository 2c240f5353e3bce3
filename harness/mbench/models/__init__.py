"""Models: capability protocols, the registry, and the built-in baselines."""

from mbench.models.capabilities import Learner, Sampler, SamplerView
from mbench.models.registry import ModelEntry, all_models, create_model, get_model_entry

__all__ = ["Learner", "Sampler", "SamplerView", "ModelEntry", "all_models", "create_model", "get_model_entry"]
