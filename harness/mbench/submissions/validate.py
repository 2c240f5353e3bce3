"""``mbench validate submission=<path>``: every check a package must pass before it may run.

The checks, in order: the package opens safely (no escaping paths, links or special files); the manifest
matches schema version 1; the entry file parses and defines the entry class with the methods its kind
needs (read with :mod:`ast`, the code is never imported by the harness); every weight file matches its
sha256; for each task: the task exists, the package lists it, its protocol runs this kind, and the I/O
contract agrees with what the task sends and accepts; for predictions-only packages, a prediction for
every test sample of the task in the task's format (this reads the task's data).

Example:
    >>> from mbench.paths import repo_root
    >>> report = validate_submission(repo_root() / "submissions/examples/brats-uncertainty-sampler")
    >>> report.ok, [c.name for c in report.checks][:3]
    (True, ['package', 'manifest', 'entry point'])
"""

from __future__ import annotations

import ast
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mbench.config.schema import TaskSpec
from mbench.errors import MbenchError
from mbench.submissions.manifest import check_io, expected_io
from mbench.submissions.package import PackageError, SubmissionPackage, open_package, verify_weights
from mbench.submissions.sandbox import SubmissionViolation

__all__ = [
    "KIND_PROTOCOLS",
    "REQUIRED_METHODS",
    "Check",
    "ValidationReport",
    "resolve_package_task",
    "validate_package",
    "validate_submission",
]

REQUIRED_METHODS = {"predictor": ("predict",), "trainable": ("fit", "predict"), "sampler": ("query",)}
KIND_PROTOCOLS = {"predictor": ("holdout",), "trainable": ("holdout",), "predictions": ("holdout",),
                  "sampler": ("active_learning",)}


@dataclass(frozen=True)
class Check:
    """One validation check and its outcome."""

    name: str
    ok: bool
    detail: str


@dataclass
class ValidationReport:
    """All checks of one package (``ok`` when every one passed)."""

    source: str
    checks: list[Check] = field(default_factory=list)
    package_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def raise_for_problems(self) -> None:
        """Raise one :class:`MbenchError` listing every failed check."""
        bad = [c for c in self.checks if not c.ok]
        if bad:
            raise MbenchError(f"submission {self.source} is not valid:\n" +
                              "\n".join(f"  - {c.name}: {c.detail}" for c in bad),
                              fix="fix the problems listed; `mbench validate submission=<path>` re-checks")


def _entry_check(package: SubmissionPackage) -> Check:
    m = package.manifest
    if m.entry is None:
        return Check("entry point", True, "predictions-only package: no code")
    path = package.root / m.entry.file
    if not path.is_file():
        return Check("entry point", False, f"{m.entry.file} is not in the package")
    top = m.entry.file.split("/")[0].removesuffix(".py")
    if top in sys.stdlib_module_names:
        return Check("entry point", False, f"{m.entry.file} would be imported as {top!r}, a standard-library module; "
                     "rename it")
    try:
        tree = ast.parse(path.read_text(), filename=m.entry.file)
    except (SyntaxError, UnicodeDecodeError) as exc:
        return Check("entry point", False, f"{m.entry.file} does not parse: {exc}")
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    cls = classes.get(m.entry.class_name)
    if cls is None:
        return Check("entry point", False, f"{m.entry.file} defines no top-level class {m.entry.class_name!r} "
                     f"(classes: {', '.join(classes) or 'none'})")
    methods = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    missing = [name for name in REQUIRED_METHODS[m.kind] if name not in methods]
    if missing and not cls.bases:
        return Check("entry point", False, f"class {m.entry.class_name} lacks {', '.join(missing)}() "
                     f"(a {m.kind} needs {', '.join(REQUIRED_METHODS[m.kind])})")
    note = f"; {', '.join(missing)} inherited (checked when it runs)" if missing else ""
    return Check("entry point", True, f"{m.entry.file}: class {m.entry.class_name} with "
                 f"{', '.join(n for n in REQUIRED_METHODS[m.kind] if n in methods) or 'inherited methods'}{note}")


def resolve_package_task(package: SubmissionPackage, task: str) -> tuple[TaskSpec, Path]:
    """The card of ``task``, which the package must list in ``tasks`` (by id or alias)."""
    from mbench.tasks.registry import load_task, resolve_task_name

    card = load_task(task)
    listed = set()
    for name in package.manifest.tasks:
        try:
            listed.add(resolve_task_name(name))
        except MbenchError:
            continue
    if card.path not in listed:
        raise MbenchError(f"package {package.manifest.id} is not made for task {card.spec.id}",
                          expected=f"one of its tasks: {', '.join(package.manifest.tasks)}", found=task,
                          fix=f"add {card.spec.id} to 'tasks' in submission.yaml if the package fits it")
    return card.spec, card.folder


