"""Helpers shared by the submission tests: tiny packages, copies of the examples, a results-store fingerprint.

Imported by the other ``test_submissions_*`` modules; its own tests check that the helpers make what
the others rely on.
"""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from mbench.submissions.sandbox import probe_isolation

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "submissions" / "examples"
HOLDOUT = "tiny-brats-wt-full"
HOLDOUT_ID = "tiny-brats18-wtseg"
AL = "tiny-brats"
AL_ID = "tiny-brats18-al-wtseg"
SEG_IO = {"input": {"shape": [None, None], "dtype": "float32"},
          "output": {"shape": [None, None], "dtype": "uint8", "labels": {0: "background", 1: "whole tumour"}}}

needs_isolation = pytest.mark.skipif(not probe_isolation().available,
                                     reason="sandbox isolation unavailable here: " + probe_isolation().describe())


def write_package(folder: Path, code: str, *, kind: str = "predictor", task: str = HOLDOUT_ID,
                  entry_class: str = "Model", params: dict | None = None, dtype: str = "uint8",
                  team: str = "test team", weights: dict[str, bytes] | None = None,
                  pin: dict[str, str] | None = None, package_id: str | None = None) -> Path:
    """A package with ``model.py`` = ``code`` (dedented); ``weights`` are written and pinned (``pin`` overrides)."""
    folder.mkdir(parents=True)
    (folder / "model.py").write_text(textwrap.dedent(code))
    io = {k: dict(v) for k, v in SEG_IO.items()}
    io["output"]["dtype"] = dtype
    if kind == "sampler":
        io = {"input": {"shape": [None, None], "dtype": "float32"}, "aux_input": {"shape": [None, None],
                                                                                   "dtype": "float32"}}
    manifest = {"schema_version": 1, "id": package_id or folder.name, "version": "0.1.0", "team": team,
                "authors": [{"name": "Test Author"}], "licence": "MIT", "tasks": [task], "kind": kind,
                "entry": {"file": "model.py", "class": entry_class}, "params": params or {}, "io": io}
    if weights:
        pins = []
        for rel, data in weights.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
            pins.append({"path": rel, "sha256": (pin or {}).get(rel, hashlib.sha256(data).hexdigest())})
        manifest["weights"] = pins
    (folder / "submission.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return folder


def copy_example(name: str, dest: Path, task: str) -> Path:
    """A copy of an example package whose manifest lists the tiny task ``task`` instead of the real one."""
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("predictions", "__pycache__"))
    manifest = yaml.safe_load((target / "submission.yaml").read_text())
    manifest["tasks"] = [task]
    (target / "submission.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return target


def fingerprint(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


PREDICT_ONES = """
    import numpy as np

    class Model:
        def predict(self, images):
            return (images > 1.0).astype(np.uint8)
"""


def test_write_package_makes_a_valid_predictor(tmp_path, use_tiny_tasks):
    from mbench.submissions.validate import validate_submission

    report = validate_submission(write_package(tmp_path / "ok", PREDICT_ONES), HOLDOUT)
    assert report.ok, [c for c in report.checks if not c.ok]


def test_copy_example_retargets_the_task(tmp_path):
    copied = copy_example("brats-threshold-seg", tmp_path, HOLDOUT_ID)
    assert yaml.safe_load((copied / "submission.yaml").read_text())["tasks"] == [HOLDOUT_ID]
    assert fingerprint(copied)["model.py"] == fingerprint(EXAMPLES / "brats-threshold-seg")["model.py"]
