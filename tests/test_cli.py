"""The ``mbench`` command line end to end on the tiny configuration."""

from __future__ import annotations

import json

import pytest

from mbench.cli.main import main


def test_run_then_show(use_tiny_tasks, results, capsys):
    assert main(["run", "task=tiny-brats", "model=random", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "UNOFFICIAL" in out and "quick setting" in out
    assert "dice (mean ± sd)" in out and "AULC" in out
    assert "reported in paper: dice = 0.789" in out
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    assert {p.name for p in folder.iterdir()} >= {"run.json", "scores.csv", "summary.json", "summary.txt", "jobs"}
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete" and record["official"] is False
    assert main(["show", str(folder)]) == 0
    shown = capsys.readouterr().out
    assert "round" in shown and "labelled" in shown and record["config_hash"][:12] in shown
    assert main(["show", folder.name[:20]]) == 0  # unique id prefix under $MBENCH_RESULTS
    capsys.readouterr()
    assert main(["show", str(folder), "--json"]) == 0
    assert "dice" in json.loads(capsys.readouterr().out)["metrics"]


def test_dry_run_prints_resolved_config_and_hash(capsys):
    assert main(["run", "task=brats", "model=mvaal", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "config hash: " in out and "official:    yes" in out
    assert "initial_size: 200" in out and "rounds: 6" in out and "lr: 1.0e-05" in out
    assert main(["run", "task=brats", "model=mvaal", "protocol.rounds=2", "--dry-run"]) == 0
    assert "official:    NO — protocol.rounds=2 (card: 6)" in capsys.readouterr().out


@pytest.mark.parametrize("what", ["tasks", "models", "metrics", "protocols"])
def test_ls(what, capsys):
    assert main(["ls", what]) == 0
    out = capsys.readouterr().out
    expected = {"tasks": "brats18-al-wtseg", "models": "mvaal", "metrics": "dice", "protocols": "active_learning"}
    assert expected[what] in out


def test_validate_checks_card_split_and_data(use_tiny_tasks, capsys):
    assert main(["validate", "task=tiny-brats"]) == 0
    out = capsys.readouterr().out
    for check in ("card schema", "split", "adapter", "config"):
        assert check in out


def test_errors_exit_2_with_a_message(capsys):
    assert main(["run", "task=bratz", "model=mvaal"]) == 2
    assert "did you mean 'brats'" in capsys.readouterr().out
    assert main(["run", "model=mvaal"]) == 2
    assert "missing task=" in capsys.readouterr().out
    assert main(["show", "no-such-run"]) == 2


def test_real_data_root_that_does_not_exist_is_a_clear_error(capsys, tmp_path):
    assert main(["validate", "task=brats", f"data.root={tmp_path / 'nowhere'}"]) == 2
    assert "BraTS data folder not found" in capsys.readouterr().out


def test_core_imports_and_listing_work_without_torch():
    """torch is blocked in a child interpreter: listing, config, metrics and results code must not need it."""
    import subprocess
    import sys

    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'torchvision', 'timm', 'segmentation_models_pytorch'):\n"
            "            raise ImportError('blocked for this test: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from mbench.cli.main import main\n"
            "import mbench.config, mbench.metrics, mbench.results, mbench.tasks, mbench.protocols\n"
            "from mbench.config.resolve import resolve_run_config\n"
            "resolve_run_config('brats', 'mvaal')\n"
            "for what in ('tasks', 'models', 'metrics', 'protocols'):\n"
            "    assert main(['ls', what]) == 0\n"
            "assert main(['run', 'task=brats', 'model=mvaal', '--dry-run']) == 0\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
