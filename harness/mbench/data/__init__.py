"""Data: adapters for public dataset layouts, split manifests, synthetic stand-ins."""

from mbench.data.adapter import ADAPTERS, DatasetAdapter, create_adapter
from mbench.data.split import SplitManifest

__all__ = ["ADAPTERS", "DatasetAdapter", "create_adapter", "SplitManifest"]
