"""Is a folder a CTranslate2 Whisper model Bilu can use? Files, config, vocabulary, then a short self-test.

For an operator who brings a larger model (large-v3, large-v3-turbo, a Mandarin fine-tune) for BILU_ASR_MODEL:
`bilu models check DIR` runs `check_model_folder` and says what is wrong, one problem a line, or how long the
self-test took and what it heard. Converting a checkpoint is done elsewhere (it needs `transformers` and the
internet, which an interview room's machine has neither of): `CONVERT_HINT` says how.
"""
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from error_kinds import BadInput
from transcribe.model import ModelError, ModelSpec, load_model

__all__ = ["CONVERT_HINT", "ModelFolderInvalid", "SelfTest", "check_model_folder", "folder_problems"]

CONVERT_HINT = (
    "to convert a Hugging Face Whisper checkpoint (on a machine with internet: pip install ctranslate2 "
    "transformers[torch]): ct2-transformers-converter --model openai/whisper-large-v3 --output_dir "
    "whisper-large-v3-ct2 --copy_files tokenizer.json preprocessor_config.json --quantization float16; "
    "then copy the folder here and set BILU_ASR_MODEL to it"
)
SELF_TEST_S = 5.0
_MIN_MODEL_BYTES = 1 << 20  # the smallest Whisper (tiny, int8) is ~40 MB; anything under 1 MB is not a model
_REQUIRED_TOKENS = ("<|startoftranscript|>", "<|zh|>", "<|transcribe|>", "<|notimestamps|>")
_V3_VOCABULARY = 51866  # large-v3 added <|yue|>: its models take 128 mel bins, not 80
_HAN = re.compile(r"[\u3400-\u9fff]")


class ModelFolderInvalid(BadInput):
    """The folder given is not a usable CTranslate2 Whisper model; the message lists every problem found."""

    code = "model_folder_invalid"

    def __init__(self, folder: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{folder}: not a usable CTranslate2 Whisper model: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class SelfTest:
    seconds_of_audio: float
    seconds_taken: float
    text: str
    vocabulary_size: int
    mel_bins: int


def folder_problems(folder: Path) -> tuple[list[str], int, int]:
    """(problems, vocabulary size, mel bins) from the files alone, without loading the model."""
    if not folder.is_dir():
        return [f"{folder} is not a folder"], 0, 0
    problems = []
    model_bin = folder / "model.bin"
    if not model_bin.is_file():
        problems.append("model.bin is missing")
    elif model_bin.stat().st_size < _MIN_MODEL_BYTES:
        problems.append(f"model.bin has only {model_bin.stat().st_size} bytes (truncated?)")
    config = _json(folder / "config.json", problems)
    if config is not None and not isinstance(config, dict):
        problems.append("config.json is not a JSON object")
        config = None
    if not (folder / "tokenizer.json").is_file():
        problems.append("tokenizer.json is missing (faster-whisper would fetch one from the internet)")
    else:
        _json(folder / "tokenizer.json", problems)
    vocabulary = _vocabulary(folder, problems)
    missing = [t for t in _REQUIRED_TOKENS if vocabulary and t not in vocabulary]
    if missing:
        problems.append(f"the vocabulary lacks {', '.join(missing)}: not a multilingual Whisper model")
    if config is not None and vocabulary:
        lang_ids = config.get("lang_ids", [])
        if not isinstance(lang_ids, list) or any(not isinstance(i, int) or i >= len(vocabulary) for i in lang_ids):
            problems.append("config.json lang_ids do not fit the vocabulary (config and vocabulary of different models?)")
    mel_bins = _mel_bins(folder, problems)
    if vocabulary and len(vocabulary) >= _V3_VOCABULARY and mel_bins != 128:
        problems.append("a large-v3 vocabulary needs preprocessor_config.json with feature_size 128 "
                        "(copy it with --copy_files preprocessor_config.json)")
    return problems, len(vocabulary), mel_bins


def check_model_folder(folder: Path, samples: np.ndarray, *, device: str = "cpu",
                       compute_type: str = "int8") -> SelfTest:
    """Check the folder's files, load it, and recognise `samples` (16 kHz mono, Mandarin speech; the first
    SELF_TEST_S seconds are used). Raises ModelFolderInvalid naming every problem found."""
    folder = Path(folder).expanduser()
    problems, vocabulary_size, mel_bins = folder_problems(folder)
    if problems:
        raise ModelFolderInvalid(folder, problems)
    try:
        model = load_model(ModelSpec(str(folder), compute_type=compute_type, device=device))
    except ModelError as exc:
        raise ModelFolderInvalid(folder, [f"the model does not load ({exc.__cause__ or exc})"]) from exc
    clip = samples[: int(SELF_TEST_S * 16000)].astype(np.float32)
    started = time.perf_counter()
    try:
        segments, _ = model.transcribe(clip, language="zh", beam_size=1, vad_filter=False,
                                       condition_on_previous_text=False)
        text = "".join(s.text for s in segments).strip()
    except (RuntimeError, ValueError) as exc:
        raise ModelFolderInvalid(folder, [f"the self-test failed ({exc})"]) from exc
    taken = time.perf_counter() - started
    if len(_HAN.findall(text)) < 2:
        raise ModelFolderInvalid(folder, [f"the self-test on {len(clip) / 16000:.1f} s of Mandarin speech gave "
                                          f"no Chinese text ({text[:40]!r})"])
    return SelfTest(seconds_of_audio=round(len(clip) / 16000, 2), seconds_taken=round(taken, 2), text=text,
                    vocabulary_size=vocabulary_size, mel_bins=mel_bins)


def _json(path: Path, problems: list[str]):
    if not path.is_file():
        problems.append(f"{path.name} is missing")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{path.name} is not valid JSON ({exc})")
        return None


def _vocabulary(folder: Path, problems: list[str]) -> list[str]:
    if (folder / "vocabulary.json").is_file():
        tokens = _json(folder / "vocabulary.json", problems)
        if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
            problems.append("vocabulary.json is not a list of tokens")
            return []
        return tokens or []
    if (folder / "vocabulary.txt").is_file():
        return (folder / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    problems.append("vocabulary.json (or vocabulary.txt) is missing")
    return []


def _mel_bins(folder: Path, problems: list[str]) -> int:
    if not (folder / "preprocessor_config.json").is_file():
        return 80  # faster-whisper's default without the file
    config = _json(folder / "preprocessor_config.json", problems)
    return int(config.get("feature_size", 80)) if isinstance(config, dict) else 80
