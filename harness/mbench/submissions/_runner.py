"""The in-sandbox runner: loads a submission's entry class and performs one call (``fit``, ``predict`` or ``query``).

Run by the sandbox as the unprivileged sandbox user (``python -I runner.py request.json``); never imported by
the harness. It shares the process with the submitted code, so nothing it writes is trusted: the harness
validates every output file itself.

Inputs (read-only, ``<call>/inputs``), per action:

- ``fit``: ``images.npy``, ``targets.npy``, ``val_images.npy``, ``val_targets.npy``, ``ids.json``
  (``{"train": [...], "val": [...]}``);
- ``predict``: ``images.npy``, ``ids.json`` (``{"ids": [...]}``);
- ``query``: ``images.npy``, ``aux.npy`` (when the task has an auxiliary modality), ``pool_ids.json``,
  ``labelled_ids.json``, ``labelled_targets.npy`` (aligned with the labelled ids).

Outputs (the only writable area, ``<rw>``): ``outputs/predictions/<case>/<slice>.npy`` (one array per sample
id ``<case>:<slice>``) and ``outputs/predict_meta.json``; ``outputs/selection.json``; ``outputs/fit_log.json``;
the fitted model object pickled to ``state/model.pkl`` (between ``fit`` and ``predict``); ``error.json`` when
the submitted code raises.
"""

from __future__ import annotations

import errno as errno_names
import importlib
import json
import os
import pickle
import resource
import sys
import traceback
from pathlib import Path

PREFLIGHT_FAILED = 97
RAISED = 1


def _preflight(req: dict) -> None:
    """Check, before any submitted code is imported, that the limits survived ``exec``."""
    problems = []
    for key, name in (("cpu_s", "RLIMIT_CPU"), ("data_bytes", "RLIMIT_DATA"), ("as_bytes", "RLIMIT_AS"),
                      ("nproc", "RLIMIT_NPROC"), ("fsize_bytes", "RLIMIT_FSIZE")):
        want, got = req["limits"].get(key), resource.getrlimit(getattr(resource, name))[0]
        if want is not None and (got == resource.RLIM_INFINITY or got > int(want)):
            problems.append(f"{name} {got} > {want}")
    if req["isolated"] and (os.getuid() == 0 or os.getuid() != req["uid"]):
        problems.append(f"running as uid {os.getuid()}, expected {req['uid']}")
    if problems:
        sys.stderr.write("MBENCH-RUNNER preflight failed: " + "; ".join(problems) + "\n")
        sys.stderr.flush()
        os._exit(PREFLIGHT_FAILED)
    sys.stderr.write(f"MBENCH-RUNNER ok uid={os.getuid()} action={req['action']}\n")
    sys.stderr.flush()


def _load_class(req: dict) -> type:
    package = Path(req["package"])
    sys.path.insert(0, str(package))
    rel = Path(req["entry"]["file"]).with_suffix("")
    module = importlib.import_module(".".join(rel.parts))
    return getattr(module, req["entry"]["class"])


def _score(card: dict):
    """The task's selection score (primary metric over a set), imported only if the submission calls it."""
    cache: dict = {}

    def score(predictions, targets) -> float:
        if "fn" not in cache:
            from mbench.config.schema import TaskSpec
            from mbench.protocols.scoring import aggregate_primary

            spec = TaskSpec.model_validate(card)
            cache["fn"] = lambda p, t: aggregate_primary(spec, p, t)
        return cache["fn"](predictions, targets)

    return score


def _no_progress(stage: str, completed: int, total: int) -> None:
    """Progress is not reported across the sandbox boundary."""


def _sample_path(root: Path, sample_id: str) -> Path:
    return root.joinpath(*str(sample_id).split(":")).with_suffix(".npy")


def run(req: dict) -> None:
    import numpy as np

    inputs, rw = Path(req["inputs"]), Path(req["rw"])
    outputs, state = rw / "outputs", rw / "state"
    cls = _load_class(req)
    action = req["action"]
    if action == "fit":
        ids = json.loads((inputs / "ids.json").read_text())
        model = cls(**req["params"])
        log = model.fit(np.load(inputs / "images.npy"), np.load(inputs / "targets.npy"),
                        np.load(inputs / "val_images.npy"), np.load(inputs / "val_targets.npy"),
                        score=_score(req["task"]), seed=req["seed"], progress=_no_progress)
        (outputs / "fit_log.json").write_text(json.dumps({"log": log, "n_train": len(ids["train"])}, default=str))
        with open(state / "model.pkl", "wb") as fh:
            pickle.dump(model, fh)
    elif action == "predict":
        ids = json.loads((inputs / "ids.json").read_text())["ids"]
        saved = state / "model.pkl"
        if saved.exists():
            with open(saved, "rb") as fh:
                model = pickle.load(fh)
        else:
            model = cls(**req["params"])
        result = model.predict(np.load(inputs / "images.npy"))
        rows = result if isinstance(result, np.ndarray) else list(result)
        (outputs / "predict_meta.json").write_text(json.dumps({"rows": len(rows)}))
        for sample_id, row in zip(ids, rows):
            path = _sample_path(outputs / "predictions", sample_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, np.asanyarray(row), allow_pickle=False)
    elif action == "query":
        from mbench.models.capabilities import SamplerView

        labelled = json.loads((inputs / "labelled_ids.json").read_text())
        targets = np.load(inputs / "labelled_targets.npy")
        aux = np.load(inputs / "aux.npy") if (inputs / "aux.npy").exists() else None
        view = SamplerView(tuple(json.loads((inputs / "pool_ids.json").read_text())), tuple(labelled),
                           np.load(inputs / "images.npy"), aux, dict(zip(labelled, targets)))
        model = cls(**req["params"])
        chosen = model.query(view, req["n"], seed=req["seed"], progress=_no_progress)
        (outputs / "selection.json").write_text(json.dumps([str(c) for c in chosen]))
    else:
        raise ValueError(f"unknown action {action!r}")


def main(request_path: str) -> int:
    req = json.loads(Path(request_path).read_text())
    _preflight(req)
    try:
        run(req)
    except BaseException as exc:  # noqa: BLE001 - the harness turns any failure into the submission's report
        code = getattr(exc, "errno", None)
        report = {"type": type(exc).__name__, "bases": [c.__name__ for c in type(exc).__mro__],
                  "message": str(exc)[:2000], "action": req["action"],
                  "errno": code, "errno_name": errno_names.errorcode.get(code) if isinstance(code, int) else None,
                  "filename": str(getattr(exc, "filename", "") or "") or None,
                  "traceback": traceback.format_exc()[-6000:]}
        sys.stderr.write(traceback.format_exc()[-4000:])
        sys.stderr.write("\nMBENCH-ERROR " + json.dumps(report) + "\n")  # also when the working area is full
        sys.stderr.flush()
        try:
            (Path(req["rw"]) / "error.json").write_text(json.dumps(report))
        except OSError:
            pass
        return RAISED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
