"""The file pipeline recognises with faster-whisper's batched pipeline (BILU_ASR_BATCH_SIZE) inside its windows.

The recording is tests/transcribe/test_batched.py's: the labelled clips of tests/data with 3 s of silence between
them (74 s), here as a file given to the pipeline with 45 s windows (BILU_FILE_WINDOW_S), so a window holds
more speech than one 30 s chunk. Properties only, never the words.
"""
import dataclasses

import pytest

from capture import decode_windows
from engine.pipeline import FileRequest, Pipeline
from engine.session_run import SessionOptions
from engine.settings import Settings
from cases import Store
from tests.audio_helpers import clips_with_gaps, write_audio
from tests.transcribe.test_batched import CLIPS, GAP_S
from transcribe import TranscribeOptions

RATE = 16000
WINDOW_S = 45.0  # with its search span: two windows, the first holding more than 30 s of speech


@pytest.fixture(scope="module")
def recording(data_dir, manifest):
    return clips_with_gaps(data_dir, manifest, CLIPS, gap_s=GAP_S)


class CountingModel:
    """The real model, counting what the batched pipeline gives it: the audio of each chunk it computes features
    for, and how many chunks it encodes at once. Nothing is changed on the way."""

    def __init__(self, model):
        self._model = model
        self.chunks_s: list[float] = []
        self.encoded: list[int] = []
        self.feature_extractor = _CountingExtractor(model.feature_extractor, self.chunks_s)

    def __getattr__(self, name):
        return getattr(self._model, name)

    def encode(self, features):
        self.encoded.append(features.shape[0] if features.ndim == 3 else 1)
        return self._model.encode(features)


class _CountingExtractor:
    def __init__(self, extractor, chunks_s):
        self._extractor, self._chunks_s = extractor, chunks_s

    def __getattr__(self, name):
        return getattr(self._extractor, name)

    def __call__(self, audio, *args, **kwargs):
        self._chunks_s.append(len(audio) / RATE)
        return self._extractor(audio, *args, **kwargs)


def test_the_file_pipeline_recognises_each_window_in_bounded_batches(tmp_path, recording, whisper_model):
    """Through the file pipeline in windows: Whisper is given chunks of at most 30 s, each once, at most batch-size
    of them at once (what bounds its memory besides the window), and every line lies inside one window."""
    samples, _, _ = recording
    path = write_audio(tmp_path / "clips.wav", samples, RATE)
    counting = CountingModel(whisper_model)
    settings = Settings(home=tmp_path / "home", file_window_s=WINDOW_S, asr_batch_size=2)
    with Store.open(settings.home) as store:
        result = Pipeline(settings, model=counting).transcribe_file(store, FileRequest(path=path, case_no="A-1",
                                                                                       num_speakers=1))
        session = store.get_session(result.session_id)
        utterances = store.utterances(result.session_id)
    _, windows = decode_windows(path, window_s=WINDOW_S)
    edges = [(w.start_s, w.end_s) for w in windows]
    assert len(edges) == 2
    assert len(counting.encoded) >= 2 and 2 in counting.encoded  # a batch of two chunks, in the first window
    assert session["status"] == "done" and session["options"]["batch_size"] == 2
    assert counting.chunks_s and max(counting.chunks_s) <= 30.0 + 0.01
    # Speech only, each chunk once: never more than the recording, whatever the windows.
    assert sum(counting.chunks_s) <= len(samples) / RATE
    assert counting.encoded and max(counting.encoded) <= 2
    assert len(utterances) >= len(CLIPS)
    for u in utterances:
        assert any(start - 0.05 <= u["start_s"] and u["end_s"] <= end + 0.05 for start, end in edges), (u, edges)
        for w in u["words"]:
            assert u["start_s"] <= w["start_s"] <= w["end_s"] <= u["end_s"]


def test_the_batch_size_is_stored_and_an_older_session_resumes_sequentially(tmp_path):
    record = TranscribeOptions(batch_size=8).as_record()
    assert record["batch_size"] == 8 and record["whisper"]["batch_size"] == 8
    assert record["whisper"]["word_timestamps"] is True and record["whisper"]["without_timestamps"] is False
    assert "batch_size" not in TranscribeOptions().as_record()["whisper"]  # sequential: WhisperModel's arguments
    settings = Settings(home=tmp_path)
    assert Pipeline(settings).options().batch_size == settings.asr_batch_size == 0  # batching is opted into
    assert Pipeline(Settings(home=tmp_path, asr_batch_size=8)).options().batch_size == 8
    older = {k: v for k, v in TranscribeOptions().as_record().items() if k not in ("batch_size", "batch_text_only")}
    session = {"options": older, "model": "base", "diarizer": "voice", "rule_set": "default", "conditions": []}
    assert SessionOptions.of(session, settings).transcribe.batch_size == 0
    stored = {**session, "options": record}
    assert SessionOptions.of(stored, settings).transcribe == dataclasses.replace(TranscribeOptions(), batch_size=8)
