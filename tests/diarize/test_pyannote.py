"""The pyannote backend, run through the real pyannote.audio code offline, against a pipeline folder built
from randomly initialised models of the real architectures (tests/diarize/pyannote_folder.py).

The models are untrained, so who-is-who is meaningless; what is tested is loading, running, windowing,
speaker identity across windows, word assignment, progress and every error an operator can meet.
pytest-socket (in the project's addopts) refuses any network connection while these run.
"""
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")  # pyannote's telemetry, off before its import
# make installs pyannote.audio (diarize/install_pyannote.sh): a missing one fails here rather than skip.
import pyannote.audio  # noqa: E402,F401

from diarize import (  # noqa: E402
    DiarizationError, PyannoteDiarizer, PyannoteTuning, SpeakerTurn, assign_speakers, make_diarizer,
)
from diarize.pyannote_backend import NOT_INSTALLED  # noqa: E402
from tests.diarize.pyannote_folder import build_pipeline_folder  # noqa: E402
from transcribe.types import Utterance, Word  # noqa: E402

RATE = 16000


@pytest.fixture(scope="session")
def pipeline_folder(tmp_path_factory) -> Path:
    # The folder's name must not contain "wespeaker", "speechbrain" or "nvidia" (see pyannote_folder).
    return build_pipeline_folder(tmp_path_factory.mktemp("pipeline") / "community-like")


@pytest.fixture(scope="session")
def diarizer(pipeline_folder) -> PyannoteDiarizer:
    return PyannoteDiarizer(pipeline_folder)


@pytest.fixture(scope="session")
def room_run(diarizer, room_mono):
    seen: list[float] = []
    turns = diarizer.diarize(room_mono, RATE, progress=seen.append)
    return turns, seen


def _broken_copy(pipeline_folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "pipeline"
    shutil.copytree(pipeline_folder, copy)
    return copy


def _check_turns(turns: list[SpeakerTurn], duration_s: float) -> None:
    assert turns, "the pipeline found no speech at all"
    for turn in turns:
        assert 0.0 <= turn.start_s < turn.end_s <= duration_s
        assert turn.channel is None
    for before, after in zip(turns, turns[1:]):
        assert before.end_s <= after.start_s, "exclusive turns must not overlap"
    order = list(dict.fromkeys(t.speaker for t in turns))
    assert order == [f"S{k}" for k in range(1, len(order) + 1)]


def test_the_folder_loads_and_a_recording_gives_clean_turns(room_run, room_mono, diarizer):
    turns, _ = room_run
    assert diarizer.name == "pyannote"
    _check_turns(turns, room_mono.shape[0] / RATE)


def test_progress_goes_from_0_to_1_through_pyannotes_steps(room_run):
    _, seen = room_run
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)
    # Segmentation and embedding steps in between, not just the two ends.
    assert len([f for f in seen if 0.0 < f < 1.0]) >= 3


def test_words_get_speakers_from_the_turns(room_run, room_mono):
    turns, _ = room_run
    duration_s = room_mono.shape[0] / RATE
    words = [Word(start_s, start_s + 0.4, "字", 0.9) for start_s in np.arange(0.0, duration_s - 0.5, 0.5)]
    utterances = [Utterance.from_words(words[k : k + 10]) for k in range(0, len(words), 10)]
    pieces = list(assign_speakers(utterances, turns))
    assert [w for p in pieces for w in p.words] == words
    speakers = {t.speaker for t in turns}
    for piece in pieces:
        for word in piece.words:
            inside = [t for t in turns if t.start_s <= word.start_s and word.end_s <= t.end_s]
            if inside:
                assert piece.speaker == inside[0].speaker
            assert piece.speaker in speakers | {None}


def test_a_long_recording_goes_through_in_windows(pipeline_folder, room_mono, monkeypatch):
    windowed = PyannoteDiarizer(pipeline_folder, tuning=PyannoteTuning(window_s=15.0))
    calls: list[int] = []
    real_pipeline = windowed._pipeline

    def counting_pipeline(file, **kwargs):
        calls.append(file["waveform"].shape[-1])
        return real_pipeline(file, **kwargs)

    monkeypatch.setattr(windowed, "_pipeline", counting_pipeline)
    turns = windowed.diarize(room_mono, RATE)
    assert len(calls) == 3  # 38.6 s in equal windows of at most 15 s
    assert sum(calls) == room_mono.shape[0] and max(calls) <= 15 * RATE
    _check_turns(turns, room_mono.shape[0] / RATE)


def test_a_speaker_keeps_their_name_across_windows(pipeline_folder, room_mono):
    # The same 15 s twice, one window each: the second window's speakers must be matched to the first's.
    piece = room_mono[: 15 * RATE]
    windowed = PyannoteDiarizer(pipeline_folder, tuning=PyannoteTuning(window_s=15.0))
    turns = windowed.diarize(np.concatenate([piece, piece]), RATE)
    first = [t for t in turns if t.end_s <= 15.0]
    second = [t for t in turns if t.start_s >= 15.0]
    assert first and len(first) + len(second) == len(turns), "no turn should run across the window edge here"
    # Same audio, same turns, 15 s later, under the same names (not new speakers S3, S4, ...).
    assert [t.speaker for t in second] == [t.speaker for t in first]
    for before, after in zip(first, second):
        assert after.start_s == pytest.approx(before.start_s + 15.0, abs=0.002)
        assert after.end_s == pytest.approx(before.end_s + 15.0, abs=0.002)


