"""Hostile submissions: each one is stopped with a clear report, and nothing else is affected.

Every run goes into one results store that already holds a finished submission run; after each hostile
run the earlier run's files are byte-identical and the leaderboard's view of them unchanged. The
dangerous ones (fork bomb, huge allocation) run only inside the full sandbox: a uid of their own with
``RLIMIT_NPROC`` 32, 512 MB of memory and a wall-time kill of the process group and PID namespace; the
tests check that these limits were in force in the child before the hostile code started.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from mbench.errors import MbenchError
from mbench.leaderboard.collect import collect_runs
from mbench.submissions import SandboxLimits, submit
from mbench.submissions.sandbox import UID_BASE_ENV, Sandbox, SubmissionViolation, _uids_in_use
from mbench.submissions.validate import validate_submission
from test_submissions_helpers import (
    HOLDOUT,
    HOLDOUT_ID,
    PREDICT_ONES,
    copy_example,
    fingerprint,
    needs_isolation,
    write_package,
)

pytestmark = needs_isolation

LIMITS = SandboxLimits(wall_s=20, cpu_s=20, memory_mb=512, processes=32, output_mb=16)


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_tasks):
    """A results root holding one complete submission run, and its fingerprint."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MBENCH_TASKS_DIR", str(tiny_tasks))
    root = tmp_path_factory.mktemp("hostile")
    results = root / "results"
    good = copy_example("brats-threshold-seg", root, HOLDOUT_ID)
    result = submit(good, HOLDOUT, {"run.out": str(results)}, quick=True, limits=LIMITS)
    assert result.ok, result.report
    # the leaderboard's page of this run before any hostile run
    (root / "run-page-before.html").write_text(_run_page(results, root / "site-before", result.folder.run_id))
    yield root, results, fingerprint(results), result.folder.run_id
    mp.undo()


def _run_page(results: Path, site: Path, run_id: str) -> str:
    """Build the leaderboard of ``results`` into ``site``; the page of ``run_id`` without its build line."""
    from mbench.leaderboard import build_site
    from mbench.leaderboard.collect import slugify

    config = site.parent / "leaderboard.yaml"
    config.write_text(f"title: hostile\ntasks:\n  - id: {HOLDOUT_ID}\n")
    build_site(results, config, site, resamples=20)
    text = (site / "runs" / f"{slugify(run_id)}.html").read_text()
    return "\n".join(line for line in text.splitlines() if "Built by mbench" not in line)


@pytest.fixture
def hostile(store, use_tiny_tasks, tmp_path):
    """Submit a hostile package into the shared store; afterwards the earlier run must be untouched."""
    _, results, before, good_run = store
    runs_before, _ = collect_runs(results)

    def run(code: str, *, limits: SandboxLimits = LIMITS, **package) -> dict:
        folder = write_package(tmp_path / package.pop("name", "hostile"), code, **package)
        result = submit(folder, HOLDOUT, {"run.out": str(results)}, quick=True, limits=limits)
        assert result.status == "failed" and result.report is not None
        record = result.folder.read_record()
        assert record["status"] == "failed" and record["violation"]["kind"] == result.report["kind"]
        assert record["submission"]["package_sha256"] == result.package_sha256
        return result.report

    yield run
    after = fingerprint(results)
    assert {k: v for k, v in after.items() if k.startswith(good_run + "/")} == \
        {k: v for k, v in before.items() if k.startswith(good_run + "/")}, "an earlier run changed"
    runs_after, skipped = collect_runs(results)
    assert [e.run_id for e in runs_after[HOLDOUT_ID]] == [e.run_id for e in runs_before[HOLDOUT_ID]]
    assert [r["value"] for r in runs_after[HOLDOUT_ID][0].rows] == [r["value"] for r in runs_before[HOLDOUT_ID][0].rows]
    assert all("failed" in s.reason for s in skipped)


def test_reading_reference_labels_is_denied(hostile, use_tiny_tasks):
    from mbench.tasks.registry import load_task
    from mbench.tasks.task import Task

    card = load_task(HOLDOUT)
    task = Task(card.spec, card.folder)
    case = task.split.ids("test")[0]
    label = next(p for p in task.adapter.files(case) if "seg" in p.name)
    assert label.is_file()
    report = hostile(f"""
        import numpy as np

        class Model:
            def predict(self, images):
                with open({str(label)!r}, "rb") as fh:
                    fh.read()
                return (images > 0).astype(np.uint8)
    """)
    assert report["kind"] == "access_denied" and str(label) in report["what"]
    assert report["action"] == "predict"


