"""mbench: benchmark and challenge evaluation harness for medical image analysis.

The core (task cards, metrics, results, CLI listing) imports without torch; the deep-learning
baselines import torch lazily when a run needs them.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
