"""Executors against real engines: the local process pool, a real multi-node Ray cluster (with a worker node
killed mid-sweep), a crashed and resumed driver, and submitit's local executor (and real SLURM where
``sbatch`` exists). Every executor must give per-case scores identical to the serial local executor.

The Ray cluster is one head (127.0.0.2, no CPUs for jobs: it holds the driver's progress queue) and one worker
node (127.0.0.3, two CPUs), each a separate raylet process, shared by this module; the tests stop their own
nodes by process, never with ``ray stop``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.config.sweep import expand_sweep
from mbench.errors import MbenchError
from mbench.runner import execute_sweep

pytest.importorskip("torch")  # the tiny active-learning task trains a (tiny) U-Net learner

MODELS = ["random", "vaal", "mvaal"]
NODE_IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


@pytest.fixture(scope="module")
def env(tiny_tasks, tmp_path_factory):
    """Module-wide: the tiny task family and a results root (workers inherit these through MBENCH_*)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MBENCH_TASKS_DIR", str(tiny_tasks))
        root = tmp_path_factory.mktemp("executors")
        mp.setenv("MBENCH_RESULTS", str(root / "results"))
        yield root


@pytest.fixture(scope="module")
def reference(env):
    """Per-case scores of the serial local executor for the runs of random and vaal (both seeds), by run id."""
    return _by_run(execute_sweep(_configs(env / "reference", models=("random", "vaal"))))


def _configs(out: Path, models=("random",), seeds=(None,), **overrides):
    configs = []
    for model in models:
        for seed in seeds:
            extra = {"models": MODELS, "run.out": str(out), **overrides}
            if seed is not None:
                extra["run.seed"] = seed
            configs.append(resolve_run_config("tiny-brats", model, extra, quick=True))
    return configs


def _rows(folder) -> list[dict]:
    return sorted(folder.read_scores(), key=lambda r: (r["seed"], r["round"], r["case"], r["region"], r["metric"]))


def _by_run(folders) -> dict[str, list[dict]]:
    return {f.run_id: _rows(f) for f in folders}


class CountingObserver:
    """Records every event (job executions are counted by their ``job_started`` events)."""

    def __init__(self, on_start=None) -> None:
        self.started: list[str] = []
        self.progress: list[tuple] = []
        self.finished: list[tuple[str, bool]] = []
        self.on_start = on_start

    def job_started(self, job, stages):
        self.started.append(job.key)
        if self.on_start:
            self.on_start(self, job)

    def job_progress(self, job, stage, completed, total):
        self.progress.append((job.key, stage, completed, total))

    def job_finished(self, job, skipped):
        self.finished.append((job.key, skipped))


# ---------------------------------------------------------------- configuration, sweeps, local executor

def test_executor_options_do_not_change_the_run():
    base = resolve_run_config("brats", "mvaal")
    for extra in ({"run.executor": "ray", "run.ray_address": "10.0.0.1:6379", "run.gpus_per_job": 0.5},
                  {"run.executor": "slurm", "run.slurm_partition": "gpu", "run.slurm_time": 120, "run.mem_per_job": 16},
                  {"run.workers": 4}):
        other = resolve_run_config("brats", "mvaal", extra)
        assert (other.hash, other.run_id, other.official) == (base.hash, base.run_id, True)
        assert other.resolved() == base.resolved()
    with pytest.raises(MbenchError, match="did you mean 'slurm'"):
        resolve_run_config("brats", "mvaal", {"run.executor": "slurn"})
    with pytest.raises(MbenchError, match="run.workers applies to the local executor only"):
        resolve_run_config("brats", "mvaal", {"run.executor": "ray", "run.workers": 2})
    with pytest.raises(MbenchError, match="non-negative number"):
        resolve_run_config("brats", "mvaal", {"run.gpus_per_job": -1})