def test_opening_a_socket_fails_without_network(hostile):
    report = hostile("""
        import socket

        class Model:
            def predict(self, images):
                socket.create_connection(("1.1.1.1", 53), timeout=3)
    """)
    assert report["kind"] == "network" and "Network is unreachable" in report["found"]
    assert report["limit"] == "no network (own network namespace)"


def test_endless_forking_is_capped_and_killed(hostile):
    report = hostile("""
        import os, sys, time

        class Model:
            def predict(self, images):
                print("HOSTILE fork loop starts", file=sys.stderr, flush=True)
                while True:
                    try:
                        os.fork()
                    except OSError:
                        time.sleep(0.01)
    """, limits=SandboxLimits(wall_s=6, cpu_s=20, memory_mb=512, processes=32, output_mb=16))
    assert report["kind"] == "wall_time" and report["limit"] == "6 s wall time per call"
    log = report["log_tail"]
    checked = log.index("MBENCH-SANDBOX ok")  # the launcher verified the limits in the child ...
    assert "nproc=32 " in log[checked:] and f"data={512 << 20} " in log[checked:]
    assert checked < log.index("HOSTILE fork loop starts")  # ... before the hostile code ran
    base = int(os.environ.get(UID_BASE_ENV, "612000"))
    assert base <= report["uid"] < base + 2000
    assert report["uid"] not in _uids_in_use()  # every forked process is gone, zombies included


def test_fork_bomb_hitting_the_process_limit_is_reported(hostile):
    report = hostile("""
        import os

        class Model:
            def predict(self, images):
                children = []
                while True:
                    pid = os.fork()
                    if pid == 0:
                        import time
                        time.sleep(60)
                    children.append(pid)
    """)
    assert report["kind"] == "processes" and report["limit"] == "32 processes/threads"


def test_allocating_beyond_the_memory_limit_is_stopped(hostile):
    report = hostile("""
        import numpy as np

        class Model:
            def predict(self, images):
                hog = np.ones((4 << 30,), dtype=np.uint8)  # 4 GB against a 512 MB limit
                return hog
    """)
    assert report["kind"] == "memory" and report["limit"] == "512 MB memory (data segment)"


def test_sleeping_forever_is_killed_at_the_wall_time(hostile):
    report = hostile("""
        import time

        class Model:
            def predict(self, images):
                time.sleep(10 ** 6)
    """, limits=SandboxLimits(wall_s=3, cpu_s=20, memory_mb=512, processes=32, output_mb=16))
    assert report["kind"] == "wall_time" and 3 <= report["seconds"] < 15


@pytest.mark.parametrize("body, dtype, what", [
    ("out = (images > 1).astype(np.float32); out[0, 0, 0] = np.nan; return out", "float32", "non-finite"),
    ("return np.zeros((len(images), 7, 5), np.uint8)", "uint8", "shape (7, 5)"),
    ("return (images > 1).astype(np.int64)", "uint8", "dtype int64"),
    ("return np.full(images.shape, 2, np.uint8)", "uint8", "values [2] outside the label set"),
])
def test_malformed_outputs_are_rejected_with_the_case(hostile, body, dtype, what):
    report = hostile(f"""
        import numpy as np

        class Model:
            def predict(self, images):
                {body}
    """, dtype=dtype)
    assert report["kind"] == "output" and what in report["what"]
    assert report["case"] and ":z" in report["case"]


def test_omitted_cases_are_named(hostile):
    report = hostile("""
        import numpy as np

        class Model:
            def predict(self, images):
                return (images[:-2] > 1).astype(np.uint8)
    """)
    assert report["kind"] == "output" and "2 of 9 samples have no prediction" in report["what"]
    assert report["case"] in report["found"]


