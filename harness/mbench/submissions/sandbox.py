"""Run submitted code in a sandboxed child process and turn every way it can fail into a clear report.

One :class:`Sandbox` is one session of one submission: a private folder, a leased unprivileged uid, the
package copied in read-only. :meth:`Sandbox.call` runs one ``fit`` / ``predict`` / ``query`` in a fresh child:

- **process**: a child of a root-owned launcher (``_launcher.py``), never the harness process;
- **user**: a uid/gid of its own (leased per session, no groups, no capabilities, ``no_new_privs``), so files
  the harness keeps root-owned ``0600`` (reference labels) cannot be opened, whatever the code tries;
- **namespaces**: new network (loopback only, down), mount, PID, IPC and UTS namespaces; the harness user's
  home, the task's data, the results store and the world-writable folders are replaced by empty tmpfs,
  everything else is read-only, and the only writable area is a size-limited tmpfs;
- **limits** (``setrlimit`` in the child, checked there before any submitted code runs): CPU time,
  memory (data segment, and address space as a backstop), processes (``RLIMIT_NPROC``, effective because
  the child is not root), file size, open files; the wall time is a timer in the harness that kills the
  launcher's process group and the PID namespace (which takes every descendant with it);
- **environment**: a minimal fixed set of variables, nothing from the harness environment.

When isolation is unavailable (not root, no namespaces), :func:`probe_isolation` says why; calls then run
with the resource limits only, and the submission layer refuses official runs.

Example:
    >>> probe_isolation().available in (True, False)
    True
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mbench.errors import MbenchError

__all__ = [
    "SANDBOX_DIR_ENV",
    "UID_BASE_ENV",
    "CallResult",
    "Isolation",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SubmissionViolation",
    "probe_isolation",
]

log = logging.getLogger(__name__)

UID_BASE_ENV = "MBENCH_SANDBOX_UID_BASE"
SANDBOX_DIR_ENV = "MBENCH_SANDBOX_DIR"
_UID_RANGE = 2000
_HERE = Path(__file__).resolve().parent
_PREFLIGHT_FAILED = 97
_LOG_HEAD, _LOG_TAIL = 8_000, 24_000
_NETWORK_ERRNOS = {"ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "ECONNREFUSED", "EADDRNOTAVAIL", "EAFNOSUPPORT"}
MB = 1 << 20


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of every sandboxed call (wall and CPU time per call).

    Example:
        >>> SandboxLimits(wall_s=20, memory_mb=512, processes=32).describe()["processes"]
        '32 processes/threads'
    """

    wall_s: float = 3600.0
    cpu_s: int = 3600
    memory_mb: int = 8192
    processes: int = 64
    output_mb: int = 1024
    open_files: int = 256
    tmp_mb: int = 256

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise MbenchError(f"sandbox limit {name} must be positive", found=repr(value),
                                  fix=f"set sandbox.{name} to a positive number")

    def rlimits(self) -> dict[str, int]:
        """The ``setrlimit`` values the child gets."""
        memory = self.memory_mb * MB
        return {"cpu_s": int(self.cpu_s), "data_bytes": memory, "as_bytes": memory * 4 + (4 << 30),
                "nproc": int(self.processes), "fsize_bytes": self.output_mb * MB, "nofile": int(self.open_files),
                "core_bytes": 0}

    def describe(self) -> dict[str, str]:
        """Human-readable limits (for reports and ``run.json``)."""
        return {"wall_s": f"{self.wall_s:g} s wall time per call", "cpu_s": f"{self.cpu_s} s CPU time per process",
                "memory_mb": f"{self.memory_mb} MB memory (data segment)",
                "processes": f"{self.processes} processes/threads", "output_mb": f"{self.output_mb} MB of output",
                "open_files": f"{self.open_files} open files", "tmp_mb": f"{self.tmp_mb} MB private /tmp"}


@dataclass(frozen=True)
class Isolation:
    """Whether this machine can isolate submissions, and why not."""

    available: bool
    reasons: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        if self.available:
            return ("isolated: own uid, no network (network namespace), private mounts and PID namespace, "
                    "resource limits")
        return "NOT isolated: " + "; ".join(self.reasons)


