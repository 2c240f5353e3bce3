"""Shared fixtures: offline hub, private caches, and tiny copies of the BraTS family and the catalogue cards.

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


# The catalogue families (issue 6) in tiny form: per card, the stand-in parameters and the split rule at
# that size (None: the card's own stand-in manifest, whose rule does not depend on the size). Every model
# of a card gets the tiny architecture below, one epoch and 32 x 32 inputs in the quick setting.
TINY_CATALOGUE: dict[str, dict] = {
    "pannuke-semseg": {"standin": {"n_per_fold": 4, "size": 32, "seed": 5}, "rule": None},
    "camus-ed": {"standin": {"n_train": 5, "n_test": 2, "height": 40, "seed": 5},
                 "rule": {"official": {"test": "official:test"}, "pool": "official:train", "n_pool": 5,
                          "sizes": {"val": 1, "train": "rest"}}},
    "kvasir-seg": {"standin": {"n_images": 10, "size_range": [36, 44], "seed": 5},
                   "rule": {"pool": "all", "n_pool": 10, "sizes": {"test": 3, "val": 2, "train": "rest"}}},
    "kvasir-instrument": {"standin": {"n_train": 7, "n_test": 3, "size_range": [36, 44], "seed": 5},
                          "rule": {"official": {"test": "official:test"}, "pool": "official:train", "n_pool": 7,
                                   "sizes": {"val": 2, "train": "rest"}}},
}
TINY_MODELS: dict[str, dict] = {
    "segformer_b0": {"pretrained": False}, "segformer_b4": {"pretrained": False},
    "unet_ronneberger": {"widths": [4, 8, 16]}, "unet_ronneberger_lite": {"widths": [4, 8, 16]},
    "unet": {"encoder": "tu-resnet10t", "encoder_depth": 4, "decoder_channels": [16, 8, 8, 8],
             "pretrained": False},
    "unet_dae": {"encoder": "efficientnet-b0", "decoder_channels": [8, 8, 8, 8, 8], "pretrained": False,
                 "dae_epochs": 1, "dae_batch_size": 4},
}


def write_tiny_catalogue(folder: Path) -> Path:
    """Write tiny copies (ids prefixed ``tiny-``) of the catalogue cards of :data:`TINY_CATALOGUE`."""
    import shutil

    from mbench.data.split import write_manifest

    for card in sorted((REPO / "tasks").glob("*/*.yaml")):
        raw = yaml.safe_load(card.read_text())
        tiny = TINY_CATALOGUE.get(raw["id"])
        if tiny is None:
            continue
        family = folder / card.parent.name
        if not family.exists():
            shutil.copytree(card.parent / "splits", family / "splits")
        raw["id"] = "tiny-" + raw["id"]
        raw["aliases"] = ["tiny-" + a for a in raw.get("aliases", [])]
        standin = raw["data"]["standin"]
        standin["params"] = tiny["standin"]
        if tiny["rule"] is not None:
            name = f"splits/tiny_{card.stem}.json"
            sha = write_manifest(family / name, None, group_key="image", seed=3, method="test", dataset="tiny",
                                 rule=tiny["rule"])
            standin["split"] = {"file": name, "sha256": sha}
        if raw.get("preprocessing", {}).get("resize"):
            raw["preprocessing"]["resize"] = [32, 32]
        raw["quick"] = {"model_defaults": {m: {**TINY_MODELS.get(m, {}), "epochs": 1, "batch_size": 4,
                                               "image_size": 32} for m in raw["models"]}}
        (family / f"tiny-{card.name}").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


@pytest.fixture(scope="session")
def tiny_catalogue(tmp_path_factory) -> Path:
    """A tasks folder with tiny copies of the catalogue cards; activate it with ``use_tiny_catalogue``."""
    return write_tiny_catalogue(tmp_path_factory.mktemp("tiny_catalogue") / "tasks")


@pytest.fixture
def use_tiny_catalogue(tiny_catalogue, monkeypatch) -> Path:
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tiny_catalogue))
    return tiny_catalogue


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
