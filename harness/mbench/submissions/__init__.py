"""Submissions: model packages that run sandboxed, never see test labels, and land on the leaderboard.

- :mod:`~mbench.submissions.manifest`: ``submission.yaml`` (versioned pydantic schema, JSON Schema export,
  the I/O contract a task expects);
- :mod:`~mbench.submissions.package`: safe opening of folders and zips, the content hash, weight hashes;
- :mod:`~mbench.submissions.validate`: every check before a package may run;
- :mod:`~mbench.submissions.sandbox`: the child process, its user, namespaces and limits;
- :mod:`~mbench.submissions.proxy`: the package as the run's model (Learner / Sampler by file exchange);
- :mod:`~mbench.submissions.outputs`: the predictions format and output validation;
- :mod:`~mbench.submissions.submit`: ``mbench submit``; :mod:`~mbench.submissions.scaffold`:
  ``mbench submission new``.
"""

from mbench.submissions.manifest import SubmissionManifest, load_manifest, manifest_schema
from mbench.submissions.package import SubmissionPackage, open_package
from mbench.submissions.sandbox import Isolation, Sandbox, SandboxLimits, SubmissionViolation, probe_isolation
from mbench.submissions.submit import SubmitResult, submit
from mbench.submissions.validate import ValidationReport, validate_submission

__all__ = [
           "Isolation",
           "Sandbox",
           "SandboxLimits",
           "SubmissionManifest",
           "SubmissionPackage",
           "SubmissionViolation",
           "SubmitResult",
           "ValidationReport",
           "load_manifest",
           "manifest_schema",
           "open_package",
           "probe_isolation",
           "submit",
           "validate_submission",
]
