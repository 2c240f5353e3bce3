"""Skin chromophores by source separation (paper 18, MED-NODE): card, adapter, optical density, SCA + NMF
initialisations, Otsu, criteria, separation statistics against scipy / scikit-learn / skimage, and a quick run."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.data.split import SplitManifest, write_manifest
from mbench.errors import MbenchError
from mbench.models.baselines.chromophores import (
    M_EMPIRICAL,
    ChromophoreSeparator,
    criteria,
    nmf_als,
    normalise_and_match,
    optical_density,
    otsu_threshold,
    sca_mixing,
)
from mbench.tasks import load_task

REPO = Path(__file__).resolve().parents[1]
REF = M_EMPIRICAL / M_EMPIRICAL[0]


def _exact_mixture(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free optical density (3, N) of a stand-in photograph's true concentrations, column-major."""
    from mbench.data.synthetic.mednode import render_skin

    _, c = render_skin(np.random.default_rng(seed), 64, 72, melanoma=True)
    c = np.stack([ci.ravel(order="F") for ci in c])
    return M_EMPIRICAL @ c, c


def test_card_validates_and_pins_its_split():
    card = load_task("mednode-bss")
    spec = card.spec
    for ref in (spec.data.split, spec.data.standin.split):
        assert SplitManifest.load(card.folder / ref.file, ref.sha256).split_names() == ["all"] == spec.split_names()
    assert spec.reference_results and all(r.source for r in spec.reference_results)
    assert resolve_run_config("mednode-bss", "nmf_sca").official
    assert not resolve_run_config("mednode-bss", "nmf_random", quick=True).official


def test_adapter_reads_the_standin_in_the_release_layout(tmp_path):
    from mbench.data.adapters.mednode import MedNodeAdapter
    from mbench.data.synthetic.mednode import generate_mednode

    ids = generate_mednode(tmp_path, n_melanoma=2, n_naevus=3, size=40, seed=0)
    for root in (tmp_path, tmp_path / "complete_mednode_dataset"):
        adapter = MedNodeAdapter(root)
        assert adapter.case_ids() == ids == ["melanoma_1", "melanoma_2", "naevus_1", "naevus_2", "naevus_3"]
        assert [int(adapter.load_reference(c)) for c in ids] == [1, 1, 0, 0, 0]
        image = adapter.load_input("naevus_2")["image"]
        assert image.dtype == np.uint8 and image.shape[2] == 3 and min(image.shape[:2]) >= 40
    with pytest.raises(MbenchError, match="no MED-NODE layout"):
        MedNodeAdapter(tmp_path / "complete_mednode_dataset" / "melanoma")


def test_optical_density_band_order_and_column_major_vectorisation():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 255, 100, 20  # R, G, B
    rgb[1, 0] = (255, 255, 255)
    x = optical_density(rgb)
    assert x.shape == (3, 6)
    assert x[:, 0] == pytest.approx([-np.log(20 / 255), -np.log(100 / 255), 0.0])  # B, G, R
    assert np.allclose(x[:, 1], 0) and not np.allclose(x[:, 2], 0)  # column-major: pixel (1, 0) is second
    assert optical_density(np.zeros((1, 1, 3), np.uint8)).max() == pytest.approx(np.log(255))  # floored, finite


def test_sca_recovers_the_mixing_columns_and_als_keeps_them_while_random_init_does_not():
    x, _ = _exact_mixture()
    a_sca, _, _ = normalise_and_match(sca_mixing(x), np.ones((3, x.shape[1])))
    assert a_sca == pytest.approx(REF, rel=1e-6)  # single-source zones give the exact normalised columns
    a, s = nmf_als(x, sca_mixing(x))
    a, s, _ = normalise_and_match(a, s)
    assert a == pytest.approx(REF, rel=1e-4) and np.abs(x - a @ s).max() < 1e-6
    errors = []
    for seed in range(3):  # the paper's non-uniqueness: random starts fit X as well, with other matrices
        a_r, s_r = nmf_als(x, np.random.default_rng(seed).uniform(0, 1, (3, 3)), max_iter=500)
        a_r, s_r, _ = normalise_and_match(a_r, s_r)
        errors.append(float(np.abs(a_r - REF).max()))
        assert (s_r >= 0).all() and (a_r >= 0).all()
    assert max(errors) > 0.05


