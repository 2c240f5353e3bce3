"""Shared fixtures: offline hub, private caches, and a tiny copy of the BraTS task family.

The tiny family is the real task cards with a smaller stand-in (10 patients of 48 x 48 x 12), a
lower slice threshold and a CPU-second quick setting, written to a temporary tasks folder with its
own pinned split manifest. Every code path is the real one; only sizes differ.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# one torch thread per test process: with several processes on 2 cores, OpenMP spin-waiting makes
# multi-threaded small convolutions ten times slower
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

REPO = Path(__file__).resolve().parents[1]
TINY_PATIENTS = 10
TINY_QUICK = {
    "protocol": {"initial_size": 8, "budget": 4, "rounds": 2, "seeds": [0, 1], "sampler_input": {"image_size": 32}},
    "model_defaults": {
        "unet": {"encoder": "tu-resnet10t", "decoder_channels": [16, 8, 8, 8], "optimizer": "adam", "lr": 1e-3,
                 "epochs": 1, "batch_size": 8, "image_size": 32},
        "resnet18": {"pretrained": False, "optimizer": "adam", "lr": 1e-3, "epochs": 1, "batch_size": 8,
                     "image_size": 32},
        "vaal": {"base_channels": 4, "epochs": 1, "batch_size": 8},
        "mvaal": {"base_channels": 4, "epochs": 1, "batch_size": 8},
    },
}


@pytest.fixture(scope="session", autouse=True)
def _private_dirs(tmp_path_factory):
    """Caches and results in temporary folders, never the user's."""
    os.environ["MBENCH_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ["MBENCH_RESULTS"] = str(tmp_path_factory.mktemp("results"))
    yield


def write_tiny_family(folder: Path) -> Path:
    """Write tiny copies of the brats18 cards (ids prefixed ``tiny-``) and their stand-in split."""
    from mbench.data.split import make_grouped_split, write_manifest

    family = folder / "brats18"
    (family / "splits").mkdir(parents=True)
    ids = [f"Brats18_SYN_{i + 1:03d}_1" for i in range(TINY_PATIENTS)]
    sha = write_manifest(family / "splits" / "standin.json", make_grouped_split(ids, 0.2, 0.2, 7),
                         group_key="patient", seed=7, method="test", dataset="tiny stand-in")
    for card in sorted((REPO / "tasks" / "brats18").glob("*.yaml")):
        raw = yaml.safe_load(card.read_text())
        raw["id"] = "tiny-" + raw["id"]
        raw["aliases"] = ["tiny-" + a for a in raw.get("aliases", [])]
        raw["data"]["standin"] = {"generator": "brats2018",
                                  "params": {"n_patients": TINY_PATIENTS, "shape": [48, 48, 12], "seed": 3},
                                  "split": {"file": "splits/standin.json", "sha256": sha}}
        raw["data"]["split"]["file"] = "../../real_split/brats18_hgg.json"
        raw["slicing"]["min_foreground_pixels"] = 100
        quick = {"model_defaults": {k: v for k, v in TINY_QUICK["model_defaults"].items() if k in raw["model_defaults"]}}
        if raw["protocol"]["name"] == "active_learning":
            quick["protocol"] = TINY_QUICK["protocol"]
        raw["quick"] = quick
        (family / f"tiny-{card.name}").write_text(yaml.safe_dump(raw, sort_keys=False))
    real = folder.parent / "real_split"
    real.mkdir(exist_ok=True)
    (real / "brats18_hgg.json").write_bytes((REPO / "tasks/brats18/splits/brats18_hgg.json").read_bytes())
    return folder


@pytest.fixture(scope="session")
def tiny_tasks(tmp_path_factory) -> Path:
    """A tasks folder with the tiny brats18 family; activate it with the ``use_tiny_tasks`` fixture."""
    return write_tiny_family(tmp_path_factory.mktemp("tiny") / "tasks")


@pytest.fixture
def use_tiny_tasks(tiny_tasks, monkeypatch) -> Path:
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tiny_tasks))
    return tiny_tasks


@pytest.fixture
def results(tmp_path, monkeypatch) -> Path:
    """A fresh results root for one test."""
    out = tmp_path / "results"
    monkeypatch.setenv("MBENCH_RESULTS", str(out))
    return out
