"""``mbench submit <path> task=<id>``: run a package under its task's protocol and store the results.

The package is opened into a private copy, validated (manifest, entry point, weight hashes, I/O
contract), and registered as the run's model ``sub:<id>@<version>`` for the duration of the run: the
protocol calls it like any model and every call runs in the sandbox. The results land in the results
store like any run, with the package's content hash in the resolved configuration (so a changed package
is a new run) and a ``submission`` block in ``run.json`` (team, authors, hashes, limits, isolation, one
line per sandboxed call). A violation ends the run with status ``failed`` and the report in ``run.json``;
the harness, other runs and stored results are not touched.

Example:
    >>> from mbench.paths import repo_root
    >>> result = submit(repo_root() / "submissions/examples/brats-uncertainty-sampler", "brats",
    ...                 quick=True)  # doctest: +SKIP
    >>> result.status, result.folder.read_record()["model"]  # doctest: +SKIP
    ('complete', 'sub:brats-uncertainty-sampler@1.0.0')
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mbench.config.resolve import RunConfig, resolve_run_config
from mbench.errors import MbenchError, did_you_mean
from mbench.models.registry import ModelEntry, get_model_entry, registered_model
from mbench.paths import cache_dir
from mbench.protocols.base import RunContext
from mbench.results.store import RunFolder
from mbench.submissions.package import SubmissionPackage, open_package
from mbench.submissions.proxy import SandboxedModel, SubmissionSession
from mbench.submissions.sandbox import (
    Isolation,
    Sandbox,
    SandboxError,
    SandboxLimits,
    SubmissionViolation,
    probe_isolation,
)
from mbench.submissions.validate import resolve_package_task, validate_package

__all__ = ["SubmissionRunConfig", "SubmitResult", "build_config", "protect_data", "split_overrides", "submit"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubmissionRunConfig(RunConfig):
    """A run whose model is a submission: the resolved config also holds the package identity and limits."""

    submission: dict[str, Any] = field(default_factory=dict)

    def resolved(self) -> dict[str, Any]:
        return {**super().resolved(), "submission": self.submission}


@dataclass
class SubmitResult:
    """The outcome of one ``submit``: the run folder, ``complete`` or ``failed``, and the violation report."""

    folder: RunFolder
    status: str
    report: dict[str, Any] | None
    package_sha256: str
    isolation: Isolation

    @property
    def ok(self) -> bool:
        return self.status == "complete"


def split_overrides(overrides: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``model.*`` (the package's params), ``sandbox.*`` (limits) and the rest (task settings, ``run.*``).

    Example:
        >>> split_overrides({"model.threshold": 0.5, "sandbox.wall_s": 30, "run.out": "res"})
        ({'threshold': 0.5}, {'wall_s': 30}, {'run.out': 'res'})
    """
    params, sandbox, rest = {}, {}, {}
    for key, value in (overrides or {}).items():
        head, _, tail = key.partition(".")
        if head == "model" and tail:
            params[tail] = value
        elif head == "sandbox" and tail:
            sandbox[tail] = value
        else:
            rest[key] = value
    return params, sandbox, rest


def _limits(base: SandboxLimits | None, overrides: dict[str, Any]) -> SandboxLimits:
    limits = base or SandboxLimits()
    names = {f.name for f in dataclasses.fields(SandboxLimits)}
    for key in overrides:
        if key not in names:
            raise did_you_mean("sandbox limit", key, names, fix="sandbox limits: " + ", ".join(sorted(names)))
    return dataclasses.replace(limits, **overrides)


