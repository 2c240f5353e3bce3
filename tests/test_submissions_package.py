"""Package format: the manifest schema and its JSON Schema, safe opening of folders and zips, validation checks."""

from __future__ import annotations

import json
import zipfile

import pytest
import yaml
from mbench.cli.main import main
from mbench.errors import MbenchError
from mbench.submissions.manifest import SubmissionManifest, load_manifest, manifest_schema, safe_relative_path
from mbench.submissions.package import PackageError, content_sha256, extract_zip_safely, open_package
from mbench.submissions.validate import validate_submission
from test_submissions_helpers import EXAMPLES, HOLDOUT, HOLDOUT_ID, PREDICT_ONES, write_package

jsonschema = pytest.importorskip("jsonschema")


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_example_manifests_match_the_exported_json_schema(name):
    data = yaml.safe_load((EXAMPLES / name / "submission.yaml").read_text())
    jsonschema.validate(json.loads(json.dumps(data)), manifest_schema())  # JSON round trip: keys become strings
    assert load_manifest(EXAMPLES / name).model_id == f"sub:{name}@{data['version']}"


def test_json_schema_rejects_what_the_model_rejects():
    schema = manifest_schema()
    good = yaml.safe_load((EXAMPLES / "brats-threshold-seg" / "submission.yaml").read_text())
    for bad in ({**good, "schema_version": 2}, {**good, "kind": "oracle"}, {**good, "surprise": 1},
                {**good, "id": "Not Kebab"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(json.dumps(bad)), schema)


def test_manifest_errors_name_every_bad_field(tmp_path):
    folder = write_package(tmp_path / "bad", PREDICT_ONES)
    data = yaml.safe_load((folder / "submission.yaml").read_text())
    data.update(version="one", surprise=True)
    data["authors"] = []
    (folder / "submission.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(MbenchError) as err:
        load_manifest(folder)
    text = str(err.value)
    assert "version" in text and "surprise: unknown field" in text and "authors" in text


def test_unsupported_schema_version_is_refused(tmp_path):
    folder = write_package(tmp_path / "v9", PREDICT_ONES)
    data = yaml.safe_load((folder / "submission.yaml").read_text())
    (folder / "submission.yaml").write_text(yaml.safe_dump({**data, "schema_version": 9}))
    with pytest.raises(MbenchError, match="unsupported schema_version 9"):
        load_manifest(folder)


def test_kind_specific_fields_are_enforced():
    base = yaml.safe_load((EXAMPLES / "brats-threshold-predictions" / "submission.yaml").read_text())
    with pytest.raises(ValueError, match="has no code"):
        SubmissionManifest.model_validate({**base, "entry": {"file": "m.py", "class": "M"}})
    with pytest.raises(ValueError, match="needs 'entry"):
        SubmissionManifest.model_validate({**base, "kind": "predictor", "predictions": None})


@pytest.mark.parametrize("path", ["../x.py", "/abs.py", "a/../../b", "a\\b.py", "", ".hidden/x", "a b"])
def test_unsafe_relative_paths_are_refused(path):
    with pytest.raises(ValueError):
        safe_relative_path(path)


def test_zip_of_the_folder_hashes_like_the_folder(tmp_path):
    folder = write_package(tmp_path / "pkg", PREDICT_ONES, weights={"weights/w.bin": b"\x00\x01"})
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, f"pkg/{path.relative_to(folder).as_posix()}")  # zipped with its top folder
    from_dir = open_package(folder, tmp_path / "a")
    from_zip = open_package(archive, tmp_path / "b")
    assert from_dir.sha256 == from_zip.sha256 == content_sha256(folder)
    assert from_zip.archive_sha256 is not None and from_dir.archive_sha256 is None
    (folder / "model.py").write_text((folder / "model.py").read_text() + "\n# changed\n")
    assert content_sha256(folder) != from_dir.sha256


def test_zip_bombs_and_duplicates_are_refused(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("submission.yaml", "x")
        zf.writestr("zeros.bin", b"\0" * (4 << 20))
    with pytest.raises(PackageError, match="unpacks to more than 1 MB"):
        extract_zip_safely(archive, tmp_path / "out", max_bytes=1 << 20)
    dup = tmp_path / "dup.zip"
    with zipfile.ZipFile(dup, "w") as zf:
        zf.writestr("Model.py", "a")
        zf.writestr("model.py", "b")
    with pytest.raises(PackageError, match="appears twice"):
        extract_zip_safely(dup, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_validation_reports_each_failed_check(tmp_path, use_tiny_tasks):
    folder = write_package(tmp_path / "wrong", "class Other:\n    pass\n", weights={"w.bin": b"1"}, pin={"w.bin": "f" * 64})
    data = yaml.safe_load((folder / "submission.yaml").read_text())
    data["io"]["output"]["labels"] = {0: "background", 1: "oedema", 2: "core"}
    (folder / "submission.yaml").write_text(yaml.safe_dump(data))
    report = validate_submission(folder, HOLDOUT)
    failed = {c.name: c.detail for c in report.checks if not c.ok}
    assert set(failed) == {"entry point", "weights", f"io contract {HOLDOUT_ID}"}
    assert "defines no top-level class 'Model'" in failed["entry point"]
    assert "w.bin" in failed["weights"] and "f" * 64 in failed["weights"]
    assert "io.output.labels [0, 1, 2]" in failed[f"io contract {HOLDOUT_ID}"]
    with pytest.raises(MbenchError, match="is not valid"):
        report.raise_for_problems()


def test_a_task_the_package_does_not_list_is_refused(tmp_path, use_tiny_tasks):
    folder = write_package(tmp_path / "elsewhere", PREDICT_ONES, task="tiny-brats18-al-wtseg")
    report = validate_submission(folder, HOLDOUT)
    assert not report.ok and "is not made for task tiny-brats18-wtseg" in report.checks[-1].detail


def test_a_sampler_cannot_run_on_a_holdout_task(tmp_path, use_tiny_tasks):
    folder = write_package(tmp_path / "s", "class Model:\n    def query(self, view, n, *, seed, progress):\n"
                           "        return []\n", kind="sampler")
    report = validate_submission(folder)
    assert not report.ok and "a sampler runs under active_learning" in report.checks[-1].detail


@pytest.mark.parametrize("name", ["brats-threshold-seg", "brats-uncertainty-sampler"])
def test_code_examples_validate_against_the_real_task_cards(name, capsys):
    assert main(["validate", f"submission={EXAMPLES / name}"]) == 0
    out = capsys.readouterr().out
    for check in ("package", "manifest", "entry point", "weights", "io contract brats18-"):
        assert "✓ " + check in out


def test_validate_cli_for_submissions_and_schema(tmp_path, capsys, use_tiny_tasks):
    assert main(["validate", "--schema"]) == 0
    assert json.loads(capsys.readouterr().out)["properties"]["kind"]["enum"] == \
        ["predictor", "trainable", "sampler", "predictions"]
    bad = write_package(tmp_path / "bad", "x = (", team="t")
    assert main(["validate", f"submission={bad}", f"task={HOLDOUT}"]) == 1
    assert "does not parse" in capsys.readouterr().out
    assert main(["validate", "task=tiny-brats"]) == 0  # the task form still works


def test_entry_file_shadowing_the_standard_library_is_refused(tmp_path, use_tiny_tasks):
    folder = write_package(tmp_path / "shadow", PREDICT_ONES)
    (folder / "model.py").rename(folder / "json.py")
    data = yaml.safe_load((folder / "submission.yaml").read_text())
    data["entry"]["file"] = "json.py"
    (folder / "submission.yaml").write_text(yaml.safe_dump(data))
    checks = {c.name: c for c in validate_submission(folder, HOLDOUT).checks}
    assert not checks["entry point"].ok and "standard-library module" in checks["entry point"].detail
