"""``mbench submission new``: write a package that validates and runs as it is; and the test inputs export.

The scaffold fits the task: its I/O contract is the task's (:func:`~mbench.submissions.manifest.expected_io`),
its code a small numpy baseline of the kind asked for (a thresholding predictor with a pinned weights
file, a trainable that learns its threshold, a random sampler, or a predictions folder with the script
that made it). Replace the code, keep the contract.

Example:
    >>> import tempfile
    >>> folder = new_package(Path(tempfile.mkdtemp()) / "my-sampler", "brats", "sampler")
    >>> sorted(p.name for p in folder.iterdir())
    ['README.md', 'sampler.py', 'submission.yaml']
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mbench.errors import MbenchError
from mbench.submissions.manifest import KINDS, MANIFEST_NAME, SCHEMA_VERSION, expected_io
from mbench.submissions.outputs import sample_relpath, write_predictions
from mbench.submissions.validate import KIND_PROTOCOLS

__all__ = [
    "PREDICTIONS_SCRIPT",
    "PREDICTOR_CODE",
    "SAMPLER_CODE",
    "TRAINABLE_CODE",
    "export_test_inputs",
    "new_package",
]

PREDICTOR_CODE = '''\
"""A pre-trained predictor: thresholds the normalised image with the value stored in weights/threshold.json.

mbench calls ``Model(**params).predict(images)`` in its sandbox: ``images`` is (N, H, W) float32 (or
(N, 3, H, W) for colour tasks), the output one {0, 1} mask per image (uint8, (N, H, W)). Only this
package, numpy and the other installed packages are available; there is no network, and the weights
file is checked against its sha256 before every run.
"""

import json
from pathlib import Path

import numpy as np


class Model:
    def __init__(self, weights: str = "weights/threshold.json") -> None:
        spec = json.loads((Path(__file__).parent / weights).read_text())
        self.threshold = float(spec["threshold"])

    def predict(self, images: np.ndarray) -> np.ndarray:
        grey = images.mean(axis=1) if images.ndim == 4 else images  # colour tasks: (N, 3, H, W)
        return (grey > self.threshold).astype(np.uint8)
'''

TRAINABLE_CODE = '''\
"""A trainable baseline: learns the intensity threshold that maximises Dice on the training slices.

mbench calls ``fit`` once per seed with the training images (N, H, W) float32 and their {0, 1} masks,
then ``predict`` on the test images; the fitted object is kept in the sandbox between the two calls.
``score(predictions, targets)`` is the task's selection metric (higher is better), if you want it.
"""

import numpy as np


def _dice(pred: np.ndarray, ref: np.ndarray) -> float:
    inter = np.logical_and(pred, ref).sum()
    total = pred.sum() + ref.sum()
    return 1.0 if total == 0 else 2.0 * inter / total


class Model:
    def __init__(self, candidates: int = 24) -> None:
        self.candidates = candidates
        self.threshold = 0.0

    def fit(self, images, targets, val_images, val_targets, *, score, seed, progress):
        grey = images.mean(axis=1) if images.ndim == 4 else images  # colour tasks: (N, 3, H, W)
        grid = np.quantile(grey, np.linspace(0.5, 0.995, self.candidates))
        dices = [_dice(grey > t, targets > 0) for t in grid]
        self.threshold = float(grid[int(np.argmax(dices))])
        val = _dice(self.predict(val_images) > 0, val_targets > 0)
        return {"threshold": self.threshold, "train_dice": float(max(dices)), "val_dice": float(val)}

    def predict(self, images: np.ndarray) -> np.ndarray:
        grey = images.mean(axis=1) if images.ndim == 4 else images  # colour tasks: (N, 3, H, W)
        return (grey > self.threshold).astype(np.uint8)
'''

SCORES_CODE = '''\
"""A trainable multi-label baseline: predicts each label's training prevalence for every image.

