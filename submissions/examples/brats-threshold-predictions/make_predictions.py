"""Write this package's predictions from the test inputs exported by mbench (numpy only).

    mbench submission inputs task=brats18-wtseg inputs/
    python make_predictions.py inputs/ predictions/

Every ``inputs/images/<case>/<slice>.npy`` (a normalised T1ce slice, float32) becomes
``predictions/<case>/<slice>.npy``: a uint8 {0, 1} whole-tumour mask of the same shape, by a fixed
threshold on the normalised intensity (the rule a participant ran on their own machine).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

THRESHOLD = 1.0  # in units of the training-set standard deviation above its mean


def main(inputs: str, predictions: str) -> int:
    root = Path(inputs) / "images"
    ids = json.loads((Path(inputs) / "inputs.json").read_text())["ids"]
    for sample_id in ids:
        rel = Path(*sample_id.split(":")).with_suffix(".npy")
        image = np.load(root / rel, allow_pickle=False)
        target = Path(predictions) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, (image > THRESHOLD).astype(np.uint8), allow_pickle=False)
    print(f"wrote {len(ids)} predictions to {predictions}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python make_predictions.py <inputs folder> <predictions folder>")
    sys.exit(main(sys.argv[1], sys.argv[2]))