def test_an_exception_is_reported_with_its_traceback(hostile):
    report = hostile("""
        import json, os

        class Model:
            def predict(self, images):
                raise RuntimeError("ENV=" + json.dumps(sorted(os.environ)))
    """)
    assert report["kind"] == "raised" and "RuntimeError" in report["what"]
    assert "model.py" in report["traceback"]
    env = json.loads(report["found"].split("ENV=", 1)[1])
    assert set(env) <= {"PATH", "HOME", "LANG", "LC_ALL", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                        "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "HF_HUB_OFFLINE", "MPLBACKEND", "MBENCH_SANDBOX",
                        "TMPDIR"}
    assert "MBENCH_TASKS_DIR" in os.environ and "MBENCH_TASKS_DIR" not in env


def test_escaping_links_and_extra_files_in_outputs_are_rejected(hostile):
    report = hostile("""
        import os
        import numpy as np

        class Model:
            def predict(self, images):
                out = os.path.join(os.environ["HOME"], "..", "outputs")
                os.symlink("/etc/passwd", os.path.join(out, "leak"))
                return (images > 1).astype(np.uint8)
    """)
    assert report["kind"] == "output" and "links or special files" in report["what"]
    assert "leak" in report["found"]
    report = hostile("""
        import os
        import numpy as np

        class Model:
            def predict(self, images):
                with open(os.path.join(os.environ["HOME"], "..", "outputs", "notes.txt"), "w") as fh:
                    fh.write("x")
                return (images > 1).astype(np.uint8)
    """, name="extra")
    assert report["kind"] == "output" and "unexpected file outputs/notes.txt" in report["what"]


def test_writing_more_than_the_output_limit_is_stopped(hostile):
    report = hostile("""
        import os

        class Model:
            def predict(self, images):
                with open(os.path.join(os.environ["HOME"], "big.bin"), "wb") as fh:
                    for _ in range(64):
                        fh.write(b"x" * (1 << 20))
    """)
    assert report["kind"] == "output_size" and report["limit"] == "16 MB of output"


def _zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return path


def _package_members(tmp_path: Path) -> dict[str, bytes]:
    folder = write_package(tmp_path / "src", PREDICT_ONES)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("evil, message", [
    ({"../evil.py": b"x"}, "points outside the package"),
    ({"/tmp/evil.py": b"x"}, "absolute path"),
    ({"ok/../../evil.py": b"x"}, "points outside the package"),
])
def test_zip_with_escaping_paths_is_refused_before_anything_is_written(tmp_path, use_tiny_tasks, results, evil,
                                                                       message):
    archive = _zip(tmp_path / "evil.zip", {**_package_members(tmp_path), **evil})
    outside = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(MbenchError, match=message):
        submit(archive, HOLDOUT, quick=True, limits=LIMITS)
    assert sorted(p.name for p in tmp_path.iterdir()) == outside
    assert not results.exists() or not list(results.iterdir())
    report = validate_submission(archive, HOLDOUT)
    assert not report.ok and report.checks[0].name == "package" and message in report.checks[0].detail


def test_zip_with_a_symlink_is_refused(tmp_path, use_tiny_tasks):
    archive = _zip(tmp_path / "link.zip", _package_members(tmp_path), links={"weights.bin": "/etc/shadow"})
    with pytest.raises(MbenchError, match="symbolic link"):
        submit(archive, HOLDOUT, quick=True, limits=LIMITS)


def test_folder_with_a_symlink_is_refused(tmp_path, use_tiny_tasks):
    folder = write_package(tmp_path / "linky", PREDICT_ONES)
    (folder / "secret").symlink_to("/etc/hostname")
    with pytest.raises(MbenchError, match="symbolic link"):
        submit(folder, HOLDOUT, quick=True, limits=LIMITS)


def test_wrong_weight_hash_is_refused_with_both_hashes(tmp_path, use_tiny_tasks, results):
    data = json.dumps({"threshold": 1.0}).encode()
    folder = write_package(tmp_path / "tampered", PREDICT_ONES, weights={"weights/w.json": data},
                           pin={"weights/w.json": "0" * 64})
    with pytest.raises(MbenchError) as err:
        submit(folder, HOLDOUT, quick=True, limits=LIMITS)
    text = str(err.value)
    assert "weights/w.json" in text and "0" * 64 in text and __import__("hashlib").sha256(data).hexdigest() in text
    assert "it was not run" in text and not results.exists()


