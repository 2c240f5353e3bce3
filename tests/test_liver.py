"""Liver CT -> MR (papers 3 and 7): LiTS / CHAOS / DLDS adapters on their stand-ins, the ``transfer`` and
``weak_label_refinement`` protocols' invariants, and both quick settings end to end on tiny cards."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml
from conftest import REPO
from mbench.cli.main import main
from mbench.config.schema import WarpSpec
from mbench.data.adapter import create_adapter
from mbench.data.split import expand_rule, write_manifest
from mbench.data.synthetic import generate_standin
from mbench.metrics import functional as F
from mbench.protocols.transfer import state_from_text
from mbench.protocols.weak_label import apply_warp, warp_coordinates, weak_masks
from mbench.tasks import load_task

TINY_LITS = {"n_patients": 6, "size": 32, "n_slices": 6, "seed": 17}
TINY_CHAOS = {"n_patients": 6, "sizes": [40, 48], "n_slices": 6, "seed": 7}
TINY_DLDS = {"n_patients": 5, "sizes": [[42, 40], [48, 48]], "n_slices": 6, "seed": 11}  # 0003 has two series
TINY_MODEL = {"encoder": "tu-resnet10t", "decoder_channels": [8, 8, 8, 8], "epochs": 1, "batch_size": 8,
              "image_size": 32, "optimizer": "adam", "lr": 1e-3}


def _tiny_data(block: dict, family, name: str, params: dict, ids: list[str]) -> dict:
    sha = write_manifest(family / "splits" / f"{name}.json", {"train": ids[:3], "val": ids[3:4], "test": ids[4:]},
                         group_key="patient", seed=0, method="test", dataset="tiny")
    block = dict(block, params={**block["params"], "size": 32})
    block["standin"] = {**block["standin"], "params": params, "split": {"file": f"splits/{name}.json", "sha256": sha}}
    return block


@pytest.fixture
def tiny_liver(tmp_path, monkeypatch):
    """Tiny copies of both liver cards plus a plain holdout card on the tiny LiTS domain."""
    family = tmp_path / "tasks" / "liver"
    (family / "splits").mkdir(parents=True)
    lits_ids, chaos_ids = [f"volume-{i}" for i in range(6)], ["1", "2", "3", "5", "8", "10"]
    quick = {"model_defaults": {"unet": TINY_MODEL}}
    raw = yaml.safe_load((REPO / "tasks" / "liver" / "liver-transfer.yaml").read_text())
    raw["id"], raw["aliases"] = "tiny-liver-transfer", []
    raw["data"] = _tiny_data(raw["data"], family, "lits", TINY_LITS, lits_ids)
    chaos = raw["protocol"]["domains"]["chaos"]
    chaos["data"] = _tiny_data(chaos["data"], family, "chaos", TINY_CHAOS, chaos_ids)
    dlds = raw["protocol"]["domains"]["dlds"]
    dlds_ids = ["0001-5", "0003-11", "0003-5", "0002-5", "0004-5", "0005-5"]  # patient 0003 (2 series) in train
    dlds["data"] = _tiny_data(dlds["data"], family, "dlds", TINY_DLDS, dlds_ids)
    raw["protocol"]["stages"] = {"lits": {"train": ["lits"]}, "chaos": {"train": ["chaos"]},
                                 "lits-chaos": {"train": ["chaos"], "init": "lits", "freeze": "encoder"},
                                 "lits-chaos-dlds": {"train": ["dlds"], "init": "lits-chaos", "freeze": "encoder"},
                                 "universal": {"train": ["lits", "chaos", "dlds"]}}
    raw["quick"] = quick
    (family / "tiny-liver-transfer.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    hold = {k: v for k, v in raw.items()}
    hold.update(id="tiny-lits-holdout", protocol={"name": "holdout", "seeds": raw["protocol"]["seeds"]})
    (family / "tiny-lits-holdout.yaml").write_text(yaml.safe_dump(hold, sort_keys=False))
    weak = yaml.safe_load((REPO / "tasks" / "liver" / "liver-weaklabel.yaml").read_text())
    weak["id"], weak["aliases"] = "tiny-liver-weaklabel", []
    weak["data"] = chaos["data"]
    weak["protocol"]["source"]["data"] = raw["data"]
    weak["quick"] = {"protocol": {"iterations": 2, "finetune_epochs": 1}, **quick}
    (family / "tiny-liver-weaklabel.yaml").write_text(yaml.safe_dump(weak, sort_keys=False))
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    return family


def _run(task: str, results) -> tuple[dict, list[dict]]:
    before = set(results.iterdir()) if results.exists() else set()
    assert main(["run", f"task={task}", "model=unet", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir() and p not in before]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    jobs = {p.stem: json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")}
    return jobs, list(csv.DictReader(open(folder / "scores.csv")))


def test_cards_are_the_papers_protocols():
    t = load_task("liver-transfer").spec
    assert t.protocol.home == "lits" and set(t.protocol.domains) == {"chaos", "dlds"}
    assert t.protocol.stages["lits-chaos"].init == "lits" and t.protocol.stages["lits-chaos"].freeze == "encoder"
    assert t.protocol.domains["dlds"].data.adapter == "dlds" and t.protocol.domains["dlds"].data.params["rotate90"] == 1
    assert (t.protocol.stages["lits-dlds"].init, t.protocol.stages["lits-chaos-dlds"].init) == ("lits", "lits-chaos")
    assert t.protocol.stages["dlds"].init is None and set(t.protocol.stages["universal"].train) == {"lits", "chaos", "dlds"}
    assert {r.value for r in t.reference_results if "test dlds" in r.setting} == {0.82, 0.16, 0.83, 0.88, 0.865}
    w = load_task("liver-weaklabel").spec
    assert (w.protocol.iterations, w.protocol.finetune_epochs, w.protocol.reinit) == (3, 15, "pretrained")
    assert all(r.source for r in (*t.reference_results, *w.reference_results))


def test_adapters_read_the_standins_in_the_release_layout(tmp_path):
    lits = create_adapter("lits", generate_standin("lits", TINY_LITS, tmp_path / "lits"), {"size": 32})
    assert (tmp_path / "lits" / "Training Batch 1" / "volume-0.nii").exists()
    chaos_root = generate_standin("chaos_t2spir", TINY_CHAOS, tmp_path / "chaos")
    assert len(list((chaos_root / "Train_Sets" / "MR" / "2" / "T2SPIR" / "DICOM_anon").glob("*.dcm"))) == 6
    chaos = create_adapter("chaos_t2spir", chaos_root, {"size": 32, "rotate90": 1})
    assert lits.case_ids() == [f"volume-{i}" for i in range(6)] and chaos.case_ids() == ["1", "2", "3", "5", "8", "10"]
    ct, mr = lits.load_input("volume-0")["ct"], chaos.load_input("1")["t2spir"]
    seg_ct, seg_mr = lits.load_reference("volume-0"), chaos.load_reference("1")
    assert ct.shape == seg_ct.shape == mr.shape == seg_mr.shape == (32, 32, 6)
    assert set(np.unique(seg_mr)) == {0, 1} and seg_mr[:, :, 0].sum() == 0  # liver-free end slices
    assert ct[seg_ct > 0].mean() > 0 and ct.min() < -500  # HU: liver positive, air -1000
    # slices ordered by position (files are shuffled); rotate90 brings MR to the CT orientation
    cy = lambda s: np.argwhere(s > 0)[:, :2].mean(axis=0)
    assert np.abs(cy(seg_ct) - cy(seg_mr)).max() < 5
    assert np.argmax(seg_mr.sum(axis=(0, 1))) in (2, 3)
    assert chaos.spacing("1")[2] == pytest.approx(7.7) and chaos.spacing("1")[0] == pytest.approx(400 / 32)


def test_dlds_adapter_reads_the_standin_and_its_split(tmp_path):
    root = generate_standin("dlds", TINY_DLDS, tmp_path / "dlds")
    assert (root / "0003" / "11" / "masks" / "11.nii.gz").exists()
    assert len(list((root / "0001" / "5" / "images").glob("*.dicom"))) == 6
    native = create_adapter("dlds", root, {})
    assert native.case_ids() == ["0001-5", "0002-5", "0003-11", "0003-5", "0004-5", "0005-5"]
    assert native.groups()["0003-11"] == native.groups()["0003-5"] == "0003"
    assert native.load_input("0001-5")["mr"].shape == native.load_reference("0001-5").shape == (40, 42, 6)  # rotated
    dlds = create_adapter("dlds", root, {"size": 32, "rotate90": 1})
    lits = create_adapter("lits", generate_standin("lits", TINY_LITS, tmp_path / "lits"), {"size": 32})
    mr, seg = dlds.load_input("0001-5")["mr"], dlds.load_reference("0001-5")
    assert mr.shape == seg.shape == (32, 32, 6) and set(np.unique(seg)) == {0, 1} and seg[:, :, 0].sum() == 0
    assert mr.min() >= 0 and mr[seg > 0].mean() > 0
    # slices ordered by position (file names are shuffled), mask axes match, rotate90 brings MR to the CT orientation
    cy = lambda s: np.argwhere(s > 0)[:, :2].mean(axis=0)
    assert np.abs(cy(seg) - cy(lits.load_reference("volume-0"))).max() < 5
    assert np.argmax(seg.sum(axis=(0, 1))) in (2, 3)
    assert dlds.spacing("0001-5")[2] == pytest.approx(5.0)
    with pytest.raises(Exception, match="mask shape"):
        create_adapter("dlds", root, {"mask_transpose": False}).load_reference("0001-5")
    # the real split is a 54/6/6 rule by patient; the stand-in's is explicit and patient-disjoint
    folder = load_task("liver-transfer").folder
    rule = json.loads((folder / "splits" / "dlds.json").read_text())["rule"]
    assert rule["sizes"] == {"train": 54, "val": 6, "test": 6} and rule["n_pool"] == 66
    ids = [f"{p:04d}-{s}" for p in range(1, 67) for s in ((5, 11) if p % 3 == 0 else (5,))]
    groups = {c: c.split("-")[0] for c in ids}
    split = expand_rule(rule, ids, groups, {}, seed=2023)
    assert {k: len({groups[c] for c in v}) for k, v in split.items()} == {"train": 54, "val": 6, "test": 6}
    standin = json.loads((folder / "splits" / "dlds_standin.json").read_text())["splits"]
    owner = {c.split("-")[0]: k for k, v in standin.items() for c in v}
    assert all(owner[c.split("-")[0]] == k for k, v in standin.items() for c in v) and len(owner) == 12


def test_weak_masks_are_deterministic_and_differ_by_the_declared_warp():
    yy, xx = np.mgrid[0:48, 0:48]
    masks = np.stack([((yy - 20) ** 2 + (xx - 22 - k) ** 2 < 150).astype(np.uint8) for k in range(4)])
    ids = [f"c:z{k:03d}" for k in range(4)]
    warp = WarpSpec(rotate_deg=8, scale=0.08, translate=0.03, elastic_alpha=15, elastic_sigma=4)
    weak = weak_masks(masks, ids, warp, seed=3)
    assert np.array_equal(weak, weak_masks(masks, ids, warp, seed=3))
    assert not np.array_equal(weak, weak_masks(masks, ids, warp, seed=4))
    import zlib

    for k in range(4):  # exactly the declared warp, seeded by (seed, id)
        rng = np.random.default_rng([3, zlib.crc32(ids[k].encode())])
        assert np.array_equal(weak[k], apply_warp(masks[k], warp_coordinates((48, 48), warp, rng)))
    dice = [F.dice(w, m) for w, m in zip(weak, masks)]
    assert all(0.6 < d < 1.0 for d in dice)
    none = WarpSpec(rotate_deg=0, scale=0, translate=0, elastic_alpha=0)
    assert np.array_equal(weak_masks(masks, ids, none, seed=3), masks)


def test_transfer_matrix_quick_run(tiny_liver, results):
    jobs, rows = _run("tiny-liver-transfer", results)
    assert set(jobs) >= {"seed0-lits", "seed0-chaos", "seed0-lits-chaos", "seed0-universal"}
    # zero-shot cells never train on the target
    lits = jobs["seed0-lits"]
    assert lits["cells"] == {"lits": "scratch", "chaos": "zero_shot", "dlds": "zero_shot"}
    assert set(lits["train_domains"]) == {"lits"}
    assert jobs["seed0-lits-chaos"]["cells"] == {"lits": "earlier", "chaos": "finetune", "dlds": "zero_shot"}
    assert jobs["seed0-lits-chaos-dlds"]["cells"] == {"lits": "earlier", "chaos": "earlier", "dlds": "finetune"}
    assert set(jobs["seed0-universal"]["train_domains"]) == {"lits", "chaos", "dlds"}
    assert jobs["seed0-universal"]["train_domains"]["dlds"] == ["0001-5", "0003-11", "0003-5"]
    zero = [r for r in rows if "cell=zero_shot" in r["note"]]
    assert zero
    for r in zero:
        fields = dict(part.strip().split("=", 1) for part in r["note"].split(";") if "=" in part)
        assert fields["test"] not in fields["chain"].replace("+", ">").split(">")
        assert fields["test"] not in jobs[f"seed0-{fields['stage']}"]["train_domains"]
    # fine-tuning with a frozen encoder leaves every encoder tensor (weights and BN statistics) unchanged
    pre, fine = state_from_text(lits["state"]), state_from_text(jobs["seed0-lits-chaos"]["state"])
    enc = [k for k in pre if k.startswith("encoder.")]
    assert enc and all(np.array_equal(pre[k].numpy(), fine[k].numpy()) for k in enc)
    assert any(not np.array_equal(pre[k].numpy(), fine[k].numpy()) for k in pre if k.startswith("decoder."))
    assert jobs["seed0-lits-chaos"]["train_log"]["n_trainable"] < jobs["seed0-lits-chaos"]["train_log"]["n_parameters"]
    # the diagonal equals a plain holdout run on that domain (same seed, same data)
    _, hold = _run("tiny-lits-holdout", results)
    diag = {(r["case"], r["metric"]): r["value"] for r in rows if "stage=lits;" in r["note"] and "test=lits" in r["note"]}
    plain = {(r["case"], r["metric"]): r["value"] for r in hold}
    assert diag and diag == plain


def test_weak_label_refinement_quick_run(tiny_liver, results):
    jobs, rows = _run("tiny-liver-weaklabel", results)
    assert set(jobs) == {"seed0-pretrain", "seed0-iter0", "seed0-iter1", "seed0-iter2"}
    assert 0 < jobs["seed0-iter0"]["dice_vs_truth"] < 1  # weak masks are not the truth
    for k in (1, 2):  # each round trains on the previous round's outputs (train split only: not transductive)
        job, prev = jobs[f"seed0-iter{k}"], jobs[f"seed0-iter{k - 1}"]
        assert job["trained_on"]["splits"] == ["train"] and job["trained_on"]["from_round"] == k - 1
        assert job["trained_on"]["labels_sha256"] == prev["masks"]["train"]["sha256"]
        assert job["trained_on"]["init"] == "pretrained" and not job["transductive"]
    assert {r["round"] for r in rows if r["metric"] == "dice"} == {"0", "1", "2"}
