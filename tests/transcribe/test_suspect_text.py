"""Nothing said is deleted; text over audio that is not speech stays out of the written record (issue 15).

Real model, real recordings (tests/data) and room sounds made with numpy (tests/room_sounds.py). The written
record is what `record_turns` gives from the store (the text and DOCX 讯问笔录 both use it). Assertions are on
marks and counts, never on the words one CPU's model run produces.
"""
import json
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.transcribe import Segment as WhisperSegment
from faster_whisper.transcribe import Word as WhisperWord

from capture import decode_file
from cases import Store
from cases.exports import record_turns
from transcribe import StreamingTranscriber, TranscribeOptions, Utterance, judged, noise_floor_db, transcribe_samples
from transcribe.batch import clean_segment
from transcribe.hallucination import CAPTION, NO_SPEECH_AUDIO
from transcribe.punctuation import characters as without_marks
from transcribe.simplified import simplified_words
from tests.room_sounds import RATE, digital_silence, low_noise, music

SPEECH_CLIPS = ("aishell1_BAC009S0724W0121.wav", "funasr_long_25s.flac", "dev_room_2spk.wav")
ROOM_SOUNDS = {"digital silence": digital_silence, "low noise": low_noise, "music": music}


def record_characters(home: Path, utterances: list[Utterance]) -> tuple[int, list[dict]]:
    """Store the utterances in a real store; the characters (not spaces) of its written record, and the lines."""
    with Store.open(home) as store:
        session_id = store.create_session(case_no="S-15", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0,
                                          duration_s=60.0, sample_rate=RATE, channels=1, diarizer="voice",
                                          model="base", options={})
        for utterance in utterances:
            store.add_utterance(session_id, utterance)
        stored = store.utterances(session_id)
    return sum(len("".join(text.split())) for _, text in record_turns(stored)), stored


class TappedModel:
    """The real model; keeps every segment it yields, to compare with what the pipeline made of them."""

    def __init__(self, model) -> None:
        self.model = model
        self.segments: list = []

    def transcribe(self, *args, **kwargs):
        segments, info = self.model.transcribe(*args, **kwargs)
        return (self.segments.append(s) or s for s in segments), info


@pytest.mark.parametrize("name", SPEECH_CLIPS)
def test_no_character_whisper_wrote_over_speech_is_removed(whisper_model, data_dir, tmp_path, name):
    samples = decode_file(data_dir / name).mono()
    tapped = TappedModel(whisper_model)
    utterances = list(transcribe_samples(tapped, samples, options=TranscribeOptions())[0])
    # Simplified as the pipeline does it, a segment's words together (瞭 + 解 is 了解: transcribe/simplified.py).
    written = "".join(t for s in tapped.segments for t in simplified_words([w.word for w in (s.words or ())])
                      if t.strip())
    kept = "".join(w.text for u in utterances for w in u.words)
    assert len(written) >= 10
    # Punctuation (transcribe/punctuation.py) only adds marks to the words: compared without them.
    assert without_marks(kept) == without_marks(written)  # every character, in order: the filters mark, they do not remove
    characters, stored = record_characters(tmp_path / "home", utterances)
    assert "".join(u["text"] for u in stored) == "".join(u.text for u in utterances)
    # The audio under every line is speech: the whole transcript reaches the written record.
    assert all(u.speech_probability is not None and not u.not_speech for u in utterances)
    assert characters == sum(len("".join(u.text.split())) for u in utterances)


@pytest.mark.parametrize("sound", sorted(ROOM_SOUNDS))
def test_a_minute_without_speech_writes_nothing_into_the_record(whisper_model, tmp_path, sound):
    samples = ROOM_SOUNDS[sound](60.0)
    batch = list(transcribe_samples(whisper_model, samples)[0])
    streaming = _stream(whisper_model, samples)
    for path, utterances in (("batch", batch), ("streaming", streaming)):
        characters, stored = record_characters(tmp_path / path, utterances)
        assert characters == 0, (sound, path)
        # Whatever text there is (none, usually: Silero sends Whisper nothing) is stored, marked.
        assert sum(len(u["text"]) for u in stored) == sum(len(u.text) for u in utterances)
        assert all(u["suspect"] and u["not_speech"] and not u["in_record"] for u in stored)