``predict`` returns (N, L) float32 scores in [0, 1], one column per label of the task.
"""

import numpy as np


class Model:
    def fit(self, images, targets, val_images, val_targets, *, score, seed, progress):
        self.prevalence = targets.mean(axis=0).astype(np.float32)
        return {"prevalence": self.prevalence.tolist()}

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.tile(self.prevalence, (len(images), 1)).astype(np.float32)
'''

SAMPLER_CODE = '''\
"""An active-learning sampler: picks unlabelled samples uniformly at random (replace with your strategy).

mbench calls ``Sampler(**params).query(view, n, seed=..., progress=...)`` in its sandbox each round.
``view`` is an ``mbench.models.capabilities.SamplerView``: ``view.images`` (pool, (N, S, S) float32),
``view.aux`` (the auxiliary modality or None), ``view.pool_ids``, ``view.labelled_ids``,
``view.unlabelled_ids`` and ``view.labelled_targets(ids)`` (targets of labelled samples only).
Return ``n`` distinct ids from ``view.unlabelled_ids``.
"""

import numpy as np


class Sampler:
    def query(self, view, n, *, seed, progress):
        pool = list(view.unlabelled_ids)
        picked = np.random.default_rng(seed).choice(len(pool), size=min(n, len(pool)), replace=False)
        return [pool[i] for i in sorted(picked)]
'''

PREDICTIONS_SCRIPT = '''\
"""Write predictions for every test sample exported by `mbench submission inputs` (numpy only).

    mbench submission inputs task=<task> inputs/
    python make_predictions.py inputs/ predictions/

