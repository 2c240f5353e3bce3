"""``run.executor=ray``: jobs as Ray tasks on an existing cluster (``run.ray_address``) or on a local one.

Each job is one task with the resource request of :func:`~mbench.executors.resources.job_resources`
(``num_gpus``, ``num_cpus``, ``memory``) and ``max_retries`` (``run.max_retries``): a task lost with its node
or worker process is rerun elsewhere, and since every job is deterministic given its seeds, the rerun gives
the same result. Workers send progress events through a Ray queue actor to the driver's display. Workers
must see the same file system as the driver (task cards, data, caches); the driver's ``MBENCH_*``
variables are passed to them.

Start a cluster by hand (one head, then one line per further machine)::

    ray start --head --node-ip-address=<head ip> --port=6379 --include-dashboard=false
    ray start --address=<head ip>:6379
    mbench run -m task=brats model=random,vaal,mvaal run.seed=0,1,2 run.executor=ray run.ray_address=<head ip>:6379
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable
from typing import Any

from mbench.config.execution import ExecutionOptions
from mbench.errors import MbenchError
from mbench.executors.backend import Backend, Outcome, import_engine
from mbench.executors.resources import job_resources
from mbench.executors.work import WorkItem, run_work_item, worker_environment

__all__ = ["RayBackend"]

log = logging.getLogger(__name__)

# a local cluster binds to this address: with 127.0.0.1 Ray swaps in the machine's network address
LOCAL_NODE_IP = "127.0.0.2"


def _run_on_worker(item: WorkItem, progress: Any) -> dict[str, Any]:
    """The body of every Ray task: run the job, sending progress to the driver's queue."""

    def emit(event: tuple) -> None:
        try:
            progress.put_nowait(event)
        except Exception as exc:  # noqa: BLE001 - a lost progress event must never fail the job
            log.debug("progress event lost: %s", exc)

    return run_work_item(item, emit)


class RayBackend(Backend):
    """Runs jobs as Ray tasks (see the module docstring)."""

    name = "ray"

    def __init__(self, options: ExecutionOptions) -> None:
        self.options = options
        self._owns_ray = False

    def start(self, sink) -> None:
        super().start(sink)
        ray = self._ray = import_engine("ray", "ray", "ray[default]")
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            address = self.options.ray_address
            kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
            if address:
                host = address.split("://")[-1].rsplit(":", 1)[0]
                if host.startswith("127."):  # a cluster on this machine: the driver joins on that address
                    kwargs["_node_ip_address"] = host
                ray.init(address=address, **kwargs)
            else:
                ray.init(_node_ip_address=LOCAL_NODE_IP, include_dashboard=False, **kwargs)
            self._owns_ray = True
        from ray.util.queue import Queue

        self._gpus = ray.cluster_resources().get("GPU", 0) > 0
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        # on the driver's node (hard: a soft affinity may land on a worker node, and die with it)
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        self._queue = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": here})  # beside the driver
        self._task = ray.remote(_run_on_worker)
        self._env = {"env_vars": worker_environment()}

    def _options(self, item: WorkItem) -> dict[str, Any]:
        res = job_resources(item.config, self._gpus)
        if res.gpus and not self._gpus:
            raise MbenchError(f"job {item.tag} requests {res.gpus} GPU but the Ray cluster has none",
                              fix="set run.device=cpu, or add GPU nodes to the cluster")
        opts: dict[str, Any] = {"num_cpus": res.cpus, "num_gpus": res.gpus, "max_retries": self.options.max_retries,
                                "retry_exceptions": False, "runtime_env": self._env,
                                "name": f"mbench:{item.tag}"}
        if res.memory_gb is not None:
            opts["memory"] = int(res.memory_gb * 1024 ** 3)
        return opts

    def submit(self, items: list[WorkItem]) -> list[Hashable]:
        return [self._task.options(**self._options(item)).remote(item, self._queue) for item in items]

    def _relay(self) -> None:
        try:
            events = self._queue.get_nowait_batch(self._queue.qsize())
        except Exception as exc:  # noqa: BLE001 - the queue actor is gone: progress stops, results still arrive
            log.debug("no progress events: %s", exc)
            return
        for event in events:
            self.sink(event)

    def wait(self, handles: list[Hashable], timeout: float) -> list[Outcome]:
        ray = self._ray
        ready, _ = ray.wait(handles, num_returns=len(handles), timeout=timeout, fetch_local=False)
        self._relay()
        out: list[Outcome] = []
        for ref in ready:
            try:
                out.append((ref, ray.get(ref)))
            except ray.exceptions.RayTaskError as exc:  # the job itself raised: report its own error
                out.append((ref, getattr(exc, "cause", None) or exc))
            except ray.exceptions.RayError as exc:  # lost with its node more often than max_retries
                out.append((ref, MbenchError(f"a job was lost on the Ray cluster: {exc}",
                                             fix=f"retried {self.options.max_retries} times; check the cluster, "
                                                 "or raise run.max_retries")))
        return out

    def close(self) -> None:
        ray = getattr(self, "_ray", None)
        if ray is None or not ray.is_initialized():
            return
        try:
            self._queue.shutdown()
        except Exception as exc:  # noqa: BLE001 - already gone with its node
            log.debug("queue shutdown: %s", exc)
        if self._owns_ray:
            ray.shutdown()

    def describe(self) -> dict[str, Any]:
        ray = self._ray
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        return {"executor": self.name, "address": self.options.ray_address or "local cluster",
                "ray": ray.__version__, "nodes": len(nodes),
                "resources": {k: v for k, v in ray.cluster_resources().items() if k in ("CPU", "GPU", "memory")}}
