"""The sandbox launcher: run as root by the harness (``python -I _launcher.py <config.json>``), never imported.

It builds the sandbox around one call of a submission and reports what happened:

1. opens the host-side folders it must write back to (before anything is hidden);
2. ``unshare``: new mount, network, IPC, UTS and PID namespaces (network: only a loopback that is down);
3. mounts: everything read-only (recursively), the harness user's home and the world-writable folders
   (``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run/lock``) replaced by empty size-limited tmpfs, the Python
   installation and the session folder bound back read-only, a size-limited tmpfs as the only writable
   working area (``outputs/``, ``state/``, ``home/``);
4. forks the namespace's init process, which mounts a private ``/proc``, sets the resource limits, drops
   every group and capability, switches to the session's unprivileged uid/gid, checks that all of this
   holds, and executes the runner;
5. waits for it (the PID namespace dies with its init, taking every descendant with it), copies the
   working area back with regular files only, and writes ``status.json``.

Without isolation (``isolate: false``: not root, or no namespaces) only steps 4-5 run, with the
resource limits but without namespaces or a uid switch; the harness marks such runs as unofficial.

Standalone on purpose: no mbench import, so that it runs identically under ``python -I``.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import socket
import stat
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1
PREFLIGHT_FAILED = 97
COPY_CHUNK = 1 << 20

_libc = ctypes.CDLL(None, use_errno=True)  # the interpreter links libc; no ldconfig subprocess
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.syscall.restype = ctypes.c_long


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: None if s is None else s.encode())
    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {fstype or source} on {target}")


def _readonly_recursive(path: str) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
    res = _libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), AT_RECURSIVE, ctypes.byref(attr),
                        ctypes.sizeof(attr))
    _check(int(res), f"mount_setattr(read-only) {path}")


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def build_mounts(cfg: dict) -> list[str]:
    """Steps 2-3 (in this process, which becomes the parent of the namespace's init). Returns notes."""
    notes = []
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWPID), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hide = sorted({os.path.realpath(h) for h in cfg["hide"] if os.path.isdir(h)}, key=len)
    expose = sorted({os.path.realpath(p) for p in cfg["expose"] if os.path.exists(p)}, key=len)
    # keep a handle on every path that is about to be hidden but must stay visible
    handles = {p: os.open(p, os.O_PATH | os.O_DIRECTORY) for p in expose
               if any(_under(p, h) for h in hide) and os.path.isdir(p)}
    try:
        _readonly_recursive("/")
        notes.append("root read-only")
    except OSError as exc:  # older kernels: the hidden folders below are still replaced
        notes.append(f"root not read-only ({exc})")
    for folder in hide:
        if any(_under(folder, other) and folder != other for other in hide):
            continue  # inside a folder already hidden
        world = stat.S_IMODE(os.stat(folder).st_mode) & 0o002
        mode = "1777" if world else "0755"
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={cfg['tmp_bytes']}")
    rebound: list[str] = []
    for path, fd in sorted(handles.items(), key=lambda kv: len(kv[0])):
        if any(_under(path, done) for done in rebound):
            continue
        os.makedirs(path, 0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        rebound.append(path)
        os.close(fd)
    for folder in hide:  # a hidden folder inside a path that was bound back stays hidden
        if any(_under(folder, path) and folder != path for path in rebound):
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0755,size={cfg['tmp_bytes']}")
    rw = cfg["rw"]
    _mount("tmpfs", rw, "tmpfs", MS_NOSUID | MS_NODEV,
           f"mode=0700,uid={cfg['uid']},gid={cfg['gid']},size={cfg['rw_bytes']},nr_inodes={cfg['rw_inodes']}")
    socket.sethostname("sandbox")
    return notes


def _set_limits(limits: dict) -> None:
    pairs = {"cpu_s": resource.RLIMIT_CPU, "data_bytes": resource.RLIMIT_DATA, "as_bytes": resource.RLIMIT_AS,
             "nproc": resource.RLIMIT_NPROC, "fsize_bytes": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE,
             "core_bytes": resource.RLIMIT_CORE}
    for key, which in pairs.items():
        if limits.get(key) is None:
            continue
        value = int(limits[key])
        hard = value + 5 if key == "cpu_s" else value  # SIGXCPU at the soft limit, SIGKILL at the hard one
        resource.setrlimit(which, (value, hard))


def verify_sandbox(cfg: dict) -> dict:
    """What this process can observe about its own sandbox; raises if any guarantee does not hold."""
    facts = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
             "limits": {k: resource.getrlimit(getattr(resource, k))[0] for k in
                        ("RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_AS", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE")}}
    problems = []
    for key, rname in (("cpu_s", "RLIMIT_CPU"), ("data_bytes", "RLIMIT_DATA"), ("as_bytes", "RLIMIT_AS"),
                       ("nproc", "RLIMIT_NPROC"), ("fsize_bytes", "RLIMIT_FSIZE"), ("nofile", "RLIMIT_NOFILE")):
        want = cfg["limits"].get(key)
        got = facts["limits"][rname]
        if want is not None and (got == resource.RLIM_INFINITY or got > int(want)):
            problems.append(f"{rname} is {got}, expected <= {want}")
    if cfg["isolate"]:
        facts["interfaces"] = [name for _, name in socket.if_nameindex()]
        if os.getuid() == 0 or os.geteuid() == 0 or os.getuid() != cfg["uid"] or os.getgid() != cfg["gid"]:
            problems.append(f"uid/gid {os.getuid()}/{os.getgid()}, expected {cfg['uid']}/{cfg['gid']}")
        if facts["groups"]:
            problems.append(f"supplementary groups {facts['groups']}, expected none")
        if facts["interfaces"] != ["lo"]:
            problems.append(f"network interfaces {facts['interfaces']}, expected only 'lo'")
        with open("/proc/self/status") as fh:
            caps = {k: v.strip() for k, _, v in (line.partition(":") for line in fh) if k in ("CapEff", "CapPrm")}
        if any(int(v, 16) for v in caps.values()):
            problems.append(f"capabilities {caps}, expected none")
        if cfg.get("hidden_probe") and os.path.lexists(cfg["hidden_probe"]):
            problems.append(f"{cfg['hidden_probe']} is visible, expected hidden")
    if problems:
        raise RuntimeError("; ".join(problems))
    return facts


def child_main(cfg: dict) -> None:
    """The namespace's init (step 4). Never returns."""
    try:
        if cfg["isolate"]:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _set_limits(cfg["limits"])
        if cfg["isolate"]:
            os.setgroups([])
            os.setresgid(cfg["gid"], cfg["gid"], cfg["gid"])
            os.setresuid(cfg["uid"], cfg["uid"], cfg["uid"])
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
        _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(pdeathsig)")
        os.chdir(cfg["cwd"])
        facts = verify_sandbox(cfg)
        limits = facts["limits"]
        sys.stderr.write(f"MBENCH-SANDBOX ok uid={facts['uid']} gid={facts['gid']} nproc={limits['RLIMIT_NPROC']} "
                         f"data={limits['RLIMIT_DATA']} as={limits['RLIMIT_AS']} cpu={limits['RLIMIT_CPU']} "
                         f"fsize={limits['RLIMIT_FSIZE']} net={','.join(facts.get('interfaces', ['host']))}\n")
        sys.stderr.flush()
        os.execve(cfg["argv"][0], cfg["argv"], cfg["env"])
    except BaseException as exc:  # noqa: BLE001 - whatever failed, leave without running submitted code
        try:
            sys.stderr.write(f"MBENCH-SANDBOX preflight failed: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()
        finally:
            os._exit(PREFLIGHT_FAILED)


def _copy_tree(src: str, dst_fd: int, budget: list[int], skipped: list[str], rel: str = "") -> None:
    """Copy regular files and folders from ``src`` into the folder open as ``dst_fd``; nothing else."""
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name)
        st = os.lstat(path)
        where = f"{rel}{name}"
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(name, 0o700, dir_fd=dst_fd)
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dst_fd)
            try:
                _copy_tree(path, sub, budget, skipped, where + "/")
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            budget[0] -= st.st_size
            if budget[0] < 0:
                raise OSError(f"working area larger than its limit while copying {where}")
            fin = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            fout = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dst_fd)
            try:
                while chunk := os.read(fin, COPY_CHUNK):
                    os.write(fout, chunk)
            finally:
                os.close(fin)
                os.close(fout)
        else:
            kind = "symlink" if stat.S_ISLNK(st.st_mode) else ("hard link" if stat.S_ISREG(st.st_mode) else "special file")
            skipped.append(f"{where} ({kind})")


def _open_dir(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)


def main(config_path: str) -> int:
    with open(config_path) as fh:
        cfg = json.load(fh)
    status: dict = {"isolated": cfg["isolate"], "notes": []}
    status_fd = _open_dir(os.path.dirname(cfg["status"]))
    started = time.monotonic()

    def write_status() -> None:
        fd = os.open(os.path.basename(cfg["status"]) + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600,
                     dir_fd=status_fd)
        with os.fdopen(fd, "w") as out:
            json.dump(status, out)
        os.replace(os.path.basename(cfg["status"]) + ".tmp", os.path.basename(cfg["status"]),
                   src_dir_fd=status_fd, dst_dir_fd=status_fd)

    back_fd = _open_dir(cfg["copy_back"])  # host side, opened before the mounts hide or freeze it
    state_src = cfg.get("state_in")
    try:
        if cfg["isolate"]:
            status["notes"] += build_mounts(cfg)
        rw = cfg["rw"]
        for sub in ("outputs", "home", "state"):
            os.mkdir(os.path.join(rw, sub), 0o700)
        if state_src and os.path.isdir(state_src):
            dst = _open_dir(os.path.join(rw, "state"))
            try:
                _copy_tree(state_src, dst, [cfg["rw_bytes"]], status.setdefault("skipped_in", []))
            finally:
                os.close(dst)
        if cfg["isolate"]:
            for root, dirs, files in os.walk(rw):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(root, name), cfg["uid"], cfg["gid"], follow_symlinks=False)
            os.chown(rw, cfg["uid"], cfg["gid"])
    except BaseException as exc:  # noqa: BLE001 - reported to the harness as a setup error
        status.update(setup_error=f"{type(exc).__name__}: {exc}")
        write_status()
        return 3
    pid = os.fork()
    if pid == 0:
        child_main(cfg)
    status["child_pid"] = pid
    write_status()
    signal.signal(signal.SIGTERM, lambda *_: (os.kill(pid, signal.SIGKILL), None)[1])
    _, code, usage = os.wait4(pid, 0)
    status.update(wall_s=round(time.monotonic() - started, 3), cpu_s=round(usage.ru_utime + usage.ru_stime, 3),
                  maxrss_kb=usage.ru_maxrss)
    if os.WIFSIGNALED(code):
        status.update(exit_code=None, signal=os.WTERMSIG(code), signal_name=signal.Signals(os.WTERMSIG(code)).name)
    else:
        status.update(exit_code=os.WEXITSTATUS(code), signal=None)
    # every process of the sandbox is gone now (the PID namespace ends with its init); copy the work back
    skipped: list[str] = []
    try:
        for name in ("outputs", "state"):
            os.mkdir(name, 0o700, dir_fd=back_fd)
            dst = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=back_fd)
            try:
                _copy_tree(os.path.join(cfg["rw"], name), dst, [cfg["rw_bytes"]], skipped, f"{name}/")
            finally:
                os.close(dst)
        err = os.path.join(cfg["rw"], "error.json")
        if os.path.isfile(err) and not os.path.islink(err) and os.path.getsize(err) <= 65536:
            with open(err, "rb") as fh:
                data = fh.read()
            fd = os.open("error.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=back_fd)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
    except (OSError, RecursionError) as exc:  # RecursionError: folders nested too deep to copy
        status["copy_error"] = f"{type(exc).__name__}: {exc}"
    status["skipped"] = skipped
    write_status()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