def build_config(package: SubmissionPackage, task: str, overrides: dict[str, Any] | None = None, *,
                 quick: bool = False, limit: int | None = None, limits: SandboxLimits | None = None,
                 isolation: Isolation | None = None) -> SubmissionRunConfig:
    """Resolve the run of ``package`` on ``task``: the task's settings, the package as the model.

    The task card is resolved exactly as for ``mbench run`` (``--quick``, ``--limit`` and task-setting
    overrides make the run unofficial); an unavailable sandbox makes it unofficial too.
    """
    m = package.manifest
    spec, _ = resolve_package_task(package, task)
    param_overrides, sandbox_overrides, rest = split_overrides(overrides)
    limits = _limits(limits, sandbox_overrides)
    kind = "sampler" if m.kind == "sampler" else "learner"
    placeholder = next((name for name in spec.models if get_model_entry(name).kind == kind), None)
    if placeholder is None:
        raise MbenchError(f"task {spec.id} has no {kind} slot for a {m.kind} package",
                          fix="submit to a task whose protocol runs this kind")
    base = resolve_run_config(task, placeholder, rest, quick=quick, limit=limit)
    params = dict(m.params)
    for key, value in param_overrides.items():
        if key not in params:
            raise did_you_mean(f"parameter of submission {m.id!r}:", key, params or ["(none)"],
                               fix="model.<name> sets a key of 'params' in submission.yaml")
        params[key] = value
    reasons = list(base.unofficial_reasons)
    if isolation is not None and not isolation.available and m.kind != "predictions":
        reasons.append("submission ran without sandbox isolation (" + "; ".join(isolation.reasons) + ")")
    values = {f.name: getattr(base, f.name) for f in dataclasses.fields(RunConfig)}
    values.update(model=m.model_id, model_kind=kind, model_params=params, unofficial_reasons=tuple(reasons))
    identity = {"id": m.id, "version": m.version, "kind": m.kind, "team": m.team,
                "authors": [a.name for a in m.authors], "licence": m.licence, "package_sha256": package.sha256,
                "limits": dataclasses.asdict(limits) if m.kind != "predictions" else None}
    return SubmissionRunConfig(**values, submission=identity)


def _others_can_read(path: Path) -> bool:
    """Whether a user that is neither owner nor in the group (the sandbox user) can read ``path``."""
    path = Path(path).resolve()
    for folder in reversed(path.parents):
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    mode = os.stat(path).st_mode
    return bool(mode & stat.S_IROTH and (not stat.S_ISDIR(mode) or mode & stat.S_IXOTH))


def protect_data(ctx: RunContext) -> str:
    """Make sure the sandbox user cannot read any file of the task's data (reference labels included).

    The embedded stand-in (generated by mbench) is made private (``0700``) if needed; real data that the
    sandbox user could read is an error, with the command that fixes it.
    """
    task = ctx.task
    files = [p for ids in task.split.splits.values() for case in ids for p in task.adapter.files(case)]
    readable = [p for p in files if _others_can_read(p)]
    if not readable:
        return f"{len(files)} data files, none readable by the sandbox user"
    root = Path(task.data_root).resolve()
    if task.data_source == "synthetic" and root.is_relative_to(cache_dir().resolve()):
        os.chmod(root, 0o700)
        still = [p for p in files if _others_can_read(p)]
        if not still:
            return f"{len(files)} data files; the stand-in folder {root} was made private (0700)"
        readable = still
    raise MbenchError(f"{len(readable)} files of the task's data are readable by other users, so a submission "
                      "could read the reference labels", found=", ".join(str(p) for p in readable[:3]),
                      expected="data files that only their owner can read",
                      fix=f"chmod -R go-rwx {root}  (or keep the data in a folder only root can enter)")


def _finish_record(folder: RunFolder, package: SubmissionPackage, session: SubmissionSession | None,
                   isolation: Isolation, limits: SandboxLimits | None, data_note: str,
                   report: dict[str, Any] | None) -> None:
    record = folder.read_record()
    box = session.sandbox if session else None
    record["submission"] = {**package.provenance(), "isolation": isolation.describe(),
                            "isolated": isolation.available,
                            "limits": limits.describe() if limits else None, "data_protection": data_note,
                            "calls": session.calls if session else [],
                            **({"sandbox_dir": str(box.session)} if box is not None and box.keep else {})}
    if report is not None:
        record.update(status="failed", violation=report)
    folder.write_record(record)


