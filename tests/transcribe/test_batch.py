import numpy as np
import pytest

from capture import decode_file
from transcribe import TranscribeOptions, to_simplified, transcribe_samples
from transcribe.metrics import character_error_rate

LABELLED = ["aishell1_BAC009S0724W0121.wav", "aishell1_BAC009S0764W0121.wav"]
REPO_LABELLED = ["paddlespeech_zh.wav", "wenet_nst_ID002.wav", "funasr_asr_example_zh.wav"]


def _transcribe(model, samples, **kwargs):
    utterances, info = transcribe_samples(model, samples, **kwargs)
    return list(utterances), info


@pytest.fixture(scope="module")
def long_clip(data_dir, whisper_model):
    audio = decode_file(data_dir / "funasr_long_25s.flac").mono()
    return audio, _transcribe(whisper_model, audio)


def test_character_error_rate_on_dataset_labels(whisper_model, data_dir, manifest):
    rates = []
    for name in LABELLED + REPO_LABELLED:
        utterances, _ = _transcribe(whisper_model, decode_file(data_dir / name).mono())
        rates.append(character_error_rate(manifest[name]["transcript"], "".join(u.text for u in utterances)))
    # Bare Whisper base scores about 11 % on such clips; a broken pipeline (wrong script, lost words) far worse.
    assert np.mean(rates) < 0.2, rates


def test_output_is_simplified_chinese(long_clip):
    _, (utterances, _) = long_clip
    text = "".join(u.text for u in utterances)
    assert len(text) > 50
    assert to_simplified(text) == text


def test_utterances_come_lazily(whisper_model, data_dir):
    utterances, info = transcribe_samples(whisper_model, decode_file(data_dir / LABELLED[0]).mono())
    assert not isinstance(utterances, (list, tuple))
    assert info.duration_s == pytest.approx(4.281, abs=0.01)
    assert next(iter(utterances)).text


def test_times_increase_and_words_lie_inside_their_utterance(long_clip):
    audio, (utterances, _) = long_clip
    duration_s = len(audio) / 16000
    assert len(utterances) >= 3
    assert_lines_well_formed(utterances, duration_s)


def test_offset_shifts_every_time(whisper_model, data_dir):
    audio = decode_file(data_dir / LABELLED[0]).mono()
    plain, _ = _transcribe(whisper_model, audio)
    shifted, _ = _transcribe(whisper_model, audio, offset_s=100.0)
    assert [u.text for u in plain] == [u.text for u in shifted]
    assert shifted[0].start_s == pytest.approx(plain[0].start_s + 100.0, abs=0.002)


def test_options_used_are_reported(whisper_model, data_dir):
    _, info = _transcribe(whisper_model, decode_file(data_dir / LABELLED[0]).mono(), options=TranscribeOptions(beam_size=2))
    assert info.options["beam_size"] == 2 and info.options["whisper"]["beam_size"] == 2
    assert info.options["whisper"]["vad_filter"] is True
    # Hotwords go to Whisper as given (not run here: with the base model they send decoding into slow loops).
    assert TranscribeOptions(hotwords="房地产 中介").as_record()["whisper"]["hotwords"] == "房地产 中介"


def test_silence_writes_nothing(whisper_model):
    utterances, _ = _transcribe(whisper_model, np.zeros(16000 * 60, dtype=np.float32))
    assert utterances == []


def test_room_noise_writes_nothing(whisper_model):
    rng = np.random.default_rng(7)
    # Ventilation-like noise: low-passed (brown) noise plus mains hum, at a quiet room's level.
    brown = np.cumsum(rng.standard_normal(16000 * 60)).astype(np.float32)
    brown -= np.convolve(brown, np.ones(1601) / 1601, mode="same")
    brown *= 0.01 / (brown.std() + 1e-9)
    hum = 0.005 * np.sin(2 * np.pi * 50 * np.arange(len(brown)) / 16000)
    utterances, _ = _transcribe(whisper_model, (brown + hum).astype(np.float32))
    assert utterances == []


def test_empty_audio_is_an_empty_transcript(whisper_model):
    utterances, info = _transcribe(whisper_model, np.zeros(0, dtype=np.float32))
    assert utterances == [] and info.duration_s == 0


def test_quiet_speech_is_not_lost(whisper_model, data_dir, manifest):
    # A suspect answering softly, far from the microphone: peaks at -26 dBFS over a noise floor 30 dB lower.
    name = LABELLED[1]
    audio = decode_file(data_dir / name).mono()
    rng = np.random.default_rng(3)
    audio = audio * (0.05 / np.abs(audio).max())
    quiet = (audio + rng.standard_normal(len(audio)).astype(np.float32) * 0.0015).astype(np.float32)
    utterances, _ = _transcribe(whisper_model, quiet)
    assert character_error_rate(manifest[name]["transcript"], "".join(u.text for u in utterances)) < 0.35


def test_speech_after_long_silence_is_kept(whisper_model, data_dir, manifest):
    name = LABELLED[0]
    audio = decode_file(data_dir / name).mono()
    padded = np.concatenate([np.zeros(16000 * 40, np.float32), audio, np.zeros(16000 * 5, np.float32)])
    utterances, _ = _transcribe(whisper_model, padded)
    assert utterances and utterances[0].start_s > 39.0
    assert character_error_rate(manifest[name]["transcript"], "".join(u.text for u in utterances)) < 0.3


def assert_lines_well_formed(utterances, duration_s: float) -> None:
    """Lines in time order within the audio, each its words' text, every word inside its line (shared with
    test_batched.py)."""
    previous_end = 0.0
    for u in utterances:
        assert previous_end - 0.05 <= u.start_s < u.end_s <= duration_s + 0.05
        assert u.words and u.text == "".join(w.text for w in u.words).strip()
        for w in u.words:
            assert u.start_s <= w.start_s <= w.end_s <= u.end_s
            assert 0.0 <= w.probability <= 1.0
        previous_end = u.end_s
