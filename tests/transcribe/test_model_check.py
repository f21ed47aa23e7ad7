"""`bilu models check DIR` and BILU_ASR_DEVICE: a folder an operator brings is verified before it is used.

Broken folders are copies of the embedded model with one thing wrong (a file missing, a config that is not JSON,
model.bin cut short), as a failed copy or conversion leaves them; the good folder is the embedded model itself.
"""
import json
import os
import shutil
from pathlib import Path

import ctranslate2
import pytest
from click.testing import CliRunner

from api.cli import cli
from transcribe import ModelError, ModelSpec, embedded_model_dir, load_model, resolve_device
from transcribe.model import compute_type_for
from transcribe.model_check import folder_problems

pytestmark = pytest.mark.mechanism  # the outcome rests on the checks, not on the words the self-test hears


@pytest.fixture(scope="module")
def embedded() -> Path:
    return embedded_model_dir()


def _copy(embedded: Path, target: Path, *, model_bytes: int | None = None) -> Path:
    target.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copy(embedded / name, target / name)
    if model_bytes is None:
        os.symlink(embedded / "model.bin", target / "model.bin")
    else:
        with open(embedded / "model.bin", "rb") as src, open(target / "model.bin", "wb") as dst:
            dst.write(src.read(model_bytes))
    return target


def _check(folder: Path, home: Path, **env: str):
    return CliRunner().invoke(cli, ["models", "check", str(folder)], env={"BILU_HOME": str(home), **env})


def test_the_embedded_model_passes_the_files_checks(embedded):
    problems, vocabulary_size, mel_bins = folder_problems(embedded)
    assert problems == []
    assert vocabulary_size > 50000 and mel_bins == 80


@pytest.mark.parametrize(("breakage", "named"), [
    ("tokenizer.json", "tokenizer.json is missing"),
    ("vocabulary.json", "vocabulary.json (or vocabulary.txt) is missing"),
    ("config.json", "config.json is missing"),
])
def test_a_missing_file_is_named_and_exits_2(embedded, tmp_path, breakage, named):
    folder = _copy(embedded, tmp_path / "model")
    (folder / breakage).unlink()
    result = _check(folder, tmp_path / "home")
    assert result.exit_code == 2, result.output
    assert named in result.output and "ct2-transformers-converter" in result.output


def test_a_config_that_is_not_json_is_named(embedded, tmp_path):
    folder = _copy(embedded, tmp_path / "model")
    (folder / "config.json").write_text('{"alignment_heads": [[3, 1]', encoding="utf-8")
    result = _check(folder, tmp_path / "home")
    assert result.exit_code == 2 and "config.json is not valid JSON" in result.output


def test_a_config_from_another_model_is_named(embedded, tmp_path):
    folder = _copy(embedded, tmp_path / "model")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["lang_ids"] = [i + 100000 for i in config["lang_ids"]]
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    result = _check(folder, tmp_path / "home")
    assert result.exit_code == 2 and "lang_ids do not fit the vocabulary" in result.output


def test_a_large_v3_vocabulary_without_128_mel_bins_is_named(embedded, tmp_path):
    folder = _copy(embedded, tmp_path / "model")
    vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
    (folder / "vocabulary.json").write_text(json.dumps(vocabulary + ["<|yue|>"]), encoding="utf-8")
    problems, _, _ = folder_problems(folder)
    assert any("feature_size 128" in p for p in problems)


@pytest.mark.parametrize("kept_bytes", [1000, 60_000_000])
def test_a_truncated_model_bin_is_named_and_exits_2(embedded, tmp_path, kept_bytes):
    folder = _copy(embedded, tmp_path / "model", model_bytes=kept_bytes)
    result = _check(folder, tmp_path / "home")
    assert result.exit_code == 2, result.output
    assert "truncated" in result.output or "does not load" in result.output


def test_not_a_folder_exits_2(tmp_path):
    result = _check(tmp_path / "nothing-here", tmp_path / "home")
    assert result.exit_code == 2 and "is not a folder" in result.output


@pytest.mark.recognition
def test_a_good_folder_passes_the_self_test_and_says_how_to_use_it(embedded, tmp_path):
    folder = _copy(embedded, tmp_path / "large-v3-stand-in")
    result = _check(folder, tmp_path / "home", BILU_ASR_DEVICE="auto")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"ok: {folder}")
    assert "self-test: 5.0 s of speech" in result.output
    assert f"BILU_ASR_MODEL={folder.resolve()}" in result.output


def test_models_alone_still_prepares_and_prints_the_folder(embedded, tmp_path):
    result = CliRunner().invoke(cli, ["models"], env={"BILU_HOME": str(tmp_path / "home")})
    assert result.exit_code == 0 and result.output.strip() == str(embedded)


# BILU_ASR_DEVICE

GPUS = ctranslate2.get_cuda_device_count()


def test_auto_takes_a_gpu_only_when_there_is_one():
    assert resolve_device("auto") == ("cuda" if GPUS else "cpu")
    assert resolve_device("cpu") == "cpu"


def test_cuda_without_a_gpu_is_a_configuration_error(tmp_path):
    if GPUS:
        assert resolve_device("cuda") == "cuda"
        return
    with pytest.raises(ModelError, match="BILU_ASR_DEVICE=cuda but CTranslate2 sees no CUDA GPU"):
        load_model(ModelSpec(device="cuda"))
    result = CliRunner().invoke(cli, ["models", "check", "/nonexistent"],
                                env={"BILU_HOME": str(tmp_path / "home"), "BILU_ASR_DEVICE": "cuda"})
    assert result.exit_code == 1 and "BILU_ASR_DEVICE=cuda" in result.output


def test_an_unknown_device_is_refused_by_the_settings(tmp_path):
    result = CliRunner().invoke(cli, ["models"], env={"BILU_HOME": str(tmp_path / "home"), "BILU_ASR_DEVICE": "tpu"})
    assert result.exit_code == 1 and "BILU_ASR_DEVICE" in result.output


def test_gpu_compute_types_belong_to_the_gpu():
    assert compute_type_for("int8", "cuda") == "int8_float16"
    assert compute_type_for("float16", "cuda") == "float16"
    assert compute_type_for("int8", "cpu") == "int8"
    with pytest.raises(ModelError, match="BILU_ASR_COMPUTE=float16 runs only on a GPU"):
        compute_type_for("float16", "cpu")
