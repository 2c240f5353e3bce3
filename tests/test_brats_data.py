"""The synthetic BraTS stand-in and the BraTS 2018 adapter that reads it (and the real layout)."""

from __future__ import annotations

import numpy as np
import pytest

from mbench.data.adapters.brats2018 import BraTS2018Adapter
from mbench.data.slices import clip_and_scale, extract_slices
from mbench.data.synthetic.brats2018 import generate_brats2018
from mbench.errors import MbenchError
from mbench.tasks.targets import make_targets


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    root = tmp_path_factory.mktemp("brats")
    ids = generate_brats2018(root, n_patients=4, shape=(64, 64, 16), seed=11)
    return root, ids


def test_generator_writes_the_official_layout(standin):
    root, ids = standin
    for case in ids:
        names = sorted(p.name for p in (root / "HGG" / case).iterdir())
        assert names == sorted(f"{case}_{m}.nii.gz" for m in ("flair", "t1", "t1ce", "t2", "seg"))


def test_generator_is_deterministic(tmp_path):
    import nibabel as nib

    a, b = tmp_path / "a", tmp_path / "b"
    generate_brats2018(a, n_patients=2, shape=(32, 32, 8), seed=5)
    generate_brats2018(b, n_patients=2, shape=(32, 32, 8), seed=5)
    for f in sorted((a / "HGG").rglob("*.nii.gz")):
        other = b / f.relative_to(a)
        assert np.array_equal(np.asanyarray(nib.load(f).dataobj), np.asanyarray(nib.load(other).dataobj))


def test_adapter_reads_the_standin(standin):
    root, ids = standin
    adapter = BraTS2018Adapter(root, modalities=["t1ce", "flair", "t1", "t2"])
    assert adapter.case_ids() == ids
    images, seg = adapter.load_input(ids[0]), adapter.load_reference(ids[0])
    assert set(images) == {"t1ce", "flair", "t1", "t2"} and seg.shape == (64, 64, 16)
    assert set(np.unique(seg)) <= {0, 1, 2, 4} and {2, 4} <= set(np.unique(seg))
    assert adapter.spacing(ids[0]) == pytest.approx((1.875, 1.875, 3.875))
    assert adapter.groups()[ids[0]] == ids[0]
    assert len(adapter.data_hash(ids)) == 64


def test_standin_has_brats_like_contrast(standin):
    """Oedema bright in FLAIR, an enhancing rim bright in T1ce, a dark necrotic core in T1ce."""
    root, ids = standin
    adapter = BraTS2018Adapter(root, modalities=["t1ce", "flair"])
    for case in ids:
        img, seg = adapter.load_input(case), adapter.load_reference(case)
        brain = (img["flair"] > 0) & (seg == 0)
        assert img["flair"][seg == 2].mean() > 1.3 * img["flair"][brain].mean()
        assert img["t1ce"][seg == 4].mean() > 1.3 * img["t1ce"][seg == 2].mean()
        if (seg == 1).any():
            assert img["t1ce"][seg == 1].mean() < img["t1ce"][seg == 4].mean() / 2


def test_tumours_vary_in_size_and_position(tmp_path):
    generate_brats2018(tmp_path, n_patients=6, shape=(48, 48, 12), seed=1)
    adapter = BraTS2018Adapter(tmp_path)
    sizes, centres = [], []
    for case in adapter.case_ids():
        seg = adapter.load_reference(case) > 0
        sizes.append(seg.sum())
        centres.append(np.argwhere(seg).mean(axis=0))
    assert max(sizes) > 1.5 * min(sizes)
    assert np.ptp(np.asarray(centres), axis=0).max() > 4


def test_slice_filter_and_targets(standin):
    root, ids = standin
    adapter = BraTS2018Adapter(root)
    slices = extract_slices(adapter, ids, main="t1ce", aux="flair", min_pixels=300, percentiles=(1, 99),
                            region="nonzero")
    assert len(slices) > 0 and slices.aux.shape == slices.images.shape
    assert ((slices.labelmaps > 0).sum(axis=(1, 2)) >= 300).all()
    assert 0 <= slices.images.min() and slices.images.max() <= 1
    wt = make_targets("whole_tumour", slices.labelmaps, {"NCR": 1, "ED": 2, "ET": 4})
    assert np.array_equal(wt, slices.labelmaps > 0)
    presence = make_targets("label_presence", slices.labelmaps, {"ET": 4, "ED": 2, "NCR": 1})
    assert presence.shape == (len(slices), 3)
    assert np.array_equal(presence[:, 0], (slices.labelmaps == 4).any(axis=(1, 2)))
    all_slices = extract_slices(adapter, ids, main="t1ce", aux=None, min_pixels=0, percentiles=(1, 99),
                                region="nonzero")
    assert len(all_slices) == 4 * 16 and all_slices.aux is None


def test_clip_and_scale_uses_nonzero_percentiles():
    vol = np.zeros((10, 10))
    vol[2:8, 2:8] = np.linspace(100, 200, 36).reshape(6, 6)
    out = clip_and_scale(vol, (0, 100))
    assert out[0, 0] == 0 and out[2, 2] == 0 and out[7, 7] == pytest.approx(1)


def test_adapter_errors_say_what_to_fix(tmp_path):
    with pytest.raises(MbenchError, match="BraTS data folder not found"):
        BraTS2018Adapter(tmp_path / "missing")
    (tmp_path / "HGG" / "x").mkdir(parents=True)
    with pytest.raises(MbenchError, match="no BraTS cases"):
        BraTS2018Adapter(tmp_path)


def test_adapter_reads_a_flat_folder_of_cases(standin):
    root, ids = standin
    assert BraTS2018Adapter(root / "HGG").case_ids() == ids


def test_real_layout_with_the_real_split_manifest(tmp_path, capsys):
    """The real path end to end: data.root with the 210 BraTS 2018 HGG ids passes the pinned real split."""
    from mbench.cli.main import main
    from mbench.config.resolve import resolve_run_config
    from mbench.paths import tasks_dir
    from mbench.tasks.task import Task

    ids = (tasks_dir() / "brats18" / "splits" / "brats18_hgg_case_ids.txt").read_text().split()
    root = tmp_path / "MICCAI_BraTS_2018_Data_Training"
    generate_brats2018(root, shape=(16, 16, 4), case_ids=ids, seed=1)
    config = resolve_run_config("brats", "mvaal", {"data.root": str(root)})
    assert config.official
    task = Task(config.task, config.card_folder)
    assert task.data_source == "real"
    assert {k: len(v) for k, v in task.split.splits.items()} == {"train": 135, "val": 33, "test": 42}
    assert main(["validate", "task=brats", f"data.root={root}"]) == 0
    assert "real at" in capsys.readouterr().out
    # one patient missing from the release: a clear error, not a silently smaller test set
    import shutil

    shutil.rmtree(root / "HGG" / task.split.ids("test")[0])
    assert main(["validate", "task=brats", f"data.root={root}"]) == 2
    assert "1 case(s) of the split manifest are missing" in capsys.readouterr().out
