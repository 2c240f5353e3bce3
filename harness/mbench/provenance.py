"""What a run records about where it ran: git state, package versions, platform, device."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from typing import Any

from mbench.paths import repo_root

__all__ = ["git_state", "package_versions", "device_info", "environment"]

_PACKAGES = ("mbench", "numpy", "scipy", "scikit-learn", "nibabel", "pydantic", "torch", "torchvision", "timm",
             "segmentation-models-pytorch")


def git_state() -> dict[str, Any]:
    """Commit sha of the mbench checkout and whether it has uncommitted changes (None outside git)."""
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that can change a result."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def device_info(requested: str) -> dict[str, Any]:
    """The compute device a run uses (torch is only imported if installed)."""
    info: dict[str, Any] = {"requested": requested, "cpu": platform.processor() or platform.machine()}
    try:
        import torch
    except ImportError:
        return {**info, "torch": None, "used": "cpu"}
    cuda = torch.cuda.is_available()
    used = "cuda" if requested == "auto" and cuda else ("cpu" if requested == "auto" else requested)
    info.update(used=used, cuda_available=cuda, torch_threads=torch.get_num_threads())
    if cuda:
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def environment(requested_device: str) -> dict[str, Any]:
    """Everything above plus Python and OS."""
    return {"git": git_state(), "packages": package_versions(), "python": sys.version.split()[0],
            "platform": platform.platform(), "device": device_info(requested_device)}
