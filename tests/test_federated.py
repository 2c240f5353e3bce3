"""The ``federated`` protocol (paper 23): partition checks, FedAvg / FedProx invariants, BUSI data, end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO
from mbench.cli.main import main
from mbench.data.adapters.busi import BusiAdapter
from mbench.data.synthetic.busi import generate_busi
from mbench.errors import MbenchError
from mbench.models.baselines.attention_unet import AttentionUNet, soft_dice_loss
from mbench.models.baselines.torch_utils import batches, make_optimizer, seed_torch
from mbench.protocols.federated import check_classes, check_partition, fed_average, local_train
from mbench.tasks import load_task

SPLITS = REPO / "tasks" / "busi" / "splits"


def _net(seed: int = 0) -> AttentionUNet:
    torch.manual_seed(seed)
    return AttentionUNet(1, 2, [4, 8])


def _data(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 16, 16)).astype(np.float32)
    return x, (x > 0.6).astype(np.int64)


def _train(net, mu: float, seed: int = 3, epochs: int = 2) -> list[float]:
    x, y = _data()
    return local_train(net, lambda t: net(t), lambda o, t: soft_dice_loss(o, t), x, y, epochs=epochs, batch_size=3,
                       optimizer="adam", lr=1e-2, mu=mu, seed=seed, device=torch.device("cpu"))


def test_clients_never_share_cases_and_the_partition_is_non_iid_as_declared():
    spec = load_task("busi-federated").spec
    for name, n in (("busi_federated.json", 780), ("busi_federated_standin.json", 101)):
        splits = json.loads((SPLITS / name).read_text())["splits"]
        assert set(splits) == set(spec.protocol.split_names())
        check_partition(splits)  # disjoint
        ids = [i for v in splits.values() for i in v]
        assert len(ids) == len(set(ids)) == n  # covers the whole pool, nothing twice
        clients = {c: splits[f"{c}_train"] + splits[f"{c}_test"] for c in spec.protocol.clients}
        attrs = {i: {"class": i.split(" (")[0]} for i in ids}
        counts = check_classes(clients, attrs, "class", spec.protocol.classes)
        for c, allowed in spec.protocol.classes.items():
            assert set(counts[c]) == set(allowed)  # exactly the declared label skew
        assert len({tuple(sorted(v)) for v in counts.values()}) == len(counts)  # no two clients alike
    with pytest.raises(MbenchError, match="both"):
        check_partition({"client1_train": ["a", "b"], "test": ["b"]})
    with pytest.raises(MbenchError, match="undeclared"):
        check_classes({"client1": ["x"]}, {"x": {"class": "malignant"}}, "class", {"client1": ["benign"]})


def test_fedavg_of_identical_client_updates_is_that_update():
    net = _net()
    _train(net, 0.0)
    state = net.state_dict()
    avg = fed_average([state, {k: v.clone() for k, v in state.items()}, state], [5, 1, 2])
    for key, value in state.items():
        assert torch.allclose(avg[key], value, atol=1e-6) and avg[key].dtype == value.dtype
    a, b = {"w": torch.tensor([0.0, 4.0])}, {"w": torch.tensor([2.0, 0.0])}
    assert fed_average([a, b], [3, 1])["w"].tolist() == [0.5, 3.0]  # weighted by sample counts


def test_a_positive_mu_pulls_local_weights_toward_the_global_model():
    start = _net()
    anchor = torch.cat([p.detach().flatten() for p in start.parameters()])
    distances = []
    for mu in (0.0, 1.0, 100.0):
        net = _net()
        _train(net, mu)
        distances.append(float((torch.cat([p.detach().flatten() for p in net.parameters()]) - anchor).norm()))
    assert distances[0] > distances[1] > distances[2] > 0


def test_one_client_fedavg_equals_plain_local_training():
    x, y = _data()
    fed = _net()
    _train(fed, 0.0, seed=11, epochs=3)
    fed_global = fed_average([fed.state_dict()], [len(x)])
    plain = _net()
    generator = seed_torch(11)
    opt = make_optimizer("adam", plain.parameters(), 1e-2)
    xt, yt = torch.as_tensor(x)[:, None], torch.as_tensor(y)
    for _ in range(3):
        plain.train()
        for idx in batches(len(xt), 3, generator):
            opt.zero_grad()
            soft_dice_loss(plain(xt[idx]), yt[idx]).backward()
            opt.step()
    for key, value in plain.state_dict().items():
        assert torch.allclose(fed_global[key], value, atol=1e-6), key


def test_busi_adapter_merges_several_masks(tmp_path):
    generate_busi(tmp_path, n_benign=12, n_malignant=2, n_normal=2, size=32, seed=1)
    folder = tmp_path / "Dataset_BUSI_with_GT" / "benign"
    from PIL import Image

    extra = np.zeros((32, 32), np.uint8)
    extra[:4, :4] = 255
    Image.fromarray(extra).save(folder / "benign (3)_mask_1.png")
    adapter = BusiAdapter(tmp_path)
    assert len(adapter.case_ids()) == 16 and adapter.ndim == 2
    assert adapter.load_input("benign (3)")["image"].shape == (32, 32)
    merged = adapter.load_reference("benign (3)")
    assert merged[:4, :4].all() and merged.sum() > 16 and len(adapter.files("benign (3)")) == 3
    assert adapter.load_reference("normal (1)").sum() == 0
    assert adapter.case_attributes()["malignant (2)"] == {"class": "malignant"}


@pytest.fixture
def tiny_federated_card(use_tiny_catalogue):
    """A tiny busi-federated on a 32 x 32 stand-in with 2-4 images per client."""
    from mbench.data.split import write_manifest

    folder = use_tiny_catalogue / "busi"
    (folder / "splits").mkdir(parents=True, exist_ok=True)
    b, m, n = (lambda k: f"benign ({k})"), (lambda k: f"malignant ({k})"), (lambda k: f"normal ({k})")
    splits = {"client1_train": [b(1), b(2), b(3), n(1)], "client1_test": [b(4), n(2)],
              "client2_train": [m(1), m(2), m(3), n(3)], "client2_test": [m(4)],
              "client3_train": [b(5), b(6), m(5)], "client3_test": [b(7)],
              "test": [b(8), m(6), n(4)]}
    sha = write_manifest(folder / "splits" / "tiny_fed.json", splits, group_key="image", seed=0, method="test",
                         dataset="tiny")
    raw = yaml.safe_load((REPO / "tasks" / "busi" / "busi-federated.yaml").read_text())
    raw["id"], raw["aliases"] = "tiny-busi-federated", []
    raw["data"]["standin"] = {"generator": "busi", "params": {"n_benign": 8, "n_malignant": 6, "n_normal": 4,
                                                             "source_b": {"benign": 3}, "size": 32, "seed": 4},
                              "split": {"file": "splits/tiny_fed.json", "sha256": sha}}
    raw["preprocessing"]["resize"] = [32, 32]
    raw["quick"] = {"protocol": {"rounds": 2, "local_epochs": 1},
                    "model_defaults": {"attention_unet": {"widths": [4, 8, 16], "epochs": 1, "batch_size": 2,
                                                          "image_size": 32}}}
    (folder / "tiny-busi-federated.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return "tiny-busi-federated"


def test_quick_setting_runs_end_to_end(tiny_federated_card, results):
    assert main(["run", f"task={tiny_federated_card}", "model=attention_unet", "--quick"]) == 0
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
    jobs = {p.stem: json.loads(p.read_text()) for p in (folder / "jobs").glob("*.json")}
    rounds = sorted((j for j in jobs.values() if "round" in j), key=lambda j: j["round"])
    assert [j["round"] for j in rounds] == [1, 2]
    assert rounds[0]["client_sizes"] == [4, 4, 3] and rounds[0]["algorithm"] == "fedprox"
    assert rounds[0]["client_class_counts"]["client2"] == {"malignant": 4, "normal": 1}
    assert rounds[0]["communication_bytes"] == rounds[0]["n_parameters"] * 4 * 2 * 3
    rows = list(csv.DictReader(open(folder / "scores.csv")))
    dice = [r for r in rows if r["metric"] == "dice" and r["case"] != "*"]
    for r in ("1", "2"):
        groups = {row["group"] for row in dice if row["round"] == r}
        assert groups == {"client1", "client2", "client3", "global@client1", "global@client2", "global@client3",
                          "server"}
        assert len([row for row in dice if row["round"] == r and row["group"] == "server"]) == 3
