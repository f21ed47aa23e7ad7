"""Speaker embeddings from resemblyzer's shipped encoder, computed in one batch per recording.

resemblyzer's own `embed_utterance` computes 1.6 s partials overlapping by about half, each through
librosa; that costs a real-time factor of 0.06-0.08 on 2 cores, too much beside the recognizer. Here the
mel frames of each window the caller cuts are computed with numpy (the same filterbank librosa builds:
Slaney mel scale and norm, 25 ms Hann windows every 10 ms, zero-padded centred frames, power spectrum),
and the windows go through the encoder's LSTM in packed batches.
"""
import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from diarize.signal import MODEL_RATE

log = logging.getLogger(__name__)

_WINDOW_SAMPLES = 400  # 25 ms: resemblyzer's mel_window_length
HOP_SAMPLES = 160  # 10 ms: resemblyzer's mel_window_step
_MEL_BANDS = 40  # resemblyzer's mel_n_channels
_TARGET_DBFS = -30.0  # resemblyzer's audio_norm_target_dBFS: the level its encoder was trained on
_BATCH_WINDOWS = 128  # windows through the LSTM at once


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    # Slaney's scale: linear below 1 kHz, logarithmic above (librosa's default, htk=False).
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / (200.0 / 3)
    log_region = hz >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    hz = mel * (200.0 / 3)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), hz)


def _mel_filterbank() -> np.ndarray:
    """[bands, fft bins] triangular filters with Slaney area normalisation, as librosa.filters.mel."""
    fft_hz = np.linspace(0, MODEL_RATE / 2, 1 + _WINDOW_SAMPLES // 2)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(MODEL_RATE / 2), _MEL_BANDS + 2))
    widths = np.diff(edges_hz)
    ramps = edges_hz[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


_FILTERBANK = _mel_filterbank()
# Periodic Hann window (scipy's get_window("hann", n, fftbins=True), which librosa uses).
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_WINDOW_SAMPLES) / _WINDOW_SAMPLES)).astype(np.float32)


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """[frames, 40] mel power spectrogram of 16 kHz mono audio, one frame per 10 ms."""
    half = _WINDOW_SAMPLES // 2
    padded = np.pad(np.asarray(wav, dtype=np.float32), (half, half))
    count = 1 + (padded.shape[0] - _WINDOW_SAMPLES) // HOP_SAMPLES
    if count <= 0:
        return np.zeros((0, _MEL_BANDS), dtype=np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(padded, _WINDOW_SAMPLES)[::HOP_SAMPLES][:count]
    power = np.abs(np.fft.rfft(frames * _HANN, axis=1)) ** 2
    return (power.astype(np.float32) @ _FILTERBANK.T).astype(np.float32)


def normalized_level(wav: np.ndarray) -> np.ndarray:
    """`wav` scaled to the level the encoder was trained on (-30 dBFS RMS), whether quieter or louder:
    in a room, loudness says more about distance to the microphone than about who speaks."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms < 1e-6:
        return wav
    return (wav * (10 ** (_TARGET_DBFS / 20) / rms)).astype(np.float32)


class SpeakerEncoder:
    """resemblyzer's VoiceEncoder (weights shipped in the package), loaded on first use."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _loaded(self):
        with self._lock:
            if self._model is None:
                try:
                    from resemblyzer import VoiceEncoder
                except ImportError as exc:
                    raise RuntimeError(
                        "voice diarization needs resemblyzer (and the CPU build of torch): "
                        "pip install resemblyzer==0.1.4 webrtcvad-wheels torch==2.13.0"
                    ) from exc
                self._model = VoiceEncoder("cpu", verbose=False).eval()
                log.debug("loaded resemblyzer's voice encoder")
            return self._model

    def embed(self, mels: Sequence[np.ndarray]) -> np.ndarray:
        """[len(mels), 256] unit-length embeddings, one per mel window (any lengths, at least 1 frame)."""
        if not mels:
            return np.zeros((0, 256), dtype=np.float32)
        import torch
        from torch.nn.utils.rnn import pack_sequence

        model = self._loaded()
        parts = []
        # The thread count is the calling thread's own (OpenMP's setting per thread); oneDNN's switch is shared.
        with torch.inference_mode(), _torch_threads(1), _ONEDNN_OFF.held():
            # In batches: the LSTM keeps every step's output of a batch, about 0.5 GB for the ~800 windows
            # of a 10-minute chunk at once; 128 at a time cost no measurable speed.
            for first in range(0, len(mels), _BATCH_WINDOWS):
                batch = [torch.from_numpy(np.ascontiguousarray(m)) for m in mels[first : first + _BATCH_WINDOWS]]
                _, (hidden, _) = model.lstm(pack_sequence(batch, enforce_sorted=False))
                parts.append(model.relu(model.linear(hidden[-1])).numpy())
        raw = np.concatenate(parts)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return (raw / np.maximum(norms, 1e-12)).astype(np.float32)


class _SharedSwitch:
    """oneDNN off (see `_without_onednn`), process-wide, while any thread embeds: the first thread in turns it
    off, the last one out restores it. Each thread saving and restoring it itself (as a plain context manager
    does) goes wrong with two at once (two live rooms, or a room beside a file): the first out turns oneDNN
    back on under the second, and the second then restores "off" for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._held: contextlib.ExitStack | None = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                stack = contextlib.ExitStack()
                stack.enter_context(_without_onednn())
                self._held = stack
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    held, self._held = self._held, None
                    held.close()


@contextlib.contextmanager
def _without_onednn() -> Iterator[None]:
    # oneDNN caches a compiled LSTM for every distinct input shape (up to 1,024 of them), and each utterance
    # of a live room has its own length: resident memory grew 0.4 MB per embedding, +250 MB over 600
    # utterances (bench: a live room's memory +19 % in 30 minutes). PyTorch's own LSTM kernel gives the same
    # embeddings (measured: identical) at the same speed, and keeps nothing. The switch is process-wide, so
    # another thread's torch work (pyannote) may run without oneDNN meanwhile: slower at worst, never different.
    import torch

    with warnings.catch_warnings():
        # Setting the flags also sets oneDNN's TF32 switch, which warns that TF32 is for Intel GPUs only.
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False):
            yield


@contextlib.contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    # One thread: the batch is small, and with two OpenMP threads the LSTM was measured running
    # 40-100x slower when another process (the recognizer) kept the cores busy.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_ONEDNN_OFF = _SharedSwitch()