def test_chunks_given_one_by_one_give_what_the_whole_array_gives(pipeline_folder, room_mono):
    # A long file reaches the diarizer a window at a time (engine/file_windows.py), never whole in memory.
    windowed = PyannoteDiarizer(pipeline_folder, tuning=PyannoteTuning(window_s=15.0))
    whole = windowed.diarize(room_mono, RATE)
    cuts = np.linspace(0, room_mono.shape[0], 4).round().astype(int)  # the same three equal windows
    given: list[int] = []

    def chunks():
        for a, b in zip(cuts[:-1], cuts[1:]):
            given.append(int(b - a))
            yield room_mono[a:b]

    fractions: list[float] = []
    chunked = windowed.diarize_chunks(chunks(), RATE, progress=fractions.append,
                                      total_s=room_mono.shape[0] / RATE)
    assert given == list(np.diff(cuts)) and chunked == whole
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)


def test_num_speakers_one_gives_one_speaker(diarizer, room_mono):
    turns = diarizer.diarize(room_mono[: 12 * RATE], RATE, num_speakers=1)
    assert turns and {t.speaker for t in turns} == {"S1"}


def test_multichannel_and_other_rates_are_accepted(diarizer, room_seats):
    seats = room_seats[: 12 * RATE]
    halved = seats[::2]  # 8 kHz, resampled to 16 kHz inside
    _check_turns(diarizer.diarize(halved, RATE // 2), halved.shape[0] / (RATE // 2))


def test_empty_and_too_short_audio_give_no_turns(diarizer):
    assert diarizer.diarize(np.zeros((0, 1), dtype=np.float32), RATE) == []
    assert diarizer.diarize(np.zeros((RATE // 4, 1), dtype=np.float32), RATE) == []


@pytest.mark.parametrize("bad", [0, 9, 2.0, True])
def test_num_speakers_out_of_range_is_refused(diarizer, bad):
    with pytest.raises(DiarizationError, match="num_speakers"):
        diarizer.diarize(np.zeros((RATE, 1), dtype=np.float32), RATE, num_speakers=bad)


def test_make_diarizer_builds_the_pyannote_backend_from_its_folder(pipeline_folder):
    built = make_diarizer("pyannote", pipeline_dir=str(pipeline_folder))
    assert isinstance(built, PyannoteDiarizer) and built.pipeline_dir == pipeline_folder.resolve()


def test_a_missing_folder_is_refused_at_construction(tmp_path):
    with pytest.raises(DiarizationError, match="does not exist"):
        PyannoteDiarizer(tmp_path / "nowhere")


def test_a_folder_without_config_is_refused(pipeline_folder, tmp_path):
    folder = _broken_copy(pipeline_folder, tmp_path)
    (folder / "config.yaml").unlink()
    with pytest.raises(DiarizationError, match="has no config.yaml"):
        PyannoteDiarizer(folder)


def test_a_config_naming_a_missing_checkpoint_is_refused(pipeline_folder, tmp_path):
    folder = _broken_copy(pipeline_folder, tmp_path)
    (folder / "embedding" / "pytorch_model.bin").unlink()
    with pytest.raises(DiarizationError, match=r"embedding .*pytorch_model.bin, which is missing"):
        PyannoteDiarizer(folder)


def test_a_config_naming_a_hub_model_is_refused_without_going_online(pipeline_folder, tmp_path):
    folder = _broken_copy(pipeline_folder, tmp_path)
    config = folder / "config.yaml"
    config.write_text(config.read_text().replace("$model/embedding", "pyannote/wespeaker-voxceleb-resnet34-LM"))
    with pytest.raises(DiarizationError, match="not inside the pipeline folder"):
        PyannoteDiarizer(folder)


def test_a_corrupt_checkpoint_is_refused_at_construction(pipeline_folder, tmp_path):
    folder = _broken_copy(pipeline_folder, tmp_path)
    checkpoint = folder / "segmentation" / "pytorch_model.bin"
    checkpoint.write_bytes(checkpoint.read_bytes()[:5000])  # a copy cut short
    with pytest.raises(DiarizationError, match="cannot be loaded"):
        PyannoteDiarizer(folder)


def test_a_corrupt_plda_is_refused_at_construction(pipeline_folder, tmp_path):
    folder = _broken_copy(pipeline_folder, tmp_path)
    (folder / "plda" / "plda.npz").write_bytes(b"not a numpy archive")
    with pytest.raises(DiarizationError, match="cannot be loaded"):
        PyannoteDiarizer(folder)


def test_a_config_that_is_not_a_diarization_pipeline_is_refused(pipeline_folder, tmp_path):
    folder = _broken_copy(pipeline_folder, tmp_path)
    (folder / "config.yaml").write_text("pipeline:\n  name: pyannote.audio.pipelines.VoiceActivityDetection\n")
    with pytest.raises(DiarizationError, match="SpeakerDiarization"):
        PyannoteDiarizer(folder)


def test_without_pyannote_the_backend_says_how_to_install_it(pipeline_folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyannote.audio", None)  # what an absent package looks like to import
    with pytest.raises(DiarizationError) as caught:
        make_diarizer("pyannote", pipeline_dir=pipeline_folder)
    assert str(caught.value) == NOT_INSTALLED


def test_window_length_is_checked(pipeline_folder):
    with pytest.raises(DiarizationError, match="window_s"):
        PyannoteDiarizer(pipeline_folder, tuning=PyannoteTuning(window_s=5.0))
