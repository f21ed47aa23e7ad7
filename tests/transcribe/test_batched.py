"""Batched recognition (faster-whisper's BatchedInferencePipeline, TranscribeOptions.batch_size), as files use it.

The recording: the labelled clips of tests/data one after another with 3 s of silence between them (longer than the
VAD's 2 s minimum silence, so each is a speech region of its own) — 74 s, 50 s of it speech, so Silero's regions are
packed into two or more chunks of up to 30 s and recognised together, and the times of the words must be carried
back across the silence the packing removed (the file pipeline's side: tests/api/test_batched_files.py).
Properties only: what words come out depends on the CPU's kernels.
"""
import pytest

from tests.audio_helpers import clips_with_gaps
from tests.transcribe.test_batch import assert_lines_well_formed
from transcribe import TranscribeOptions, to_simplified, transcribe_samples
from transcribe.hallucination import normalised
from transcribe.metrics import character_error_rate

RATE = 16000
GAP_S = 3.0
CLIPS = ["aishell1_BAC009S0724W0121.wav", "funasr_long_25s.flac", "aishell1_BAC009S0764W0121.wav",
         "wenet_nst_ID001.wav", "funasr_asr_example_zh.wav", "wenet_nst_ID002.wav", "paddlespeech_zh.wav"]
BATCHED = TranscribeOptions(batch_size=4)
# Silero's pad around speech (400 ms) and Whisper's word times (to about 0.2 s): how far a word may lie outside
# the clip it was said in.
EDGE_S = 0.7


@pytest.fixture(scope="module")
def recording(data_dir, manifest):
    """(mono samples, [(start_s, end_s) of each clip], the clips' labels in order)."""
    return clips_with_gaps(data_dir, manifest, CLIPS, gap_s=GAP_S)


@pytest.fixture(scope="module")
def batched(recording, whisper_model):
    samples, _, _ = recording
    utterances, info = transcribe_samples(whisper_model, samples, options=BATCHED)
    return list(utterances), info


def test_batched_recognition_keeps_the_labels_words(batched, recording):
    _, _, labels = recording
    utterances, _ = batched
    text = "".join(u.text for u in utterances)
    assert to_simplified(text) == text
    # Whisper base writes about 11 % of these characters wrong (bench/accuracy.py); a chunk lost in the packing
    # (the long clip is half the characters) or a batch given back twice would be far worse.
    assert character_error_rate(labels, normalised(text)) < 0.25


def test_words_lie_inside_their_utterance_and_in_time_order(batched, recording):
    samples, _, _ = recording
    utterances, _ = batched
    assert len(utterances) >= len(CLIPS)  # at least a line for every clip, though they were packed together
    assert_lines_well_formed(utterances, len(samples) / RATE)


def test_word_times_are_carried_back_across_the_silence_removed(batched, recording):
    """Every word lies over a clip, none in the 3 s of silence the packing cut out; and every clip gets words, so no
    chunk of the batch went missing. (Not checked: which clip. The first word after a splice can be timed at the
    end of the region before it, sequentially as batched: faster-whisper's alignment over the packed audio.)"""
    _, spans, _ = recording
    utterances, _ = batched
    heard = [0] * len(spans)
    for u in utterances:
        for w in u.words:
            middle = (w.start_s + w.end_s) / 2
            inside = [i for i, (start, end) in enumerate(spans) if start - EDGE_S <= middle <= end + EDGE_S]
            assert inside, f"a word at {w.start_s}-{w.end_s} s lies in a silence: {spans}"
            heard[inside[0]] += 1
    assert all(heard), heard


def test_no_utterance_runs_across_a_silence(batched, recording):
    """A chunk packs several clips; the utterances are still cut at the pauses between them."""
    _, spans, _ = recording
    utterances, _ = batched
    for u in utterances:
        crossed = [end for start, end in spans[:-1] if u.start_s < end - EDGE_S and u.end_s > end + GAP_S - EDGE_S]
        assert not crossed, (u.start_s, u.end_s, u.text)


@pytest.mark.parametrize("size", [-1, 1.5, True, "8"])
def test_a_bad_batch_size_is_refused(size):
    with pytest.raises(ValueError, match="batch_size"):
        TranscribeOptions(batch_size=size)