def test_every_executor_runs_a_job_with_the_same_torch_threads():
    """Reductions depend on the thread count: a job runs with run.threads (default 1) wherever it runs."""
    torch = pytest.importorskip("torch")
    from mbench.executors.work import torch_threads

    assert resolve_run_config("brats", "mvaal").run.execution.job_threads == 1
    assert resolve_run_config("brats", "mvaal", {"run.cpus_per_job": 4}).run.execution.job_threads == 4
    assert resolve_run_config("brats", "mvaal", {"run.threads": 2}).run.execution.job_threads == 2
    with pytest.raises(MbenchError, match="run.threads must be a positive integer"):
        resolve_run_config("brats", "mvaal", {"run.threads": 0})
    before = torch.get_num_threads()
    with torch_threads(3):
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


def test_run_seed_selects_one_protocol_seed():
    one = resolve_run_config("brats", "mvaal", {"run.seed": 2})
    assert one.task.protocol.seeds == [2] and not one.official
    assert one.unofficial_reasons == ("run.seed=2 (card seeds: [0, 1, 2])",)
    assert one.run_id != resolve_run_config("brats", "mvaal", {"run.seed": 1}).run_id
    with pytest.raises(MbenchError, match="run.seed must be an integer"):
        resolve_run_config("brats", "mvaal", {"run.seed": "a"})


def test_sweep_expands_the_cartesian_product():
    runs = expand_sweep(["task=brats", "model=random,vaal,mvaal", "run.seed=0,1,2", "protocol.seeds=[0,1]"])
    assert len(runs) == 9 and runs[0] == ["task=brats", "model=random", "run.seed=0", "protocol.seeds=[0,1]"]
    assert runs[-1] == ["task=brats", "model=mvaal", "run.seed=2", "protocol.seeds=[0,1]"]
    with pytest.raises(MbenchError, match="empty value"):
        expand_sweep(["model=vaal,"])


def test_one_seed_runs_reproduce_the_seeds_of_a_full_run(env):
    """run.seed=k gives exactly the per-case results of seed k in a run of all seeds."""
    (full,) = execute_sweep(_configs(env / "full"))
    singles = execute_sweep(_configs(env / "single", seeds=(0, 1)))
    assert len(singles) == 2 and len({f.run_id for f in singles}) == 2
    drop = lambda rows: [{k: v for k, v in r.items() if k != "run"} for r in rows]
    for seed, folder in zip(("0", "1"), singles):
        assert drop(_rows(folder)) == drop([r for r in _rows(full) if r["seed"] == seed])


@pytest.mark.slow
def test_process_pool_equals_serial(env, reference):
    observer = CountingObserver()
    pooled = execute_sweep(_configs(env / "pool", **{"run.workers": 2}), observer)
    assert _by_run(pooled) == {k: v for k, v in reference.items() if k == pooled[0].run_id}
    assert sorted(observer.started) == sorted(k for k, skipped in observer.finished if not skipped)
    assert len(observer.started) == 6 and observer.progress  # progress came back from the worker processes
    record = pooled[0].read_record()
    assert record["status"] == "complete" and record["executor"] == {"executor": "local", "workers": 2}
    assert pooled[0].run_id in reference  # same run id (config hash) as the serial run


def test_a_failing_job_stops_the_sweep_but_keeps_finished_runs(env):
    good = _configs(env / "fail")
    bad = _configs(env / "fail", **{"protocol.initial_size": 10_000})  # more than the pool: round 0 fails
    with pytest.raises(MbenchError, match="exceeds the training pool"):
        execute_sweep(good + bad)
    store = good[0].run.out
    assert json.loads((store / good[0].run_id / "run.json").read_text())["status"] == "complete"
    assert json.loads((store / bad[0].run_id / "run.json").read_text())["status"] == "failed"


# ---------------------------------------------------------------- a real Ray cluster: head + worker node

@pytest.fixture(scope="module")
def ray_cluster(env):
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    cluster = Cluster(initialize_head=True, head_node_args={"node_ip_address": NODE_IPS[0], "num_cpus": 0,
                                                           "include_dashboard": False})
    worker = cluster.add_node(node_ip_address=NODE_IPS[1], num_cpus=2)
    cluster.wait_for_nodes()
    cluster.worker = worker
    yield cluster
    import ray

    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()  # kills this cluster's own node processes only


def _ray(cluster, **extra):
    return {"run.executor": "ray", "run.ray_address": cluster.address, **extra}


