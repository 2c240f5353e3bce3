"""The volumetric view of a task: a lazy :class:`~mbench.data.volumes.VolumeSource` per split of the manifest.

Example:
    >>> from mbench.tasks import load_task
    >>> from mbench.tasks.task import Task
    >>> card = load_task("svd-wmh-stroke")
    >>> source = split_volumes(Task(card.spec, card.folder), "test")
    >>> source.load(source.ids[0]).image.ndim
    4
"""

from __future__ import annotations

from mbench.data.volumes import VolumeSource
from mbench.errors import MbenchError
from mbench.paths import cache_dir
from mbench.tasks.task import Task

__all__ = ["class_names", "split_volumes"]


def class_names(task: Task) -> list[str]:
    """Class index -> name: ``background`` then the card's labels in card order (the model's output channels)."""
    return ["background", *task.spec.labels]


def split_volumes(task: Task, split: str) -> VolumeSource:
    """The cases of one manifest split as a :class:`VolumeSource` (``--limit`` keeps a seeded subset of cases).

    Preprocessed cases are cached under ``<cache>/volumes/<key>`` (key: data folder, adapter and the card's
    volume preprocessing), so training reads memory-mapped arrays instead of decompressing NIfTI files.
    """
    spec = task.spec
    if spec.volume is None:
        raise MbenchError(f"task {spec.id} has no volume block", expected="volume: {channels: [...]}",
                          fix="add a volume block to the card (volumetric protocols need it)")
    ids = task.split_ids(split)
    key = VolumeSource.cache_key(str(task.data_root.resolve()), adapter=spec.data.adapter, params=spec.data.params,
                                 channels=spec.volume.channels, labels=spec.labels,
                                 normalise=spec.preprocessing.normalise, spacing=spec.volume.target_spacing)
    return VolumeSource(task.adapter, ids, channels=spec.volume.channels, labels=spec.labels,
                        normalise=spec.preprocessing.normalise, target_spacing=spec.volume.target_spacing,
                        cache=cache_dir() / "volumes" / key)
