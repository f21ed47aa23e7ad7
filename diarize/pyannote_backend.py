"""Who spoke when, by pyannote.audio's speaker-diarization pipeline, loaded from a local folder only.

pyannote.audio is optional (`pip install .[pyannote]`) and imported only when this backend is built. No
pip package ships its weights: the site copies a pipeline folder (e.g. speaker-diarization-community-1)
onto the machine and names it in BILU_PYANNOTE_PIPELINE. Nothing leaves the machine: telemetry is off,
every model must lie inside the folder (diarize.pyannote_folder), and audio is handed over in memory
(pyannote's own decoder, torchcodec, does not work with the CPU torch here).

Long recordings go through in windows (10 minutes by default): pyannote's cost and memory grow with the
length of what it is given (its clustering is quadratic in the number of chunks), so each window is
diarized on its own and a SpeakerLedger keeps speaker identities across windows by embedding centroids.
Words are assigned from the exclusive output (one speaker at a time), as diarize.assign_speakers needs.
"""
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterable
from typing import Any

import numpy as np

from diarize.errors import DiarizationError, DiarizerUnavailable
from diarize.pyannote_folder import checked_pipeline_folder
from diarize.signal import MODEL_RATE, check_num_speakers, checked_audio, mixdown, report_progress, to_model_rate
from diarize.speaker_ledger import SpeakerLedger
from diarize.turns import merge_spans, to_turns
from diarize.types import ProgressCallback, SpeakerTurn

log = logging.getLogger(__name__)

NOT_INSTALLED = "pyannote.audio is not installed: pip install .[pyannote]"

# Less speech than this gives no usable embedding (a few ResNet frames).
_MIN_EMBEDDING_S = 0.5
# Share of a window's work done when each pyannote step ends (measured: embeddings dominate, about 3/4).
_STEP_SPAN = {"segmentation": (0.0, 0.2), "speaker_counting": (0.2, 0.22), "embeddings": (0.22, 0.95),
              "discrete_diarization": (0.95, 1.0)}


@dataclass(frozen=True, slots=True)
class PyannoteTuning:
    """How the pyannote backend cuts long recordings and joins the pieces."""

    # Each window is diarized on its own; 10 minutes keeps pyannote's memory and clustering cost bounded
    # while holding enough of each voice for good per-window centroids.
    window_s: float = 600.0
    # A window's speaker is taken for a known speaker when their centroids' cosine similarity reaches
    # this. Not measured here (no trained weights on this machine): WeSpeaker ResNet34 scores of one voice
    # usually sit well above 0.5 and of different voices well below; tune on a site's own recordings.
    min_centroid_similarity: float = 0.5
    # A speaker's embedding for that matching is taken from at most this much of their speech per window:
    # enough for a stable voice print, a small cost next to the window's own diarization.
    embedding_speech_s: float = 30.0


def _import_pyannote() -> Any:
    """pyannote.audio's Pipeline class, with telemetry and hub access switched off first."""
    # Read by pyannote at each call, and by huggingface_hub when it is first imported.
    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from pyannote.audio import Pipeline
    except ImportError as exc:
        raise DiarizerUnavailable(NOT_INSTALLED) from exc
    except OSError as exc:  # a native library of the CUDA torchaudio build, left in place
        raise DiarizerUnavailable(
            f"pyannote.audio is installed but cannot be imported ({exc}); reinstall it with "
            f"diarize/install_pyannote.sh, which makes torchaudio work with the CPU torch"
        ) from exc
    return Pipeline


