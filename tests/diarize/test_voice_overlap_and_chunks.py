"""The voice diarizer on two people talking at once, after a long pause, and in chunks (long recordings).

The mixes are built here from real clips (tests/diarize/mixing.py). A single-label diarizer cannot report
the second speaker of an overlap: the DER bound below is the mix's own floor (its truth made exclusive)
plus a margin, not a fixed figure.
"""
import numpy as np
import pytest

from capture import decode_file
from diarize import DiarizationError, VoiceDiarizer, exclusive_turns
from diarize.types import SpeakerTurn
from diarize.voice import VoiceTuning
from tests.diarize.mixing import Mix, overlap_mix, voice_from

RATE = 16000


@pytest.fixture(scope="module")
def voices(data_dir):
    rows = {"paddle": "paddlespeech_zh.wav", "s0724": "aishell1_BAC009S0724W0121.wav", "long25": "funasr_long_25s.flac"}
    return {key: voice_from(decode_file(data_dir / name).mono(), key) for key, name in rows.items()}


def _speaker_at(turns, time_s):
    return next((t.speaker for t in turns if t.start_s <= time_s <= t.end_s), None)


def test_two_voices_talking_over_each_other_are_two_speakers_near_the_floor(voices, voice_diarizer, der_percent,
                                                                              tmp_path):
    # Every turn overlaps the next by 0.5-2 s. Before the spectral split with core centroids, the blended
    # windows pulled both voices into one cluster here: 1 speaker, DER 41 %.
    mix = overlap_mix("overlap", voices["paddle"], voices["s0724"], seed=3, turns=4)
    mono, _ = mix.render(seed=4)
    rttm = mix.write_rttm(tmp_path)
    turns = voice_diarizer.diarize(mono, RATE)
    assert len({t.speaker for t in turns}) == 2
    truth = [SpeakerTurn(t.start_s, t.end_s, t.speaker) for t in mix.turns]
    floor = der_percent(exclusive_turns(truth), rttm)
    assert floor > 5.0  # the mix does overlap: some error is unavoidable
    assert der_percent(turns, rttm) <= floor + 5.0


def test_one_voice_before_and_after_a_long_pause_stays_one_speaker(voices, voice_diarizer):
    long25 = voices["long25"]
    mix = Mix("pause_one_voice", seats=1)
    end_s = mix.place(long25, long25.speech[: 6 * RATE], 0.5, seat=0)
    mix.place(long25, long25.speech[8 * RATE : 14 * RATE], end_s + 65.0, seat=0)
    mono, _ = mix.render(seed=11)
    turns = voice_diarizer.diarize(mono, RATE)
    assert turns and {t.speaker for t in turns} == {"S1"}
    assert _speaker_at(turns, end_s + 65.0 + 3.0) == "S1"


@pytest.fixture(scope="module")
def chunked_turns(room_mono):
    # dev_room_2spk is 38 s: 15 s chunks put boundaries inside its third and fifth turns (both A).
    diarizer = VoiceDiarizer(tuning=VoiceTuning(chunk_s=15.0))
    step = 15 * RATE
    chunks = (room_mono[start : start + step] for start in range(0, room_mono.shape[0], step))
    return diarizer.diarize_chunks(chunks, RATE), diarizer.diarize(room_mono, RATE)


def test_chunks_fed_one_by_one_give_what_diarize_gives_with_the_same_chunk_length(chunked_turns):
    from_chunks, from_array = chunked_turns
    assert from_chunks == from_array


def test_a_chunk_longer_than_chunk_s_is_diarized_in_pieces_of_that_length(chunked_turns, room_mono):
    # A caller's window may be longer than the diarizer's chunk (BILU_FILE_WINDOW_S above 600): clustering
    # costs the square of a chunk's windows, so it is cut, as `diarize` cuts one array.
    _, from_array = chunked_turns
    diarizer = VoiceDiarizer(tuning=VoiceTuning(chunk_s=15.0))
    assert diarizer.diarize_chunks(iter([room_mono]), RATE) == from_array


def test_speakers_keep_their_names_across_chunk_boundaries(chunked_turns, voice_turns, data_dir, der_percent):
    from_chunks, _ = chunked_turns
    assert {t.speaker for t in from_chunks} == {"S1", "S2"}
    # Mid-turn times of the truth, the first chunk's (A at 3 s, B at 9 s) and the later chunks' turns.
    for time_s in (3.0, 9.6, 15.3, 21.5, 28.7, 35.4):
        assert _speaker_at(from_chunks, time_s) == _speaker_at(voice_turns, time_s) is not None
    assert der_percent(from_chunks, data_dir / "dev_room_2spk.rttm") <= 15.0


def test_a_bad_chunk_or_chunk_length_is_refused_naming_the_problem(voice_diarizer):
    with pytest.raises(DiarizationError, match="chunk_s"):
        VoiceDiarizer(tuning=VoiceTuning(chunk_s=5.0))
    bad = [np.zeros(RATE, dtype=np.float32), np.full(RATE, np.nan, dtype=np.float32)]
    with pytest.raises(DiarizationError, match="NaN"):
        voice_diarizer.diarize_chunks(iter(bad), RATE)
    with pytest.raises(DiarizationError, match="num_speakers"):
        voice_diarizer.diarize_chunks(iter(bad[:1]), RATE, num_speakers=0)


def test_a_voice_heard_only_between_two_others_is_taken_for_their_overlap():
    from diarize.voice import _overlap_voices

    def pieces(*lengths_s):  # back-to-back pieces, no pauses
        bounds = np.cumsum([0.0, *lengths_s]) * RATE
        return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    # A, short "C" at the change to B, B, short "C" at the change back to A, A: C is the overlap.
    labels = np.array([0, 2, 1, 2, 0])
    assert _overlap_voices(pieces(5, 1.5, 5, 1, 5), labels, max_run_s=2.5, max_gap_s=1.0) == {2}
    # The same voice talking for 4 s is a person, and so is one answering between two turns of A.
    assert _overlap_voices(pieces(5, 4, 5, 1, 5), labels, max_run_s=2.5, max_gap_s=1.0) == set()
    assert _overlap_voices(pieces(5, 1, 5), np.array([0, 2, 0]), max_run_s=2.5, max_gap_s=1.0) == set()
