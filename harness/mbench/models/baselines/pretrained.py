"""Pretrained weights from the standard local caches only: never a download.

The Hugging Face hub cache (``$HF_HOME/hub``, default ``~/.cache/huggingface/hub``) is where timm
and segmentation-models-pytorch keep ImageNet weights. When a file is not there, the error names the
exact file, where to put it, and the command to fetch it on a machine with internet access.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from mbench.errors import MbenchError

__all__ = ["cached_hub_file", "cached_torch_checkpoint", "known_torch_checkpoint"]


def _hub_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def _explicit_file(explicit: str, expected: str, cache: str) -> Path:
    """``model.pretrained_path`` as a path; an error that names it when the file is missing."""
    path = Path(explicit).expanduser()
    if not path.is_file():
        raise MbenchError(f"pretrained weights file not found: {path}", expected=expected,
                          fix=f"fix model.pretrained_path, or leave it unset to use the {cache}")
    return path


def cached_hub_file(repo_id: str, filename: str, *, explicit: str | None = None, revision: str | None = None) -> Path:
    """Local path of ``filename`` from hub repo ``repo_id``: ``explicit`` if given, else the hub cache.

    Raises:
        MbenchError: the file is not cached; the message says where it must go.
    """
    if explicit:
        return _explicit_file(explicit, "an existing weights file", "hub cache")
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=str(_hub_dir()), revision=revision)
    if isinstance(found, str) and Path(found).is_file():
        return Path(found)
    folder = _hub_dir() / f"models--{repo_id.replace('/', '--')}"
    raise MbenchError(
        f"pretrained weights for {repo_id} are not in the local cache (mbench never downloads them)",
        expected=f"{folder}/snapshots/<revision>/{filename}",
        found="no cached file",
        fix=f"on a machine with internet run `huggingface-cli download {repo_id} {filename}"
            f"{' --revision ' + revision if revision else ''}` and copy {folder} to the same place here "
            "(or set HF_HOME), or pass model.pretrained_path=/path/to/file, or set model.pretrained=false "
            "(an unofficial run)")


def cached_torch_checkpoint(name: str, *, explicit: str | None = None, what: str = "pretrained weights") -> Path:
    """Local path of torchvision checkpoint ``name`` (``$TORCH_HOME/hub/checkpoints/<name>``), or ``explicit``.

    Raises:
        MbenchError: the file is not there; the message names the place and the download command.
    """
    if explicit:
        return _explicit_file(explicit, "an existing .pth file", "torch hub cache")
    import torch

    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    if not path.is_file():
        raise MbenchError(f"{what} are not in the local cache (mbench never downloads them)", expected=str(path),
                          found="no such file",
                          fix=f"on a machine with internet: wget https://download.pytorch.org/models/{name}, copy it to "
                              f"{path.parent} (or set TORCH_HOME), or pass model.pretrained_path=..., or "
                              "model.pretrained=none (an unofficial run)")
    return path


def known_torch_checkpoint(files: Mapping[tuple[str, str], str], arch: str, pretrained: str,
                           explicit: str | None = None) -> Path:
    """The weights of ``(arch, pretrained)``: ``explicit``, else ``files[(arch, pretrained)]`` in the torch hub cache.

    ``files`` maps (architecture, weights name) to torchvision's download name; never a download.

    Raises:
        MbenchError: the pair is not in ``files`` (and no ``explicit`` file), or the file is missing.
    """
    name = files.get((arch, pretrained))
    if name is None and not explicit:
        raise MbenchError(f"no {pretrained!r} weights are known for {arch!r}", expected=str(sorted(files)),
                          found=f"({arch!r}, {pretrained!r})",
                          fix="pass model.pretrained_path=/path/to/weights.pth or model.pretrained=none")
    return cached_torch_checkpoint(name or "", explicit=explicit, what=f"pretrained {pretrained} weights for {arch}")
