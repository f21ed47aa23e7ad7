"""Checking an operator's pyannote pipeline folder before pyannote sees it.

pyannote.audio treats anything that is not an existing local path as a model name on its hub and tries to
download it. Bilu must never reach the network, and a broken folder must be reported when the service
starts, in words an operator can act on: so every model the folder's config.yaml names is checked here to
lie inside the folder, with the files pyannote will open.
"""
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from diarize.errors import DiarizerUnavailable

CONFIG_NAME = "config.yaml"
# What pyannote opens for each kind of asset a "$model/<subfolder>" entry points at.
MODEL_FILE = "pytorch_model.bin"
PLDA_FILES = ("xvec_transform.npz", "plda.npz")
# Entries of pipeline.params that name a model or a PLDA (pyannote's SpeakerDiarization arguments).
ASSET_KEYS = ("segmentation", "embedding", "plda")


def checked_pipeline_folder(pipeline_dir: object) -> tuple[Path, dict[str, Any]]:
    """The folder as an absolute Path and its parsed config.yaml, or DiarizerUnavailable (a DiarizationError) saying what is wrong."""
    if not isinstance(pipeline_dir, (str, Path)) or not str(pipeline_dir).strip():
        raise DiarizerUnavailable(
            f"pyannote pipeline folder must be a path (set BILU_PYANNOTE_PIPELINE), got {pipeline_dir!r}"
        )
    folder = Path(pipeline_dir).expanduser().resolve()
    if not folder.is_dir():
        raise DiarizerUnavailable(
            f"pyannote pipeline folder {folder} does not exist or is not a folder; copy the pipeline "
            f"(config.yaml, segmentation/, embedding/, plda/) there or point BILU_PYANNOTE_PIPELINE at it"
        )
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise DiarizerUnavailable(f"pyannote pipeline folder {folder} has no {CONFIG_NAME}; it is not a pipeline folder")
    config = _read_config(config_path)
    for key, value in _asset_entries(config):
        _check_asset(folder, key, value)
    return folder, config


def _read_config(path: Path) -> dict[str, Any]:
    import yaml  # PyYAML comes with pyannote.audio (and with huggingface_hub)

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DiarizerUnavailable(f"{path} cannot be read as YAML: {exc}") from None
    name = config.get("pipeline", {}).get("name") if isinstance(config, dict) else None
    if not isinstance(name, str) or not name.endswith("SpeakerDiarization"):
        raise DiarizerUnavailable(
            f"{path} must describe a pyannote SpeakerDiarization pipeline (pipeline: name: "
            f"pyannote.audio.pipelines.SpeakerDiarization), found pipeline name {name!r}"
        )
    return config


def _asset_entries(config: dict[str, Any]) -> Iterator[tuple[str, object]]:
    """(key, value) of every model reference: the asset keys of pipeline.params, and any "$model/..." string
    anywhere else in the file (pyannote expands those wherever they are)."""
    params = config["pipeline"].get("params") or {}
    if not isinstance(params, dict):
        raise DiarizerUnavailable(f"{CONFIG_NAME}: pipeline.params must be a mapping, got {type(params).__name__}")
    for key in ASSET_KEYS:
        if key not in params:
            # pyannote's default for a missing entry is a model on its hub: refuse rather than go looking.
            raise DiarizerUnavailable(f"{CONFIG_NAME}: pipeline.params.{key} is missing; name a subfolder, as $model/{key}")
        yield key, params[key]
    yield from ((key, value) for key, value in _model_strings(config) if key not in ASSET_KEYS)


def _model_strings(node: object, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from _model_strings(value, str(child_key))
    elif isinstance(node, list):
        for value in node:
            yield from _model_strings(value, key)
    elif isinstance(node, str) and node.startswith("$model/"):
        yield key, node


def _check_asset(folder: Path, key: str, value: object) -> None:
    if not isinstance(value, str) or not value.startswith("$model/"):
        raise DiarizerUnavailable(
            f"{CONFIG_NAME}: {key} is {value!r}, which is not inside the pipeline folder; only "
            f"\"$model/<subfolder>\" entries are allowed (pyannote would try to download anything else)"
        )
    subfolder = value.removeprefix("$model/").split("@", 1)[0].strip("/")
    where = (folder / subfolder).resolve()
    if not where.is_relative_to(folder):
        raise DiarizerUnavailable(f"{CONFIG_NAME}: {key} ({value}) points outside the pipeline folder {folder}")
    expected = PLDA_FILES if key == "plda" else (MODEL_FILE,)
    missing = [name for name in expected if not (where / name).is_file()]
    if missing:
        raise DiarizerUnavailable(
            f"pyannote pipeline folder {folder}: {key} ({value}) needs {', '.join(str(where / m) for m in missing)}, "
            f"which is missing"
        )