def test_labels_are_unreadable_by_permission_even_where_visible(tmp_path):
    """Without any hiding, a root-owned 0600 file in a world-readable folder stays unreadable to the child."""
    visible = Path(tempfile.mkdtemp(prefix="mbench-test-visible-", dir="/tmp"))
    try:
        os.chmod(visible, 0o755)
        (visible / "labels.npy").write_bytes(b"secret")
        os.chmod(visible / "labels.npy", 0o600)
        (visible / "image.npy").write_bytes(b"public")
        os.chmod(visible / "image.npy", 0o644)
        package = write_package(tmp_path / "peek", f"""
            import numpy as np

            class Model:
                def predict(self, images):
                    assert open({str(visible / 'image.npy')!r}, "rb").read() == b"public"
                    open({str(visible / 'labels.npy')!r}, "rb").read()
        """)
        # hide only the home folder (where Python lives here); /tmp stays visible to the child
        with Sandbox(package, LIMITS, isolate=True, hide=[Path.home()], hide_defaults=False) as box, \
                pytest.raises(SubmissionViolation) as err:
            box.call("predict", {"images.npy": np.zeros((1, 4, 4), np.float32), "ids.json": {"ids": ["c:z0"]}},
                     {"entry": {"file": "model.py", "class": "Model"}, "params": {}, "seed": 0, "task": {}})
        assert err.value.report["kind"] == "access_denied" and "labels.npy" in err.value.report["what"]
        assert "Permission denied" in err.value.report["found"]
    finally:
        shutil.rmtree(visible)


def test_markup_in_team_and_author_names_is_escaped_on_the_leaderboard(hostile, store, use_tiny_tasks, tmp_path):
    from mbench.leaderboard import build_site

    _, results, _, _ = store
    evil = "<script>alert('team')</script>[bold red]x[/bold red]"
    folder = write_package(tmp_path / "markup", PREDICT_ONES, team=evil)
    result = submit(folder, HOLDOUT, {"run.out": str(results)}, quick=True, limits=LIMITS)
    assert result.ok and result.folder.read_record()["submission"]["team"] == evil
    config = tmp_path / "leaderboard.yaml"
    config.write_text(f"title: hostile\ntasks:\n  - id: {HOLDOUT_ID}\n")
    site = tmp_path / "site"
    build_site(results, config, site, resamples=20)
    pages = {p.relative_to(site).as_posix(): p.read_text() for p in site.rglob("*.html")}
    run_page = next(text for name, text in pages.items() if "markup" in name)
    assert "&lt;script&gt;alert(" in run_page
    for name, text in pages.items():
        assert "<script>alert" not in text, name
    shutil.rmtree(result.folder.path)  # keep the shared store as the other hostile tests expect it


def test_markup_in_team_names_is_printed_literally_by_the_cli(tmp_path, use_tiny_tasks, results, capsys):
    from mbench.cli.main import main

    folder = write_package(tmp_path / "clim", PREDICT_ONES, team="[link=http://x]click[/link] <b>")
    assert main(["submit", str(folder), f"task={HOLDOUT}", "sandbox.wall_s=60", "sandbox.memory_mb=512", "--quick",
                 "--no-progress"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "team [link=http://x]click[/link] <b>" in out


def test_concurrent_sandboxes_get_own_uids_and_cannot_see_each_other(tmp_path):
    a = write_package(tmp_path / "a", PREDICT_ONES)
    with Sandbox(a, LIMITS, isolate=True) as box_a:
        other = box_a.package_dir / "model.py"
        snoop = write_package(tmp_path / "snoop", f"""
            class Model:
                def predict(self, images):
                    open({str(other)!r}).read()
        """)
        with Sandbox(snoop, LIMITS, isolate=True) as box_b:
            assert box_a.uid != box_b.uid and box_a.session != box_b.session
            with pytest.raises(SubmissionViolation) as err:
                box_b.call("predict", {"images.npy": np.zeros((1, 4, 4), np.float32), "ids.json": {"ids": ["c:z0"]}},
                           {"entry": {"file": "model.py", "class": "Model"}, "params": {}, "seed": 0, "task": {}})
    assert err.value.report["kind"] == "access_denied" and "hidden" in err.value.report["what"]


def test_leaderboard_after_the_hostile_runs_shows_the_earlier_run_unchanged(store, use_tiny_tasks):
    root, results, _, good_run = store
    after = _run_page(results, root / "site-after", good_run)
    assert after == (root / "run-page-before.html").read_text()
    assert "sub:brats-threshold-seg@1.0.0" in after and "dice" in after.lower()