class PyannoteDiarizer:
    """Diarization by pyannote.audio from an operator-supplied pipeline folder (all channels mixed down)."""

    name = "pyannote"

    def __init__(self, pipeline_dir: Path | str, *, max_speakers: int = 8,
                 tuning: PyannoteTuning = PyannoteTuning()) -> None:
        """Load the pipeline now, so a missing or broken folder stops the service at start-up.

        Raises DiarizationError for a bad argument; DiarizerUnavailable (a DiarizationError too) when
        pyannote.audio is not installed, or the folder is missing, has no
        config.yaml, names a model outside itself or a file that is absent, or holds a file that fails to load.
        """
        if isinstance(max_speakers, bool) or not isinstance(max_speakers, int) or max_speakers < 1:
            raise DiarizationError(f"max_speakers must be a whole number of at least 1, got {max_speakers!r}")
        if not (isinstance(tuning.window_s, (int, float)) and tuning.window_s >= 10.0):
            # One window must hold at least one of pyannote's 10 s segmentation chunks.
            raise DiarizationError(f"window_s must be at least 10 seconds, got {tuning.window_s!r}")
        self.max_speakers = max_speakers
        self.tuning = tuning
        pipeline_class = _import_pyannote()
        self.pipeline_dir, _ = checked_pipeline_folder(pipeline_dir)
        try:
            pipeline = pipeline_class.from_pretrained(self.pipeline_dir)
        except Exception as exc:  # a corrupt file fails in torch, numpy, yaml or lightning: say which folder
            raise DiarizerUnavailable(
                f"pyannote pipeline folder {self.pipeline_dir} cannot be loaded "
                f"({type(exc).__name__}: {exc}); copy the pipeline again"
            ) from exc
        if pipeline is None or not hasattr(pipeline, "apply"):
            raise DiarizerUnavailable(f"pyannote pipeline folder {self.pipeline_dir} did not give a pipeline")
        embed = getattr(pipeline, "_embedding", None)
        if embed is None or not callable(embed):
            raise DiarizerUnavailable(
                f"pyannote pipeline folder {self.pipeline_dir} has no speaker embedding model; Bilu needs one "
                f"to keep speakers apart across the windows of long recordings"
            )
        # The exclusive output (one speaker at a time) comes only with the full DiarizeOutput.
        pipeline.legacy = False
        self._pipeline = pipeline
        self._embed = embed
        log.info("pyannote pipeline loaded from %s", self.pipeline_dir)

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> list[SpeakerTurn]:
        """Turns labelled S1, S2, ... in order of first appearance, `channel=None`, never overlapping.

        `num_speakers`, when given, is the exact number of speakers (1 to max_speakers) for a recording
        that fits one window, and the most there can be for a longer one. Empty audio gives [].
        """
        audio = checked_audio(audio, sample_rate)
        duration_s = audio.shape[0] / sample_rate
        windows = _windows(audio.shape[0], sample_rate, window_s=self.tuning.window_s)
        return self.diarize_chunks((audio[a:b] for a, b in windows), sample_rate, num_speakers=num_speakers,
                                   progress=progress, total_s=duration_s)

    def diarize_chunks(
        self,
        chunks: Iterable[np.ndarray],
        sample_rate: int,
        *,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
        total_s: float | None = None,
    ) -> list[SpeakerTurn]:
        """As `diarize`, over a recording given as consecutive chunks (each diarized as one window, or in
        several if longer than `window_s`), so that a long file need never be in memory whole. `total_s`, the
        recording's length if known, lets progress be reported and the exact `num_speakers` be used when
        the whole recording is one window."""
        check_num_speakers(num_speakers, most=self.max_speakers)
        report_progress(progress, 0.0)
        ledger = SpeakerLedger(min_similarity=self.tuning.min_centroid_similarity,
                               max_speakers=num_speakers or self.max_speakers)
        one_window = total_s is not None and total_s <= self.tuning.window_s
        spans: list[tuple[float, float, int]] = []
        offset_s, windows = 0.0, 0
        for chunk in chunks:
            chunk = checked_audio(chunk, sample_rate)
            for start, end in _windows(chunk.shape[0], sample_rate, window_s=self.tuning.window_s):
                window_s = (end - start) / sample_rate
                # pyannote's models need a few hundred milliseconds to produce a frame; shorter audio holds no turn.
                if window_s >= 0.5:
                    spans += self._spans_of_window(chunk[start:end], sample_rate, ledger, progress=progress,
                                                   offset_s=offset_s, total_s=total_s, one_window=one_window,
                                                   num_speakers=num_speakers)
                offset_s += window_s
                windows += 1
        spans.sort()
        # Only abutting pieces of one speaker are joined (across window edges); pyannote's own gaps stay.
        turns = to_turns(merge_spans(spans, max_gap_s=0.0), use_channel=False, duration_s=offset_s)
        report_progress(progress, 1.0)
        log.debug("pyannote: %.1f s in %d window(s) -> %d speakers, %d turns",
                  offset_s, windows, ledger.count, len(turns))
        return turns

    def _spans_of_window(self, audio: np.ndarray, sample_rate: int, ledger: SpeakerLedger, *,
                         progress: ProgressCallback | None, offset_s: float, total_s: float | None,
                         one_window: bool, num_speakers: int | None) -> list[tuple[float, float, int]]:
        """(start_s, end_s, speaker id in the ledger) of one window, on the recording's clock."""
        mono = to_model_rate(mixdown(audio), sample_rate)
        duration_s = audio.shape[0] / sample_rate
        total = total_s if total_s else None
        hook = _ProgressHook(progress if total else None, done=offset_s / total if total else 0.0,
                             share=duration_s / total if total else 0.0)
        limits = {"num_speakers": num_speakers} if one_window else {"max_speakers": num_speakers}
        local = self._window_spans(mono, hook, limits if num_speakers else {})
        if not local:
            return []
        labels = sorted({label for _, _, label in local})
        centroids = _speaker_embeddings(mono, local, labels, self._embed, max_speech_s=self.tuning.embedding_speech_s)
        weights_s = np.array([sum(e - s for s, e, lab in local if lab == label) for label in labels])
        global_ids = dict(zip(labels, ledger.assign(centroids, weights_s)))
        return [(offset_s + s, offset_s + e, global_ids[label]) for s, e, label in local]

    def _window_spans(self, mono: np.ndarray, hook: "_ProgressHook",
                      limits: dict[str, int]) -> list[tuple[float, float, str]]:
        """(start_s, end_s, local label) of the exclusive diarization of one window, clipped to it."""
        import torch

        os.environ["PYANNOTE_METRICS_ENABLED"] = "false"
        waveform = torch.from_numpy(np.ascontiguousarray(mono, dtype=np.float32)[None, :])
        output = self._pipeline({"waveform": waveform, "sample_rate": MODEL_RATE}, hook=hook, **limits)
        length_s = mono.shape[0] / MODEL_RATE
        spans = []
        for segment, _, label in output.exclusive_speaker_diarization.itertracks(yield_label=True):
            start_s, end_s = max(0.0, float(segment.start)), min(length_s, float(segment.end))
            if end_s > start_s:
                spans.append((start_s, end_s, str(label)))
        return spans