class SandboxError(MbenchError):
    """The sandbox itself could not be set up or did not hold (not the submission's fault)."""


class SubmissionViolation(MbenchError):
    """A submission broke a rule or a limit; ``report`` says what, which case and which limit.

    Example:
        >>> v = SubmissionViolation({"kind": "output", "what": "NaN values", "case": "c:z001", "limit": None})
        >>> v.report["case"], "c:z001" in str(v)
        ('c:z001', True)
    """

    def __init__(self, report: dict[str, Any]) -> None:
        self.report = {"case": None, "limit": None, "detail": "", **report}
        where = f" (case {self.report['case']})" if self.report.get("case") else ""
        limit = f"; limit: {self.report['limit']}" if self.report.get("limit") else ""
        super().__init__(f"submission stopped: {self.report['kind']}: {self.report['what']}{where}{limit}",
                         expected=self.report.get("expected"), found=self.report.get("found"),
                         fix=self.report.get("fix"))


@dataclass
class CallResult:
    """What one sandboxed call left behind (outputs already copied back, every sandbox process gone)."""

    call_dir: Path
    status: dict[str, Any]
    log: str
    seconds: float

    @property
    def outputs(self) -> Path:
        return self.call_dir / "outputs"


# ----------------------------------------------------------------------------------------------- uid leases

def _uids_in_use() -> set[int]:
    used = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/status") as fh:
                    for line in fh:
                        if line.startswith("Uid:"):
                            used.update(int(v) for v in line.split()[1:])
                            break
            except OSError:
                continue
    return used


class _UidLease:
    """An unused uid (no passwd entry, no process) held with a lock file for the life of a session."""

    def __init__(self) -> None:
        base = int(os.environ.get(UID_BASE_ENV, "612000"))
        lock_dir = Path(tempfile.gettempdir()) / "mbench-sandbox-uids"
        lock_dir.mkdir(mode=0o700, exist_ok=True)
        used = _uids_in_use()
        start = os.getpid() % _UID_RANGE
        for k in range(_UID_RANGE):
            uid = base + (start + k) % _UID_RANGE
            if uid in used or _has_passwd(uid):
                continue
            fh = open(lock_dir / f"{uid}.lock", "w")  # noqa: SIM115 - held open (and locked) for the session
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                continue
            self.uid, self._fh = uid, fh
            return
        raise SandboxError("no free sandbox uid", expected=f"an unused uid in {base}..{base + _UID_RANGE - 1}",
                           fix=f"set {UID_BASE_ENV} to the start of a free uid range")

    def release(self) -> None:
        self._fh.close()


