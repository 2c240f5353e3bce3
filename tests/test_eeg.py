"""EEG media decoding (paper 14): cards, NMED / SEED adapters, subject-leak refusal, windowing, EEGNet / DeepConvNet,
and quick runs on tiny stand-ins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from mbench.cli.main import main
from mbench.config.resolve import resolve_run_config
from mbench.data.split import SplitManifest, expand_rule, write_manifest
from mbench.errors import MbenchError
from mbench.tasks import Task, load_task

REPO = Path(__file__).resolve().parents[1]
CARDS = [f"{d}-{r}" for d in ("nmedt-song", "nmedh-song", "seed-movie") for r in ("within", "disjoint")]
SONGS = [f"song{k}" for k in range(21, 31)]


@pytest.fixture(scope="module")
def tiny_eeg(tmp_path_factory) -> Path:
    """Tiny copies (``tiny-`` ids) of the EEG cards: 4 channels and 12 s (NMED) / 10 s (SEED) recordings."""
    folder = tmp_path_factory.mktemp("tiny_eeg") / "tasks"
    shutil.copytree(REPO / "tasks/eeg/splits", folder / "eeg" / "splits")
    for name in CARDS:
        raw = yaml.safe_load((REPO / "tasks/eeg" / f"{name}.yaml").read_text())
        raw["id"], raw["aliases"] = "tiny-" + raw["id"], []
        raw["data"]["standin"]["params"].update(n_channels=4, seconds=12.0 if "nmed" in name else 10.0)
        raw["quick"]["protocol"]["window_s"] = [5.0]
        raw["quick"]["model_defaults"] = {m: {"epochs": 2, "batch_size": 16, **(
            {"arch_params": {"filters": [4, 8, 8, 8], "kernel": 5, "dropout": 0.5}} if m == "deepconvnet" else {})}
            for m in raw["models"]}
        (folder / "eeg" / f"tiny-{name}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


@pytest.fixture
def use_tiny_eeg(tiny_eeg, monkeypatch) -> Path:
    monkeypatch.setenv("MBENCH_TASKS_DIR", str(tiny_eeg))
    return tiny_eeg


@pytest.mark.parametrize("task_id", CARDS)
def test_card_validates_pins_its_splits_and_declares_the_window_grid(task_id):
    card = load_task(task_id)
    spec = card.spec
    for ref in (spec.data.split, spec.data.standin.split):
        assert set(SplitManifest.load(card.folder / ref.file, ref.sha256).split_names()) == {"train", "val", "test"}
    assert spec.protocol.window_s == [5.0, 10.0, 20.0, 30.0]
    assert spec.data.params["group_by"] == ("subject" if task_id.endswith("disjoint") else "recording")
    assert len(spec.labels) == {"nmedt": 10, "nmedh": 4, "seed": 15}[task_id.split("-")[0]]
    assert {r.region for r in spec.reference_results} >= {"window=5s", "window=30s"}
    assert resolve_run_config(task_id, "deepconvnet").official
    assert not resolve_run_config(task_id, "eegnet", quick=True).official


def test_real_disjoint_rule_never_splits_a_subject():
    rule = json.loads((REPO / "tasks/eeg/splits/nmedt_disjoint.json").read_text())["rule"]
    ids = [f"sub{s:02d}_{song}" for s in range(1, 21) for song in SONGS]
    groups = {c: c.split("_")[0] for c in ids}
    splits = expand_rule(rule, ids, groups, {}, seed=2023)
    subjects = {k: {groups[c] for c in v} for k, v in splits.items()}
    assert {k: len(v) for k, v in subjects.items()} == {"test": 4, "val": 2, "train": 14}
    assert not (subjects["train"] & subjects["test"]) and not (subjects["val"] & subjects["test"])
    assert all(len(v) == 10 * len(subjects[k]) for k, v in splits.items())  # every recording of a subject together


def test_adapters_read_the_standins(tmp_path):
    from mbench.data.adapters.eeg import NmedAdapter, SeedAdapter
    from mbench.data.synthetic.eeg import generate_nmed, generate_seed

    ids = generate_nmed(tmp_path / "t", SONGS[:3], n_subjects=2, n_channels=4, seconds=4, seed=0)
    by_subject = NmedAdapter(tmp_path / "t", stimuli=SONGS[:3])
    by_recording = NmedAdapter(tmp_path / "t", stimuli=SONGS[:3], group_by="recording")
    assert by_subject.case_ids() == ids and by_subject.fs == 125.0
    assert by_subject.groups()["sub02_song23"] == "sub02" and by_recording.groups()["sub02_song23"] == "sub02_song23"
    assert [int(by_subject.load_reference(f"sub01_{s}")) for s in SONGS[:3]] == [0, 1, 2]
    eeg = by_subject.load_input("sub02_song22")["eeg"]
    assert eeg.shape == (4, 500) and eeg.dtype == np.float32 and eeg.std() > 0
    assert not np.allclose(eeg, by_subject.load_input("sub01_song22")["eeg"])
    with pytest.raises(MbenchError, match="stimulus file is missing"):
        NmedAdapter(tmp_path / "t", stimuli=["song99"])
    generate_nmed(tmp_path / "h", ["song1", "song2"], n_subjects=2, n_channels=4, seconds=4, disjoint_subjects=True)
    nmedh = NmedAdapter(tmp_path / "h", stimuli=["song1", "song2"])
    assert sorted(set(nmedh.groups().values())) == ["sub01", "sub02", "sub03", "sub04"]  # subject <-> class confound

    ids = generate_seed(tmp_path / "s", n_subjects=2, sessions=2, n_channels=4, seconds=3)
    seed = SeedAdapter(tmp_path / "s")
    assert seed.case_ids() == ids and len(ids) == 2 * 2 * 15
    assert int(seed.load_reference(ids[14])) == 14 and seed.load_input(ids[0])["eeg"].shape == (4, 600)
    assert set(seed.groups().values()) == {"sub01", "sub02"}
    import scipy.io

    path = tmp_path / "s" / "Preprocessed_EEG" / "1_20131001.mat"
    variables = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    variables.pop("ab_eeg15")
    scipy.io.savemat(path, variables)
    from mbench.data.adapters.eeg import read_mat

    read_mat.cache_clear()
    with pytest.raises(MbenchError, match="lacks clips"):
        SeedAdapter(tmp_path / "s")


def test_a_manifest_where_a_subject_crosses_splits_is_refused(use_tiny_eeg):
    card = load_task("tiny-nmedt-song-disjoint")
    ids = Task(card.spec, card.folder).adapter.case_ids()
    leaking = {"train": [c for c in ids if not c.startswith("sub06")] + ["sub06_song21"],
               "val": [], "test": [c for c in ids if c.startswith("sub06") and c != "sub06_song21"]}
    folder = card.folder / "splits"
    sha = write_manifest(folder / "leaky.json", leaking, group_key="subject", seed=0, method="test", dataset="leak")
    raw = yaml.safe_load(card.path.read_text())
    raw["data"]["standin"]["split"] = {"file": "splits/leaky.json", "sha256": sha}
    from mbench.config.loading import validate_task_dict

    task = Task(validate_task_dict(raw, card.path), card.folder)
    with pytest.raises(MbenchError, match="sub06.*leaks between splits"):
        task.split
    # the same recordings split by recording (the within-subject regime) are accepted: only windows of one recording
    # must stay together there
    raw["data"]["params"]["group_by"] = "recording"
    assert Task(validate_task_dict(raw, card.path), card.folder).split.ids("test")


def test_windows_never_straddle_recordings():
    from mbench.protocols.signal_windows import cut_windows

    recording = np.arange(2 * 23, dtype=np.float32).reshape(2, 23)
    windows = cut_windows(recording, 5, 5)
    assert windows.shape == (4, 2, 5) and np.array_equal(windows[1, 1], recording[1, 5:10])
    assert cut_windows(recording, 30, 30).shape == (0, 2, 30)
    assert cut_windows(recording, 10, 8).shape == (2, 2, 10)  # overlap of 2 samples
    with pytest.raises(MbenchError):
        cut_windows(recording, 0, 1)


def test_eegnet_and_deepconvnet_shapes_max_norm_and_learning():
    torch = pytest.importorskip("torch")
    from mbench.models.baselines.eeg import DeepConvNet, EEGNet, SignalClassifier

    x = torch.zeros(3, 1, 8, 250)
    assert EEGNet(8, 250, 5)(x).shape == (3, 5) and DeepConvNet(8, 250, 5)(x).shape == (3, 5)
    net = EEGNet(8, 250, 5)
    sizes = {n: p.numel() for n, p in net.named_parameters()}
    assert sizes["features.0.weight"] == 8 * 64 and sizes["features.2.layer.weight"] == 16 * 8  # F1 x kernel; D F1 x C
    with pytest.raises(MbenchError, match="too short"):
        DeepConvNet(8, 40, 5)
    rng = np.random.default_rng(0)
    t = np.arange(128) / 64
    y = rng.integers(0, 2, 80)
    signals = rng.normal(size=(80, 4, 128)).astype(np.float32) + 2 * np.sin(2 * np.pi * (3 + 9 * y)[:, None, None]
                                                                           * t).astype(np.float32)
    clf = SignalClassifier("eegnet", {"f1": 4, "depth": 2, "f2": 8, "kernel": 16}, lr=1e-2, epochs=8, batch_size=16,
                           device="cpu")
    log = clf.fit(signals[:60], y[:60], signals[60:], y[60:], n_classes=2, seed=0)
    proba = clf.predict(signals[60:])
    assert proba.shape == (20, 2) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == y[60:]).mean() >= 0.8 and log["n_parameters"] > 0
    depthwise = clf.net.features[2].layer.weight.detach()
    assert float(depthwise.flatten(1).norm(dim=1).max()) <= 1.0 + 1e-4  # max-norm holds for the model that predicted


@pytest.mark.slow
@pytest.mark.parametrize("task_id,model", [("nmedt-song-disjoint", "eegnet"), ("seed-movie-within", "deepconvnet")])
def test_quick_runs_end_to_end(task_id, model, use_tiny_eeg, results):
    assert main(["run", f"task=tiny-{task_id}", f"model={model}", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    (job,) = [json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")]
    rows = job["rows"]
    assert {r["metric"] for r in rows} == {"accuracy", "balanced_accuracy"} and rows[0]["region"] == "window=5s"
    subjects = job["subjects"]
    if task_id.endswith("disjoint"):
        assert not set(subjects["test"]) & (set(subjects["train"]) | set(subjects["val"]))
        assert set(job["per_subject_accuracy"]) == set(subjects["test"])
    else:
        assert set(subjects["test"]) <= set(subjects["train"])  # the within-subject regime: subjects recur
    fs = 125 if "nmed" in task_id else 200
    seconds = 12 if "nmed" in task_id else 10
    card = load_task("tiny-" + task_id)
    n_recordings = {k: len(Task(card.spec, card.folder).split.ids(k)) for k in ("train", "val", "test")}
    assert job["n_windows"] == {k: v * (seconds * fs // (5 * fs)) for k, v in n_recordings.items()}
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