def test_sklearn_custom_init_and_separator_variants(monkeypatch):
    from sklearn.decomposition import NMF

    x, _ = _exact_mixture(3)
    rgb = (np.exp(-np.stack([x[i].reshape(64, 72, order="F") for i in (2, 1, 0)], axis=-1)) * 255).round()
    rgb = rgb.clip(0, 255).astype(np.uint8)
    inits = []
    original = NMF.fit_transform
    monkeypatch.setattr(NMF, "fit_transform", lambda self, X, W=None, H=None: (inits.append(
        (self.init, None if H is None else H.copy())), original(self, X, W=W, H=H))[1])
    results = {}
    for name, sep in (("sca", ChromophoreSeparator()), ("sklearn", ChromophoreSeparator(solver="sklearn")),
                      ("random", ChromophoreSeparator(init="random")), ("inverse", ChromophoreSeparator("inverse"))):
        out = sep.separate(rgb, seed=0)
        assert out["mixing"].shape == (3, 3) and out["sources"].shape == (3, 64 * 72)
        assert set(out["criteria"]) == {"C_oxy", "C_deoxy", "C_melanin", "B_blue", "B_green", "B_red"}
        assert (out["mixing"] >= 0).all() or name == "inverse"
        results[name] = out
    (init, h0), = inits  # only the sklearn solver calls scikit-learn, with the SCA matrix as its custom start
    assert init == "custom" and h0.T / h0.T[0] == pytest.approx(results["sca"]["mixing"], abs=0.05)
    assert results["sca"]["mixing"] == pytest.approx(REF, abs=0.1)  # 8-bit quantisation only
    assert results["inverse"]["mixing"] == pytest.approx(REF)
    assert np.abs(results["random"]["mixing"] - REF).max() > np.abs(results["sca"]["mixing"] - REF).max()
    with pytest.raises(MbenchError, match="unknown separation method"):
        ChromophoreSeparator(init="kmeans")


def test_otsu_matches_skimage():
    skimage_filters = pytest.importorskip("skimage.filters")
    rng = np.random.default_rng(0)
    for _ in range(10):
        v = np.r_[rng.normal(60, 10, 500), rng.normal(170, 20, 300)]
        assert otsu_threshold(v) == pytest.approx(skimage_filters.threshold_otsu(v, nbins=256))
    assert otsu_threshold(np.full(5, 3.0)) == 3.0


def test_criteria_by_hand():
    a = np.array([[1.0, 1.0, 1.0], [2.0, 4.0, 1.0], [0.5, 1.0, 1.0]])
    s = np.array([[1.0, 3.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [1.0, 1.0, 1.0, 5.0]])
    x = a @ s
    region = np.array([[True, True], [False, False]])  # pixels 0 and 2 in column-major order
    out = criteria(a, s, x, region)
    assert out["C_oxy"] == pytest.approx(3.5 * 0.5) and out["C_deoxy"] == pytest.approx(6.0 * 1.0)
    assert out["C_melanin"] == pytest.approx(3.0) and out["B_green"] == pytest.approx((x[1, 0] + x[1, 2]) / 2)


def test_separation_statistics_match_scipy_and_sklearn():
    from mbench.metrics import get_metric
    from scipy.stats import mannwhitneyu
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    for n in (4, 9, 25, 80):
        for _ in range(10):
            y = rng.integers(0, 2, n)
            if y.min() == y.max():
                continue
            s = rng.integers(0, 6, n).astype(float) if n < 30 else rng.normal(size=n) + y
            ref = mannwhitneyu(s[y == 1], s[y == 0], alternative="two-sided")
            u = get_metric("mannwhitney_u").fn(s, y)
            assert u == pytest.approx(ref.statistic)
            assert get_metric("mannwhitney_p").fn(s, y) == pytest.approx(ref.pvalue)
            assert u / ((y == 1).sum() * (y == 0).sum()) == pytest.approx(roc_auc_score(y, s))
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert get_metric("iqr_overlap").fn(np.array([1, 2, 3, 9, 2.5, 3, 7, 8.0]), y) == 1.0  # [1.75, 4.5] / [2.875, 7.25]
    assert get_metric("iqr_overlap").fn(np.array([1, 2, 3, 4, 5, 6, 7, 8.0]), y) == 0.0
    assert np.isnan(get_metric("mannwhitney_p").fn(np.ones(3), np.ones(3)))
    with pytest.raises(MbenchError, match="labels 0 / 1"):
        get_metric("mannwhitney_u").fn(np.ones(3), np.array([0, 1, 2]))


@pytest.mark.slow
def test_quick_runs_end_to_end_on_a_tiny_standin(tmp_path, monkeypatch):
    tasks = tmp_path / "tasks" / "mednode"
    shutil.copytree(REPO / "tasks/mednode/splits", tasks / "splits")
    raw = yaml.safe_load((REPO / "tasks/mednode/mednode-bss.yaml").read_text())
    sha = write_manifest(tasks / "splits/tiny.json", None, group_key="image", seed=0, method="test", dataset="tiny",
                         rule={"sizes": {"all": "rest"}, "n_pool": 10})
    raw["id"], raw["aliases"] = "tiny-mednode-bss", []
    raw["data"]["standin"].update(params={"n_melanoma": 4, "n_naevus": 6, "size": 48, "seed": 1},
                                  split={"file": "splits/tiny.json", "sha256": sha})
    (tasks / "tiny-mednode-bss.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    monkeypatch.setenv("MBENCH_RESULTS", str(tmp_path / "results"))
    assert main(["run", "task=tiny-mednode-bss", "model=nmf_random", "--quick"]) == 0
    (folder,) = list((tmp_path / "results").iterdir())
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    regions = {r["region"] for r in rows}
    assert regions == {"", "C_oxy", "C_deoxy", "C_melanin", "B_blue", "B_green", "B_red"}
    headline = {r["metric"]: float(r["value"]) for r in rows if r["region"] == ""}
    assert headline == {r["metric"]: float(r["value"]) for r in rows if r["region"] == "C_melanin"}
    (job,) = [json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")]
    assert len(job["criteria"]) == 10 and set(job["boxes"]["C_melanin"]) == {"0", "1"}
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
