"""Both speakers' words survive when two seats talk at once (engine/seat_transcription.py), on a mix of two
real clips with trusted transcripts built in the test (tests/diarize/mixing.py)."""
from capture import decode_file
from diarize import ChannelDiarizer, SpeakerTurn, assign_speakers
from transcribe import TranscribeOptions, transcribe_samples
from transcribe.metrics import character_error_rate

from engine.seat_transcription import diarize_with_overlap, overlap_episodes, with_seat_words
from tests.diarize.mixing import overlap_mix, voice_from

RATE = 16000


def test_turns_of_two_seats_overlapping_form_one_episode_and_a_hand_over_none():
    turns = [SpeakerTurn(0.0, 5.0, "S1", 0), SpeakerTurn(4.0, 8.0, "S2", 1), SpeakerTurn(7.5, 9.0, "S1", 0),
             SpeakerTurn(9.05, 12.0, "S2", 1)]
    episodes = overlap_episodes(turns)
    assert len(episodes) == 1
    assert (episodes[0].start_s, episodes[0].end_s) == (0.0, 9.0)
    assert [t.speaker for t in episodes[0].turns] == ["S1", "S2", "S1"]


def test_each_speakers_words_in_an_overlap_come_from_their_own_seat(whisper_model, data_dir, manifest):
    first = voice_from(decode_file(data_dir / "paddlespeech_zh.wav").mono(), "A",
                       text=manifest["paddlespeech_zh.wav"]["transcript"])
    second = voice_from(decode_file(data_dir / "aishell1_BAC009S0724W0121.wav").mono(), "B",
                        text=manifest["aishell1_BAC009S0724W0121.wav"]["transcript"])
    mix = overlap_mix("overlap", first, second, seed=11, turns=2)
    mono, seats = mix.render(seed=12)
    turns, heard = diarize_with_overlap(ChannelDiarizer(), seats, RATE)
    episodes = overlap_episodes(heard)
    assert len(episodes) == 1
    options = TranscribeOptions()
    plain = list(assign_speakers(transcribe_samples(whisper_model, mono, options=options)[0], turns))
    both = list(with_seat_words(iter(plain), episodes, seats=seats, sample_rate=RATE, model=whisper_model,
                                options=options, model_name="base"))
    assert [u.start_s for u in both] == sorted(u.start_s for u in both)
    for speaker, voice in (("S1", first), ("S2", second)):
        with_seats = character_error_rate(voice.text, "".join(u.text for u in both if u.speaker == speaker))
        mono_only = character_error_rate(voice.text, "".join(u.text for u in plain if u.speaker == speaker))
        assert with_seats <= 0.35 and with_seats <= mono_only