def _speaker_embeddings(mono: np.ndarray, spans: list[tuple[float, float, str]], labels: list[str],
                        embed: Any, *, max_speech_s: float) -> np.ndarray:
    """[labels, dimension] embeddings, one per local speaker, of up to `max_speech_s` of that speaker's
    exclusive speech (longest pieces first); a row of zeros for a speaker with too little speech.

    pyannote's own centroids are not used: VBx gives NaN for every speaker of a window with fewer than two
    clean chunk embeddings (a quiet window, a short one), and the windows must be joined regardless.
    """
    import torch

    rows: list[np.ndarray | None] = []
    for label in labels:
        pieces = sorted(((e - s, s, e) for s, e, lab in spans if lab == label), reverse=True)
        chosen, total_s = [], 0.0
        for length_s, start_s, end_s in pieces:
            if total_s >= max_speech_s:
                break
            end_s = min(end_s, start_s + max_speech_s - total_s)
            chosen.append(mono[int(start_s * MODEL_RATE) : int(end_s * MODEL_RATE)])
            total_s += end_s - start_s
        speech = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.float32)
        if speech.shape[0] < _MIN_EMBEDDING_S * MODEL_RATE:
            rows.append(None)
            continue
        with torch.inference_mode():
            waveform = torch.from_numpy(np.ascontiguousarray(speech, dtype=np.float32))[None, None]
            vector = np.asarray(embed(waveform))[0]
        rows.append(np.nan_to_num(vector.astype(np.float64), nan=0.0))
    dimension = next((row.shape[0] for row in rows if row is not None), 1)
    return np.stack([row if row is not None else np.zeros(dimension) for row in rows])


def _windows(frames: int, sample_rate: int, *, window_s: float) -> list[tuple[int, int]]:
    """[start, end) frame ranges of equal windows no longer than `window_s` (equal, so none is a sliver)."""
    count = max(1, math.ceil(frames / (window_s * sample_rate)))
    bounds = np.linspace(0, frames, count + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


class _ProgressHook:
    """pyannote's hook(step, artefact, file=..., total=..., completed=...) turned into a fraction of the
    whole recording: this window covers [done, done + share)."""

    def __init__(self, progress: ProgressCallback | None, *, done: float, share: float) -> None:
        self.progress, self.done, self.share = progress, done, share
        self.reached = 0.0

    def __call__(self, step: str, artefact: object, file: object = None, *,
                 total: int | None = None, completed: int | None = None) -> None:
        if self.progress is None or step not in _STEP_SPAN:
            return
        begin, end = _STEP_SPAN[step]
        within = end if not total or completed is None else begin + (end - begin) * min(1.0, completed / total)
        # pyannote reports some steps more than once: tell the caller only when the work moved on.
        if within > self.reached:
            self.reached = within
            self.progress(self.done + self.share * within)