def test_a_caption_sentence_really_spoken_stays_in_the_record(data_dir, tmp_path):
    """本节目由… matches the caption filter, which used to delete it. Over real speech it is kept, marked, and
    written; over silence the same text is kept, marked, and left out of the record."""
    speech = decode_file(data_dir / "aishell1_BAC009S0724W0121.wav").mono()  # speech from 0.1 s to 3.6 s
    sentence = "本节目由广州市房地产中介协会提供"
    utterances = []
    for audio in (speech, digital_silence(len(speech) / RATE)):
        utterance = clean_segment(_segment(sentence, start_s=0.2, end_s=3.5))
        assert utterance.text == sentence and utterance.suspect == CAPTION
        utterances.append(judged(utterance, audio, samples_start_s=0.0, floor_db=noise_floor_db(audio)))
    over_speech, over_silence = utterances
    assert not over_speech.not_speech and over_speech.speech_probability > 0.4
    assert over_silence.not_speech and over_silence.speech_probability < 0.15
    characters, stored = record_characters(tmp_path / "home", [over_speech])
    assert characters == len(sentence) and stored[0]["suspect"] == CAPTION and stored[0]["in_record"]
    characters, stored = record_characters(tmp_path / "silent", [over_silence])
    assert characters == 0 and stored[0]["text"] == sentence and not stored[0]["in_record"]


def test_text_over_the_silence_after_speech_is_marked_not_stored_as_said(data_dir):
    """The streaming case seen live: 在此,在此, committed over 1.5 s of silence after a line."""
    speech = decode_file(data_dir / "aishell1_BAC009S0764W0121.wav").mono()
    audio = np.concatenate([speech, digital_silence(1.5)])
    end_s = len(speech) / RATE
    invented = clean_segment(_segment("在此,在此,", start_s=end_s + 0.2, end_s=end_s + 1.4))
    assert invented.suspect is None  # no text filter doubts it ...
    marked = judged(invented, audio, samples_start_s=0.0, floor_db=noise_floor_db(audio))
    assert marked.suspect == NO_SPEECH_AUDIO and marked.not_speech  # ... the audio under it does
    assert marked.text == invented.text


def test_the_marks_are_plain_values_that_travel_as_json(data_dir):
    # The marks go out as JSON (the live WebSocket, the exports). A numpy bool here once closed every live
    # page's WebSocket at its first unsure line. Spans sliding across the edges of speech give every kind of
    # verdict: speech, not speech, and unsure (where the level decides).
    speech = decode_file(data_dir / "aishell1_BAC009S0764W0121.wav").mono()
    audio = np.concatenate([low_noise(1.0), speech, low_noise(1.0)])
    floor_db = noise_floor_db(audio)
    verdicts = []
    for start_s in np.arange(0.0, len(audio) / RATE - 0.4, 0.1):
        line = clean_segment(_segment("一句话", start_s=float(start_s), end_s=float(start_s) + 0.4))
        marked = judged(line, audio, samples_start_s=0.0, floor_db=floor_db)
        marks = {"not_speech": marked.not_speech, "speech_probability": marked.speech_probability,
                 "energy_db": marked.energy_db}
        assert all(type(value) in (bool, float) for value in marks.values()), {k: type(v) for k, v in marks.items()}
        assert json.loads(json.dumps(marks)) == marks
        verdicts.append(marked.not_speech)
    assert any(verdicts) and not all(verdicts)


def test_streaming_judges_every_committed_line_by_the_audio_under_it(whisper_model, data_dir):
    speech = decode_file(data_dir / "funasr_long_25s.flac").mono()
    audio = np.concatenate([digital_silence(1.0), speech, digital_silence(1.5)])
    speech_end_s = 1.0 + len(speech) / RATE
    committed = _stream(whisper_model, audio)
    assert len("".join(u.text for u in committed)) >= 50
    assert all(u.speech_probability is not None and u.energy_db is not None for u in committed)
    for u in committed:
        if u.start_s < speech_end_s - 0.5:
            assert not u.not_speech, u  # real speech always reaches the record
        if u.start_s >= speech_end_s + 0.3:
            assert u.suspect and u.not_speech, u  # anything written over the silence after it does not


def _stream(model, samples: np.ndarray, chunk_s: float = 0.5) -> list[Utterance]:
    transcriber = StreamingTranscriber(model)
    step = int(chunk_s * RATE)
    committed: list[Utterance] = []
    for start in range(0, len(samples), step):
        transcriber.insert_audio(samples[start : start + step])
        committed += transcriber.process().committed
    return committed + transcriber.finish().committed


def _segment(text: str, *, start_s: float, end_s: float) -> WhisperSegment:
    """A faster-whisper segment (the library's own type) holding `text`, one word per character."""
    step = (end_s - start_s) / len(text)
    words = [WhisperWord(start=start_s + i * step, end=start_s + (i + 1) * step, word=c, probability=0.9)
             for i, c in enumerate(text)]
    return WhisperSegment(id=1, seek=0, start=start_s, end=end_s, text=text, tokens=[], avg_logprob=-0.3,
                          compression_ratio=1.2, no_speech_prob=0.1, words=words, temperature=0.0)