Each input ``images/<case>/<slice>.npy`` (the normalised image, float32) becomes
``predictions/<case>/<slice>.npy``: a {0, 1} uint8 mask of the same height and width.
"""

import sys
from pathlib import Path

import numpy as np

THRESHOLD = 1.0


def main(inputs: str, predictions: str) -> None:
    root = Path(inputs) / "images"
    for path in sorted(root.rglob("*.npy")):
        image = np.load(path, allow_pickle=False)
        grey = image.mean(axis=0) if image.ndim == 3 else image  # colour tasks: (3, H, W)
        target = Path(predictions) / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, (grey > THRESHOLD).astype(np.uint8), allow_pickle=False)


if __name__ == "__main__":
    main(*sys.argv[1:3])
'''


def export_test_inputs(task: str, out: Path, overrides: dict[str, Any] | None = None, *,
                       quick: bool = False) -> list[str]:
    """Write the task's test inputs (never its references) for predictions-only participants.

    Layout: ``<out>/images/<case>/<slice>.npy`` (the normalised images the task's models get) and
    ``<out>/inputs.json`` (task, ids in order, shape, dtype, normalisation).

    Returns:
        The test sample ids.
    """
    from mbench.config.resolve import resolve_run_config
    from mbench.protocols.base import RunContext
    from mbench.tasks.registry import load_task

    spec = load_task(task).spec
    config = resolve_run_config(task, spec.models[0], overrides, quick=quick)
    ctx = RunContext(config)
    test = ctx.test
    images = ctx.model_inputs(test)
    out = Path(out)
    for sample_id, image in zip(test.ids, images):
        path = out / "images" / sample_relpath(sample_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, image, allow_pickle=False)
    (out / "inputs.json").write_text(json.dumps({
        "task": config.task.id, "task_version": config.task.version, "ids": list(test.ids),
        "shape": list(images.shape[1:]), "dtype": str(images.dtype),
        "normalisation": config.task.preprocessing.normalise,
        "predictions": "write <case>/<slice>.npy per id (see docs/submissions.md)"}, indent=1))
    return list(test.ids)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def new_package(folder: str | Path, task: str, kind: str, *, package_id: str | None = None,
                team: str = "my team", author: str = "A. Author") -> Path:
    """Write a working package for ``task`` and ``kind`` into the new folder ``folder``."""
    from mbench.tasks.registry import load_task

    if kind not in KINDS:
        raise MbenchError(f"unknown submission kind {kind!r}", expected=" | ".join(KINDS), found=kind)
    card = load_task(task)
    spec = card.spec
    if spec.protocol.name not in KIND_PROTOCOLS[kind]:
        fitting = [k for k, protocols in KIND_PROTOCOLS.items() if spec.protocol.name in protocols]
        raise MbenchError(f"task {spec.id} ({spec.protocol.name}) does not run a {kind}",
                          expected=f"kind: {' | '.join(fitting)}", found=kind)
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise MbenchError(f"{folder} exists and is not empty", fix="pick a new folder name")
    folder.mkdir(parents=True, exist_ok=True)
    package_id = package_id or "".join(c if c.isalnum() else "-" for c in folder.name.lower()).strip("-") or "sub"
    io = expected_io(spec, kind)
    manifest: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "id": package_id, "version": "0.1.0", "team": team,
        "authors": [{"name": author}], "licence": "MIT",
        "description": f"scaffolded {kind} for {spec.id}; replace the code, keep the I/O contract",
        "tasks": [spec.id], "kind": kind}
    segmentation = spec.problem == "segmentation"
    readme = [f"# {package_id}", "", f"A {kind} package for `{spec.id}`, written by `mbench submission new`.", ""]
    if kind == "sampler":
        (folder / "sampler.py").write_text(SAMPLER_CODE)
        manifest["entry"] = {"file": "sampler.py", "class": "Sampler"}
    elif kind == "predictor":
        if not segmentation:
            raise MbenchError(f"the predictor scaffold is for segmentation tasks; {spec.id} is {spec.problem}",
                              fix="use kind=trainable")
        (folder / "weights").mkdir()
        weights = folder / "weights" / "threshold.json"
        weights.write_text(json.dumps({"threshold": 1.0}) + "\n")
        (folder / "model.py").write_text(PREDICTOR_CODE if segmentation else SCORES_CODE)
        manifest.update(entry={"file": "model.py", "class": "Model"},
                        weights=[{"path": "weights/threshold.json", "sha256": _sha(weights)}])
    elif kind == "trainable":
        (folder / "model.py").write_text(TRAINABLE_CODE if segmentation else SCORES_CODE)
        manifest["entry"] = {"file": "model.py", "class": "Model"}
        if segmentation:
            manifest["params"] = {"candidates": 24}
    else:
        (folder / "make_predictions.py").write_text(PREDICTIONS_SCRIPT)
        manifest["predictions"] = {"folder": "predictions", "format": "npy-per-sample"}
        if not segmentation:
            raise MbenchError(f"the predictions scaffold is for segmentation tasks; {spec.id} is {spec.problem}")
        with tempfile.TemporaryDirectory() as tmp:  # the same rule as make_predictions.py, on the task's inputs
            ids = export_test_inputs(spec.id, Path(tmp))
            for sample_id in ids:
                image = np.load(Path(tmp) / "images" / sample_relpath(sample_id), allow_pickle=False)
                grey = image.mean(axis=0) if image.ndim == 3 else image
                write_predictions(folder / "predictions", [sample_id], [(grey > 1.0).astype(np.uint8)])
        readme += ["Regenerate the predictions for other data with:", "", "```",
                   f"mbench submission inputs task={spec.id} inputs/", "python make_predictions.py inputs/ predictions/",
                   "```", ""]
    manifest["io"] = io.model_dump(exclude_none=True)  # integer label keys stay integers in the YAML
    if "range" in manifest["io"].get("output", {}):
        manifest["io"]["output"]["range"] = list(manifest["io"]["output"]["range"])
    if kind != "sampler":
        manifest["io"]["output"]["dtype"] = "uint8" if segmentation else "float32"
    header = (f"# mbench submission manifest (schema v{SCHEMA_VERSION}); `mbench validate submission=.` checks it,\n"
              "# `mbench validate --schema` prints the JSON Schema.\n")
    (folder / MANIFEST_NAME).write_text(header + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    readme += ["```", f"mbench validate submission={folder}", f"mbench submit {folder} task={spec.id}", "```", ""]
    (folder / "README.md").write_text("\n".join(readme) + textwrap.dedent("""
        See docs/submissions.md for the package format, the sandbox and its limits.
        """))
    return folder
