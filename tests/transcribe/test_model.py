import pytest

from transcribe import ModelError, ModelSpec, embedded_model_dir, load_model, resolve_model_dir
from transcribe.model import EMBEDDED_MODEL_BYTES


def test_embedded_model_is_assembled_and_verified(tmp_path):
    folder = embedded_model_dir(tmp_path)
    assert (folder / "model.bin").stat().st_size == EMBEDDED_MODEL_BYTES
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (folder / name).is_file()
    assert (folder / ".verified").is_file()
    # A second call reuses the assembly instead of copying 145 MB again.
    before = (folder / "model.bin").stat().st_mtime_ns
    assert embedded_model_dir(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == before


def test_a_damaged_assembly_is_rebuilt(tmp_path):
    folder = embedded_model_dir(tmp_path)
    with open(folder / "model.bin", "r+b") as f:
        f.truncate(1000)
    assert (embedded_model_dir(tmp_path) / "model.bin").stat().st_size == EMBEDDED_MODEL_BYTES


def test_operator_folder_must_exist(tmp_path):
    with pytest.raises(ModelError, match="not 'base' and not a folder"):
        resolve_model_dir(str(tmp_path / "large-v3"))


def test_operator_folder_must_hold_a_model(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="missing model.bin"):
        resolve_model_dir(str(tmp_path))


def test_operator_folder_is_loaded_like_the_embedded_one(tmp_path):
    # Any CTranslate2 Whisper folder works: here a copy of the embedded one, as an operator would provide it.
    folder = embedded_model_dir(tmp_path / "cache")
    model = load_model(ModelSpec(str(folder)))
    assert model.model.is_multilingual


def test_unknown_compute_type_is_refused():
    with pytest.raises(ModelError, match="BILU_ASR_COMPUTE='float99'"):
        load_model(ModelSpec(compute_type="float99"))
