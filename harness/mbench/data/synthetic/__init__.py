"""Deterministic synthetic stand-ins, written in the real datasets' on-disk layouts."""

from mbench.data.synthetic.registry import GENERATORS, generate_standin

__all__ = ["GENERATORS", "generate_standin"]