def _task_checks(package: SubmissionPackage, spec: TaskSpec, folder: Path, data: bool) -> list[Check]:
    m = package.manifest
    checks = []
    protocols = KIND_PROTOCOLS[m.kind]
    if spec.protocol.name not in protocols:
        checks.append(Check(f"task {spec.id}", False, f"its protocol is {spec.protocol.name}; a {m.kind} runs "
                            f"under {' or '.join(protocols)}"))
        return checks
    try:
        want = expected_io(spec, m.kind)
    except MbenchError as exc:
        checks.append(Check(f"task {spec.id}", False, exc.message))
        return checks
    checks.append(Check(f"task {spec.id}", True, f"{spec.protocol.name} protocol runs a {m.kind}"))
    problems = check_io(m.io, spec, m.kind)
    summary = f"input {want.input.shape} {want.input.dtype}" + (
        f", output {m.io.output.shape} {m.io.output.dtype} values {sorted(want.output.labels)}"
        if want.output is not None and m.io.output is not None else ", output: ids")
    checks.append(Check(f"io contract {spec.id}", not problems, "; ".join(problems) or summary))
    if m.kind == "predictions" and data:
        checks.append(_predictions_check(package, spec, folder))
    return checks


def _predictions_check(package: SubmissionPackage, spec: TaskSpec, folder: Path) -> Check:
    from mbench.submissions.manifest import OutputSpec
    from mbench.submissions.outputs import read_predictions
    from mbench.tasks.task import Task

    m = package.manifest
    name = f"predictions {spec.id}"
    try:
        test = Task(spec, folder).load_split("test")
    except MbenchError as exc:
        return Check(name, False, f"cannot read the task's test samples: {exc.message}")
    want = expected_io(spec, "predictions").output
    assert want is not None and m.io.output is not None
    out = OutputSpec(shape=want.shape, dtype=m.io.output.dtype, labels=want.labels, range=want.range)
    shapes = [tuple(test.images.shape[-2:]) if spec.problem == "segmentation" else (len(spec.labels),)] * len(test)
    try:
        read_predictions(package.root / m.predictions_spec.folder, test.ids, out, shapes,
                         label=m.predictions_spec.folder)
    except SubmissionViolation as exc:
        return Check(name, False, str(exc).replace("submission stopped: output: ", ""))
    return Check(name, True, f"all {len(test)} test samples, {out.dtype}, shape {shapes[0] if shapes else '-'}, "
                 f"values in {sorted(out.labels) if out.range is None else list(out.range)}")


def validate_package(package: SubmissionPackage, task: str | None = None, *, data: bool = True) -> list[Check]:
    """Checks of an opened package against ``task`` (or every task its manifest lists)."""
    m = package.manifest
    checks = [Check("manifest", True, f"schema v{m.schema_version}: {m.model_id}, {m.kind}, team {m.team!r}, "
                    f"licence {m.licence}")]
    checks.append(_entry_check(package))
    try:
        lines = verify_weights(package)
        checks.append(Check("weights", True, "; ".join(lines) if lines else "none declared"))
    except MbenchError as exc:
        checks.append(Check("weights", False, exc.message.replace("\n", " ")))
    try:
        json.dumps(m.params)
        checks.append(Check("params", True, json.dumps(m.params, sort_keys=True)[:200] or "{}"))
    except (TypeError, ValueError) as exc:
        checks.append(Check("params", False, f"not JSON-serialisable: {exc}"))
    for name in [task] if task else list(m.tasks):
        try:
            spec, folder = resolve_package_task(package, name)
        except MbenchError as exc:
            checks.append(Check(f"task {name}", False, exc.message))
            continue
        checks += _task_checks(package, spec, folder, data)
    return checks


def validate_submission(source: str | Path, task: str | None = None, *, data: bool = True) -> ValidationReport:
    """Open ``source`` (folder or zip) into a temporary copy and run every check."""
    report = ValidationReport(str(source))
    with tempfile.TemporaryDirectory(prefix="mbench-validate-") as tmp:
        try:
            package = open_package(source, Path(tmp) / "package")
        except PackageError as exc:
            report.checks.append(Check("package", False, str(exc).replace("\n", " ")))
            return report
        except MbenchError as exc:
            report.checks.append(Check("manifest", False, str(exc)))
            return report
        report.package_sha256 = package.sha256
        report.checks.append(Check("package", True, f"{len(package.files)} files, sha256 {package.sha256}"
                                   + (f" (zip sha256 {package.archive_sha256})" if package.archive_sha256 else "")))
        report.checks += validate_package(package, task, data=data)
    return report