@pytest.mark.slow
def test_ray_sweep_on_a_two_node_cluster_equals_local(env, ray_cluster, reference):
    observer = CountingObserver()
    remote = execute_sweep(_configs(env / "ray", models=("random", "vaal"), **_ray(ray_cluster)), observer)
    assert _by_run(remote) == reference
    assert len(observer.started) == 12 and len({k for k, _ in observer.finished}) == 12
    assert all("/" in k for k in observer.started)  # sweep jobs are shown per run
    assert {k for k, *_ in observer.progress} and {s for _, s, *_ in observer.progress} >= {"train unet"}
    hosts = {json.loads(p.read_text())["job"]["pid"] for f in remote for p in (f.path / "jobs").glob("*.json")}
    assert len(hosts) >= 2  # the jobs ran in several worker processes at once
    record = remote[0].read_record()
    assert record["executor"]["executor"] == "ray" and record["executor"]["nodes"] == 2


_DRIVER = textwrap.dedent("""
    import sys
    from mbench.config.resolve import resolve_run_config
    from mbench.runner import execute_sweep
    out, address = sys.argv[1], sys.argv[2]
    configs = [resolve_run_config("tiny-brats", m, {"models": %r, "run.out": out, "run.executor": "ray",
                                                    "run.ray_address": address}, quick=True)
               for m in ("random", "vaal")]
    execute_sweep(configs)
""").replace("%r", repr(MODELS))


@pytest.mark.slow
def test_driver_crash_then_resume_redoes_no_finished_job(env, ray_cluster, reference):
    out = env / "crash"
    configs = _configs(out, models=("random", "vaal"), **_ray(ray_cluster))
    jobs = [out / c.run_id / "jobs" for c in configs]
    driver = subprocess.Popen([sys.executable, "-c", _DRIVER, str(out), ray_cluster.address], env=os.environ.copy(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while sum(len(list(j.glob("*.json"))) for j in jobs if j.exists()) < 3:
            assert driver.poll() is None, "the driver ended before it could be killed"
            assert time.monotonic() < deadline, "no job finished within 120 s"
            time.sleep(0.2)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver's own process group: no cleanup, like a crash
        driver.wait()
    done = {p: p.stat().st_mtime_ns for j in jobs for p in j.glob("*.json")}
    assert 3 <= len(done) < 12
    for c in configs:
        assert json.loads((out / c.run_id / "run.json").read_text())["status"] == "running"
    observer = CountingObserver()
    folders = execute_sweep(configs, observer)
    assert len(observer.started) == 12 - len(done)  # only the unfinished jobs ran again
    assert sum(skipped for _, skipped in observer.finished) == len(done)
    assert {p: p.stat().st_mtime_ns for p in done} == done  # finished results were not written again
    assert all(f.read_record()["status"] == "complete" and f.read_record()["resumed"] for f in folders)
    assert _by_run(folders) == reference


@pytest.mark.slow
def test_sweep_survives_a_killed_worker_node(env, ray_cluster, reference):
    """The worker node dies as soon as its first job started; a new node joins and the lost jobs rerun there."""
    import ray

    killed: list[str] = []

    def kill_worker_node_mid_job(obs: CountingObserver, job) -> None:
        if not killed:  # the worker node is the only one with CPUs: the job that just started runs there
            ray_cluster.remove_node(ray_cluster.worker, allow_graceful=False)
            killed.append(job.key)
            ray_cluster.worker = ray_cluster.add_node(node_ip_address=NODE_IPS[2], num_cpus=2)

    observer = CountingObserver(on_start=kill_worker_node_mid_job)
    remote = execute_sweep(_configs(env / "kill", **_ray(ray_cluster)), observer)
    assert killed and observer.started.count(killed[0]) == 2  # the job running on the killed node ran again
    assert len([k for k, skipped in observer.finished if not skipped]) == 6  # ... and was stored once
    assert _by_run(remote) == {k: v for k, v in reference.items() if k == remote[0].run_id}
    ray.init(address=ray_cluster.address, _node_ip_address=NODE_IPS[0])
    try:
        alive = {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]}
        assert alive == {NODE_IPS[0], NODE_IPS[2]}
    finally:
        ray.shutdown()


# ---------------------------------------------------------------- SLURM through submitit

class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.slow
def test_submitit_local_executor_equals_local(env, reference):
    pytest.importorskip("submitit")
    observer = CountingObserver()
    logger, handler = logging.getLogger("mbench.executors.slurm"), _Messages()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        remote = execute_sweep(_configs(env / "sub", **{"run.executor": "slurm", "run.slurm_cluster": "local",
                                                        "run.slurm_folder": str(env / "submitit")}), observer)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert _by_run(remote) == {k: v for k, v in reference.items() if k == remote[0].run_id}
    arrays = [m for m in handler.messages if m.startswith("submitted array job")]
    # the first wave (round 0 of both seeds) is one array; later jobs go out as they become ready
    assert ": 2 jobs" in arrays[0] and sum(int(re.search(r": (\d+) jobs", a)[1]) for a in arrays) == 6
    assert len(observer.started) == 6
    assert remote[0].read_record()["executor"]["cluster"] == "local"


def _slurm_running() -> bool:
    if shutil.which("sbatch") is None:
        return False
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], check=False, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(s.strip() in ("idle", "mixed", "allocated") for s in states.splitlines())