def submit(source: str | Path, task: str, overrides: dict[str, Any] | None = None, *, quick: bool = False,
           limit: int | None = None, fresh: bool = False, limits: SandboxLimits | None = None,
           allow_unisolated: bool = False, isolate: bool | None = None, observer: Any = None,
           loading_progress: Any = None, keep_sandbox: bool = False) -> SubmitResult:
    """Validate and run a package on ``task``; a violation is recorded in the run and returned, not raised.

    Args:
        source: the package folder or ``.zip``.
        task: task id or alias (the package must list it).
        overrides: ``model.*`` (package params), ``sandbox.*`` (limits), task settings, ``run.*``.
        allow_unisolated: run even where the sandbox cannot isolate (the run is then unofficial).
        isolate: None to use what the machine supports, False to run without isolation.
        keep_sandbox: leave the sandbox session folder on disk (inspection, tests).

    Raises:
        MbenchError: the package is unsafe or invalid, or isolation is unavailable and not allowed;
            nothing was run and nothing was stored.
    """
    with tempfile.TemporaryDirectory(prefix="mbench-submit-") as tmp:
        package = open_package(source, Path(tmp) / "package")
        m = package.manifest
        problems = [c for c in validate_package(package, task, data=False) if not c.ok]
        if problems:
            raise MbenchError(f"submission {m.model_id} is not valid; it was not run:\n" +
                              "\n".join(f"  - {c.name}: {c.detail}" for c in problems),
                              fix="`mbench validate submission=<path>` lists every check")
        runs_code = m.kind != "predictions"
        if not runs_code:
            isolation = Isolation(True, (), {"note": "predictions-only: no submitted code runs"})
        elif isolate is False:
            isolation = Isolation(False, ("isolation switched off for this run",))
        else:
            isolation = probe_isolation()
        if runs_code and not isolation.available and not allow_unisolated:
            raise MbenchError("this machine cannot sandbox submitted code, so official runs are refused: "
                              + "; ".join(isolation.reasons),
                              expected="Linux, mbench running as root, network/mount/PID namespaces",
                              found=isolation.describe(),
                              fix="run `mbench submit` as root on Linux; or pass --allow-unisolated for an "
                                  "UNOFFICIAL run in which the code can read what your user can read and use the "
                                  "network")
        config = build_config(package, task, overrides, quick=quick, limit=limit, limits=limits, isolation=isolation)
        run_limits = _limits(limits, split_overrides(overrides)[1]) if runs_code else None
        ctx = RunContext(config, progress=loading_progress)
        data_note = protect_data(ctx) if runs_code and isolation.available else "not checked (no sandbox user)"
        hide = [str(ctx.task.data_root), str(cache_dir()), str(Path(config.run.out).resolve())]
        box_cm = (Sandbox(package.root, run_limits, isolate=isolation.available, hide=hide, keep=keep_sandbox)
                  if runs_code and run_limits else contextlib.nullcontext(None))
        session: SubmissionSession | None = None
        from mbench.runner import execute_run

        with box_cm as box:
            session = SubmissionSession(package, config.task, ctx, box)
            entry = ModelEntry(m.model_id, config.model_kind, lambda **params: SandboxedModel(session, **params),
                               f"submission {m.id}@{m.version} ({m.kind}) by {m.team}", dict(m.params),
                               problems=(config.task.problem,), requires_torch=False)
            folder = RunFolder(Path(config.run.out) / config.run_id)
            with registered_model(entry):
                try:
                    folder = execute_run(config, observer, fresh=fresh, context=ctx,
                                         loading_progress=loading_progress)
                except (SubmissionViolation, SandboxError) as exc:
                    report = dict(getattr(exc, "report", None) or {"kind": "sandbox", "what": exc.message,
                                                                   "fix": exc.fix})
                    report["message"] = str(exc)
                    if folder.exists():
                        _finish_record(folder, package, session, isolation, run_limits, data_note, report)
                    log.warning("submission %s stopped: %s", m.model_id, report.get("what"))
                    return SubmitResult(folder, "failed", report, package.sha256, isolation)
            _finish_record(folder, package, session, isolation, run_limits, data_note, None)
            return SubmitResult(folder, "complete", None, package.sha256, isolation)