def _has_passwd(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1 -1").split()[0]) == uid and not fields.get("State", "").strip().startswith("Z"):
            pids.append(int(entry.name))
    return pids


def _kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (a helper switches to it and sends ``kill(-1, SIGKILL)``)."""
    code = (f"import os, signal\nos.setgroups([]); os.setresgid({uid}, {uid}, {uid}); os.setresuid({uid}, {uid}, "
            f"{uid})\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass\n")
    subprocess.run([sys.executable, "-I", "-c", code], check=False, timeout=30, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ----------------------------------------------------------------------------------------------- isolation

def _default_hide() -> list[str]:
    return [str(Path.home()), tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", "/run/lock"]


def _expose() -> list[str]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parent.parent)}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    return sorted(os.path.realpath(p) for p in paths)


def _sandbox_root() -> Path:
    root = Path(os.environ.get(SANDBOX_DIR_ENV) or tempfile.gettempdir()).resolve()
    for folder in [root, *root.parents]:
        if not os.stat(folder).st_mode & 0o001:
            raise SandboxError(f"sandbox folder {root} is not reachable for an unprivileged user",
                               found=f"{folder} has no execute permission for others",
                               fix=f"set {SANDBOX_DIR_ENV} to a folder like /tmp whose parents are all o+x")
    return root


@lru_cache(maxsize=1)
def probe_isolation() -> Isolation:
    """Check, by running a trivial child through the full sandbox once, whether isolation works here."""
    if not sys.platform.startswith("linux"):
        return Isolation(False, (f"sandboxing needs Linux namespaces; this is {sys.platform}",))
    if os.geteuid() != 0:
        return Isolation(False, ("mbench is not running as root, so the child cannot switch to an unprivileged "
                                 "user, get its own network namespace or have files hidden from it"),)
    try:
        with Sandbox(None, SandboxLimits(wall_s=60, cpu_s=30, memory_mb=512, processes=16, output_mb=8),
                     isolate=True) as box:
            probe = "import socket, os; assert [n for _, n in socket.if_nameindex()] == ['lo']; assert os.getuid()"
            result = box._launch(["-c", probe], action="probe")
    except MbenchError as exc:
        return Isolation(False, (f"the sandbox could not be set up: {exc.message}",))
    status = result.status
    if status.get("setup_error") or status.get("exit_code") != 0:
        why = status.get("setup_error") or result.log.strip().splitlines()[-1:] or ["unknown"]
        return Isolation(False, (f"the isolation probe failed: {why if isinstance(why, str) else why[0]}",),
                         {"status": status})
    return Isolation(True, (), {"notes": status.get("notes", [])})


# ----------------------------------------------------------------------------------------------- sandbox

def _tail_reader(stream, head: bytearray, tail: bytearray) -> None:
    while chunk := stream.read(65536):
        if len(head) < _LOG_HEAD:
            take = chunk[:_LOG_HEAD - len(head)]
            head.extend(take)
            chunk = chunk[len(take):]
        tail.extend(chunk)
        if len(tail) > 2 * _LOG_TAIL:
            del tail[:-_LOG_TAIL]


def _copy_readonly(src: Path, dst: Path) -> None:
    """Copy a validated package tree: folders 0755, files 0644, owned by the harness user."""
    dst.mkdir(mode=0o755)
    for item in sorted(src.iterdir()):
        if item.is_symlink():
            raise SandboxError(f"package contains a symlink: {item}", fix="packages are validated before this step")
        if item.is_dir():
            _copy_readonly(item, dst / item.name)
        elif item.is_file():
            shutil.copyfile(item, dst / item.name)
            os.chmod(dst / item.name, 0o644)
    os.chmod(dst, 0o755)


class Sandbox:
    """One sandbox session for one submission package.

    Args:
        package_root: the extracted, validated package (copied read-only into the session), or None.
        limits: resource limits of every call.
        isolate: True to require isolation, False to run with resource limits only, None for what the
            machine supports (see :func:`probe_isolation`).
        hide: extra folders to hide from the child (the task's data, the results store, caches).
        keep: leave the session folder (inputs, outputs, logs of every call) on disk for inspection.
        hide_defaults: also hide the harness user's home and the world-writable folders (turn off only to
            test the file-permission layer on its own).

    Example:
        >>> with Sandbox(None, SandboxLimits(wall_s=30)) as box:   # doctest: +SKIP
        ...     result = box.call("predict", {...}, {...})
    """

    def __init__(self, package_root: Path | None, limits: SandboxLimits, *, isolate: bool | None = None,
                 hide: list[str | Path] | None = None, keep: bool = False, hide_defaults: bool = True) -> None:
        self.package_root = package_root
        self.keep = keep
        self.limits = limits
        self._isolate = isolate
        self.hide = [*(_default_hide() if hide_defaults else []), *(str(h) for h in hide or [])]
        self.calls = 0
        self.session: Path | None = None
        self._lease: _UidLease | None = None

    @property
    def isolated(self) -> bool:
        return bool(self._isolate)

    @property
    def uid(self) -> int:
        return self._lease.uid if self._lease else os.getuid()

    def __enter__(self) -> Sandbox:  # noqa: PYI034 - typing.Self needs Python 3.11
        if self._isolate is None:
            self._isolate = probe_isolation().available
        if self._isolate:
            if os.geteuid() != 0:
                raise SandboxError("isolation requires running mbench as root",
                                   fix="run as root, or without isolation for an unofficial run")
            self._lease = _UidLease()
        root = _sandbox_root() if self._isolate else Path(tempfile.gettempdir())
        self.session = Path(tempfile.mkdtemp(prefix="mbench-sandbox-", dir=root))
        os.chmod(self.session, 0o711)
        shutil.copyfile(_HERE / "_runner.py", self.session / "runner.py")
        os.chmod(self.session / "runner.py", 0o644)
        (self.session / "state").mkdir(mode=0o700)
        (self.session / "calls").mkdir(mode=0o711)
        if self.package_root is not None:
            _copy_readonly(Path(self.package_root), self.session / "package")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._lease and _processes_of(self._lease.uid):
                _kill_uid(self._lease.uid)
            if self.session is not None and not self.keep:
                shutil.rmtree(self.session, ignore_errors=True)
        finally:
            if self._lease:
                self._lease.release()

    @property
    def package_dir(self) -> Path:
        assert self.session is not None
        return self.session / "package"

    def _hidden_probe(self) -> str | None:
        """An existing path inside a hidden folder that no exposed path needs: must be invisible to the child."""
        exposed = _expose() + [str(self.session)]
        for folder in self.hide:
            folder = os.path.realpath(folder)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if not any(e == path or e.startswith(path + "/") or path.startswith(e + "/") for e in exposed):
                    return path
        return None

    def _launch(self, argv_tail: list[str], action: str, state_key: str | None = None,
                call_dir: Path | None = None) -> CallResult:
        assert self.session is not None, "use the sandbox as a context manager"
        if call_dir is None:
            self.calls += 1
            call_dir = self.session / "calls" / f"{self.calls:04d}-{action}"
            call_dir.mkdir(mode=0o711)
        rw = call_dir / "rw"
        rw.mkdir(mode=0o700)
        state_in = self.session / "state" / state_key if state_key else None
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(rw / "home"), "LANG": "C.UTF-8",
               "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", "MBENCH_SANDBOX": "1",
               "TMPDIR": "/tmp" if self._isolate else str(rw / "home")}
        cfg = {"isolate": bool(self._isolate), "uid": self.uid, "gid": self.uid if self._isolate else os.getgid(),
               "hide": self.hide, "expose": [*_expose(), str(self.session)],
               "hidden_probe": self._hidden_probe() if self._isolate else None,
               "rw": str(rw), "rw_bytes": self.limits.output_mb * MB, "rw_inodes": 100_000,
               "tmp_bytes": self.limits.tmp_mb * MB, "limits": self.limits.rlimits(),
               "state_in": str(state_in) if state_in and state_in.is_dir() else None, "copy_back": str(call_dir),
               "status": str(call_dir / "status.json"),
               "cwd": str(self.package_dir) if self.package_root is not None else "/",
               "argv": [sys.executable, "-I", "-B", *argv_tail], "env": env}
        launch = call_dir / "launch.json"
        launch.write_text(json.dumps(cfg))
        os.chmod(launch, 0o600)
        head, tail = bytearray(), bytearray()
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-I", "-B", str(_HERE / "_launcher.py"), str(launch)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env={"PATH": env["PATH"], "LANG": "C.UTF-8"})
        reader = threading.Thread(target=_tail_reader, args=(proc.stdout, head, tail), daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=self.limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill(proc, call_dir)
        finally:
            if proc.poll() is None:
                self._kill(proc, call_dir)
        reader.join(timeout=10)
        seconds = time.monotonic() - t0
        self._reap()
        status = json.loads((call_dir / "status.json").read_text()) if (call_dir / "status.json").exists() else {}
        status.update(timed_out=timed_out, launcher_exit=proc.returncode)
        text = head.decode(errors="replace")
        if tail:
            text += ("\n[... log truncated ...]\n" if len(head) >= _LOG_HEAD else "") + \
                tail[-_LOG_TAIL:].decode(errors="replace")
        if state_key and (call_dir / "state").is_dir() and not timed_out:
            target = self.session / "state" / state_key
            shutil.rmtree(target, ignore_errors=True)
            os.replace(call_dir / "state", target)
        return CallResult(call_dir, status, text, seconds)

    def _kill(self, proc: subprocess.Popen, call_dir: Path) -> None:
        """Kill the PID namespace's init (the kernel then kills every process in the namespace) and let the
        launcher reap it; if the launcher does not exit, kill its whole process group."""
        try:
            self._kill_child(call_dir)
            proc.wait(timeout=10)
            return
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log.error("sandbox launcher %d did not exit after SIGKILL", proc.pid)

    @staticmethod
    def _kill_child(call_dir: Path) -> None:
        status = json.loads((call_dir / "status.json").read_text())
        os.kill(int(status["child_pid"]), signal.SIGKILL)

    def _reap(self) -> None:
        """Make sure no process of the session's uid is left (there should be none: the namespace is gone)."""
        if not self._lease:
            return
        deadline = time.monotonic() + 10
        while (pids := _processes_of(self._lease.uid)) and time.monotonic() < deadline:
            _kill_uid(self._lease.uid)
            time.sleep(0.05)
        if pids:
            raise SandboxError(f"sandbox processes {pids[:5]} of uid {self._lease.uid} survived the kill",
                               fix="report this: the PID namespace should have ended them")
        deadline = time.monotonic() + 5  # exited processes that their parent has not collected yet
        while self._lease.uid in _uids_in_use() and time.monotonic() < deadline:
            time.sleep(0.02)

    def call(self, action: str, inputs: dict[str, Any], request: dict[str, Any], *,
             state_key: str | None = None) -> CallResult:
        """Run one action of the package's entry class in a fresh child; raise on any violation.

        Args:
            action: ``fit``, ``predict`` or ``query``.
            inputs: file name -> numpy array (saved as ``.npy``) or JSON-serialisable value (``.json``):
                everything the child may see, nothing else.
            request: the runner's request (entry, params, seed, ...).
            state_key: keep the child's ``state/`` folder under this key for later calls (fit -> predict).
        """
        assert self.session is not None, "use the sandbox as a context manager"
        self.calls += 1
        call_dir = self.session / "calls" / f"{self.calls:04d}-{action}"
        call_dir.mkdir(mode=0o711)
        folder = call_dir / "inputs"
        folder.mkdir(mode=0o755)
        for name, value in inputs.items():
            path = folder / name
            if isinstance(value, np.ndarray):
                np.save(path, value, allow_pickle=False)
            else:
                path.write_text(json.dumps(value))
            os.chmod(path, 0o644)
        req = {**request, "action": action, "package": str(self.package_dir), "inputs": str(folder),
               "rw": str(call_dir / "rw"), "limits": self.limits.rlimits(), "uid": self.uid,
               "isolated": bool(self._isolate)}
        (call_dir / "request.json").write_text(json.dumps(req))
        os.chmod(call_dir / "request.json", 0o644)
        result = self._launch([str(self.session / "runner.py"), str(call_dir / "request.json")], action,
                              state_key=state_key, call_dir=call_dir)
        self.check(result, action)
        return result

    def check(self, result: CallResult, action: str) -> None:
        """Raise :class:`SubmissionViolation` (or :class:`SandboxError`) if the call did not end cleanly."""
        status, limits, text = result.status, self.limits, result.log
        base = {"action": action, "log_tail": text[-4000:], "seconds": round(result.seconds, 3), "uid": self.uid}
        if status.get("setup_error"):
            raise SandboxError(f"the sandbox could not be set up: {status['setup_error']}",
                               fix="check `mbench submit --help` for the isolation requirements")
        if status.get("exit_code") == _PREFLIGHT_FAILED:
            line = next((ln for ln in text.splitlines() if "preflight failed" in ln), "preflight failed")
            raise SandboxError(f"the sandbox did not hold, no submitted code was run: {line}",
                               fix="run official submissions on a machine where `mbench submit` reports isolation")
        if status.get("timed_out"):
            raise SubmissionViolation({**base, "kind": "wall_time", "limit": limits.describe()["wall_s"],
                                       "what": f"{action} still running after {limits.wall_s:g} s; the process "
                                               "group and every process it started were killed",
                                       "fix": "make the submission faster, or ask the organiser for a longer limit"})
        sig = status.get("signal_name")
        if sig in ("SIGXCPU",) or (sig == "SIGKILL" and status.get("cpu_s", 0) >= limits.cpu_s):
            raise SubmissionViolation({**base, "kind": "cpu_time", "limit": limits.describe()["cpu_s"],
                                       "what": f"{action} used up its CPU time and was killed ({sig})"})
        if sig == "SIGXFSZ":
            raise SubmissionViolation({**base, "kind": "output_size", "limit": limits.describe()["output_mb"],
                                       "what": f"{action} wrote a file larger than the file-size limit"})
        if sig:
            raise SubmissionViolation({**base, "kind": "killed", "what": f"{action} was killed by {sig}",
                                       "found": f"signal {sig}; peak memory {status.get('maxrss_kb', 0) // 1024} MB",
                                       "limit": limits.describe()["memory_mb"] if sig in ("SIGSEGV", "SIGABRT",
                                                                                          "SIGBUS") else None})
        if status.get("exit_code") not in (0, None):
            raise SubmissionViolation(self._classify_error(result, base))
        if status.get("copy_error"):
            raise SubmissionViolation({**base, "kind": "output_size", "limit": limits.describe()["output_mb"],
                                       "what": f"outputs could not be collected: {status['copy_error']}"})
        if status.get("skipped"):
            raise SubmissionViolation({**base, "kind": "output", "what": "the working area holds links or special "
                                       "files, which are not allowed", "found": ", ".join(status["skipped"][:5])})

    def _classify_error(self, result: CallResult, base: dict[str, Any]) -> dict[str, Any]:
        err_path = result.call_dir / "error.json"
        try:
            err = json.loads(err_path.read_text()) if err_path.is_file() else {}
        except (OSError, ValueError):
            err = {}
        if not err:  # the runner also prints its report, for when the working area was too full to write it
            for line in reversed(result.log.splitlines()):
                if line.startswith("MBENCH-ERROR "):
                    try:
                        err = json.loads(line[len("MBENCH-ERROR "):])
                    except ValueError:
                        err = {}
                    break
        limits = self.limits.describe()
        kind = str(err.get("type") or "exit")
        bases = set(err.get("bases") or [kind])
        message = str(err.get("message") or "")
        code = err.get("errno_name")
        trace = str(err.get("traceback") or "")
        found = f"{kind}: {message}" if err else f"exit status {result.status.get('exit_code')}"
        report = {**base, "kind": "raised", "what": f"{base['action']} raised {kind}: {message}"[:500],
                  "found": found[:500], "traceback": trace[-3000:]}
        if "MemoryError" in bases:
            report.update(kind="memory", limit=limits["memory_mb"],
                          what=f"{base['action']} tried to allocate more memory than its limit")
        elif code == "EAGAIN" and ("fork" in trace or "spawn" in trace or "Popen" in trace or "Thread" in trace):
            report.update(kind="processes", limit=limits["processes"],
                          what=f"{base['action']} tried to start more processes than its limit")
        elif code == "ENOSPC" or (code == "EFBIG"):
            report.update(kind="output_size", limit=limits["output_mb"],
                          what=f"{base['action']} wrote more than the working area holds")
        elif code in ("EACCES", "EPERM") or "PermissionError" in bases:
            report.update(kind="access_denied", what=f"{base['action']} tried to open {err.get('filename') or 'a file'}"
                          " that the submission may not read", limit="files outside the inputs are unreadable to the "
                          "sandbox user")
        elif "gaierror" in bases or code in _NETWORK_ERRNOS:
            report.update(kind="network", what=f"{base['action']} tried to use the network, which the sandbox has "
                          "not got", limit="no network (own network namespace)")
        elif code == "ENOENT" and err.get("filename", "") and Path(str(err["filename"])).is_absolute() and \
                not str(err["filename"]).startswith(str(self.session)):
            report.update(kind="access_denied", what=f"{base['action']} tried to open {err['filename']}, which is "
                          "hidden from the sandbox", limit="the task's data and the harness's files are hidden")
        return report