@pytest.mark.slow
@pytest.mark.skipif(not _slurm_running(), reason="no SLURM cluster here (.ci/slurm-setup.sh starts a one-node one)")
def test_real_slurm_cluster_equals_local(env, reference):
    pytest.importorskip("submitit")
    observer = CountingObserver()
    remote = execute_sweep(_configs(env / "slurm", **{"run.executor": "slurm", "run.slurm_time": 10,
                                                      "run.slurm_folder": str(env / "slurm-jobs")}), observer)
    assert _by_run(remote) == {k: v for k, v in reference.items() if k == remote[0].run_id}
    assert len(observer.started) == 6  # progress files of the SLURM tasks reached the driver
    assert any("_" in p.name for p in (env / "slurm-jobs").iterdir())  # array tasks' folders: <array id>_<task>
    assert remote[0].read_record()["executor"]["cluster"] == "slurm"


def test_slurm_without_slurm_is_a_clear_error(env, monkeypatch):
    pytest.importorskip("submitit")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MbenchError, match="SLURM is not installed here"):
        execute_sweep(_configs(env / "no-slurm", **{"run.executor": "slurm"}))


# ---------------------------------------------------------------- command line

def test_cli_multirun_dry_run_shows_runs_and_executor(capsys):
    assert main(["run", "-m", "task=tiny-brats", "model=random,vaal,mvaal", "run.seed=0,1,2", "run.executor=ray",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "sweep of 9 runs" in out and out.count("run id:") == 9 and "executor:    ray" in out
    assert main(["run", "task=tiny-brats", "model=random,vaal"]) == 2
    assert "add -m" in capsys.readouterr().out


@pytest.mark.slow
def test_cli_sweep_on_ray_shows_progress(env, ray_cluster, capsys, monkeypatch):
    from mbench.cli.display import RichRunObserver

    out, bars, steps = env / "cli", [], []
    stop, progress = RichRunObserver.__exit__, RichRunObserver.job_progress
    monkeypatch.setattr(RichRunObserver, "__exit__", lambda self, *exc: (
        bars.extend((t.description, t.fields["stage"], t.completed) for t in self.progress.tasks), stop(self, *exc))[1])
    monkeypatch.setattr(RichRunObserver, "job_progress", lambda self, *a: (steps.append(a), progress(self, *a))[1])
    assert main(["run", "-m", "task=tiny-brats", "model=random,vaal", f"models={MODELS}", "run.executor=ray",
                 f"run.ray_address={ray_cluster.address}", f"run.out={out}", "--quick"]) == 0
    assert capsys.readouterr().out.count("results: ") == 2
    assert ("all jobs", "", 12) in bars and steps  # progress of the Ray workers reached the display
    jobs = [b for b in bars if b[0] != "all jobs" and not b[0].startswith("loading")]
    assert len(jobs) == 12 and all(stage == "done" for _, stage, _ in jobs)
    assert {b[0].split(" [")[0] for b in jobs} == {"random", "vaal"}
