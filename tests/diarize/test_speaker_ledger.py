import numpy as np
import pytest

from diarize.speaker_ledger import SpeakerLedger


def _voices(count: int, dimension: int = 64, seed: int = 0) -> np.ndarray:
    """Nearly orthogonal voice directions, as distinct speakers' embeddings are in high dimension."""
    vectors = np.random.default_rng(seed).normal(size=(count, dimension))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _noisy(voice: np.ndarray, seed: int, scale: float = 0.2) -> np.ndarray:
    return voice + np.random.default_rng(seed).normal(scale=scale / np.sqrt(voice.size), size=voice.size)


def test_speakers_of_later_windows_are_matched_by_voice_whatever_their_local_order():
    a, b, c = _voices(3)
    ledger = SpeakerLedger(min_similarity=0.5)
    assert ledger.assign(np.stack([a, b]), np.array([10.0, 5.0])) == [0, 1]
    # Next window: pyannote lists them the other way round, at another scale, with a newcomer.
    assert ledger.assign(np.stack([3 * _noisy(b, 1), c, _noisy(a, 2)]), np.array([4.0, 6.0, 2.0])) == [1, 2, 0]
    assert ledger.count == 3


def test_a_voice_below_the_threshold_becomes_a_new_speaker():
    a, b = _voices(2)
    ledger = SpeakerLedger(min_similarity=0.5)
    ledger.assign(a[None], np.array([5.0]))
    assert ledger.assign(b[None], np.array([5.0])) == [1]


def test_with_a_cap_the_extra_voices_join_the_nearest_speaker():
    a, b, c = _voices(3)
    ledger = SpeakerLedger(min_similarity=0.5, max_speakers=2)
    assert ledger.assign(np.stack([a, b]), np.array([5.0, 5.0])) == [0, 1]
    # Three voices in a window, room for none: each goes to the known voice it resembles most.
    window = np.stack([_noisy(a, 3) + 0.3 * c, _noisy(b, 4), _noisy(a, 5)])
    assert ledger.assign(window, np.array([1.0, 5.0, 2.0])) == [0, 1, 0]
    assert ledger.count == 2


def test_a_window_without_embeddings_still_gets_ids():
    a = _voices(1)[0]
    ledger = SpeakerLedger(min_similarity=0.5, max_speakers=1)
    ledger.assign(a[None], np.array([3.0]))
    assert ledger.assign(np.zeros((1, a.size)), np.array([2.0])) == [0]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="min_similarity"):
        SpeakerLedger(min_similarity=2.0)
    with pytest.raises(ValueError, match="centroids"):
        SpeakerLedger(min_similarity=0.5).assign(np.zeros(3), np.zeros(3))
