"""Short encoder windows (transcribe.short_window) with the real embedded model on real clips."""
import threading

import numpy as np
import pytest

from capture import decode_file
from transcribe import PassWindow, StreamingError, StreamingTranscriber, TranscribeOptions
from transcribe.batch import clean_segment
from transcribe.hallucination import normalised
from transcribe.metrics import character_error_rate
from transcribe.short_window import PassWindowError, content_frames, short_window_model, window_frames

RATE = 16000
KWARGS = {**TranscribeOptions(beam_size=1).whisper_kwargs(), "temperature": 0.0}


def pass_text(model, samples: np.ndarray) -> str:
    segments, _ = model.transcribe(samples, **KWARGS)
    return "".join(u.text for u in (clean_segment(s) for s in segments) if u is not None)


def test_content_frames_finds_where_faster_whispers_padding_starts(whisper_model, data_dir):
    from faster_whisper.audio import pad_or_trim

    samples = decode_file(data_dir / "aishell1_BAC009S0724W0121.wav").mono()
    features = whisper_model.feature_extractor(samples)
    assert content_frames(pad_or_trim(features)) == features.shape[-1]
    assert content_frames(pad_or_trim(features)[None]) == features.shape[-1]  # batched as the encoder gets it
    assert content_frames(np.zeros((80, 3000), np.float32)) == 0


@pytest.mark.parametrize(
    "content, window, frames",
    [
        (430, PassWindow(margin_s=0.0), 500),  # rounded up to whole seconds
        (430, PassWindow(), 600),  # with a second of margin
        (100, PassWindow(), 400),  # never below min_window_s
        (2990, PassWindow(), 3000),  # never above Whisper's 30 s
        (430, PassWindow(round_s=2.0, min_window_s=0.0, margin_s=0.0), 600),
        (431, PassWindow(round_s=0.01, min_window_s=0.0, margin_s=0.0), 432),  # even: the encoder's stride is 2
    ],
)
def test_window_frames(content, window, frames):
    assert window_frames(content, window) == frames


def test_bad_window_settings_are_refused():
    with pytest.raises(PassWindowError, match="round_s"):
        PassWindow(round_s=0.0)
    with pytest.raises(PassWindowError, match="resume_after_s"):
        PassWindow(resume_after_s=0.0)
    with pytest.raises(StreamingError, match="PassWindow"):
        StreamingTranscriber(None, window=4.0)
    assert issubclass(PassWindowError, ValueError)


def test_a_short_window_reads_a_clip_as_the_30_s_window_does(whisper_model, data_dir, manifest):
    view = short_window_model(whisper_model)
    shorts, fulls = [], []
    for name in ("aishell1_BAC009S0724W0121.wav", "funasr_asr_example_zh.wav", "paddlespeech_zh.wav"):
        samples = decode_file(data_dir / name).mono()
        short, full = pass_text(view, samples), pass_text(whisper_model, samples)
        # The encoder heard the clip (or the speech Silero kept of it) rounded up to a second, not 30 s.
        assert 400 <= view.last_window_frames <= 100 * np.ceil(len(samples) / RATE + 0.02 + view.window.margin_s)
        reference = manifest[name]["transcript"]
        assert character_error_rate(reference, short) <= character_error_rate(reference, full) + 0.15, (short, full)
        shorts.append(short)
        fulls.append(full)
    # Over the three clips together: one word read differently in a 19-character clip is a quarter of it (GENERIC
    # kernels: 云十别 for 运营识别), so a bound per clip judged the kernels, not the window.
    assert character_error_rate("".join(fulls), "".join(shorts)) < 0.2, (shorts, fulls)


def test_the_view_changes_nothing_in_the_shared_model(whisper_model, data_dir):
    before = dict(vars(whisper_model))
    extractor = dict(vars(whisper_model.feature_extractor))
    view = short_window_model(whisper_model, PassWindow(round_s=2.0))
    pass_text(view, decode_file(data_dir / "wenet_nst_ID001.wav").mono())
    assert vars(whisper_model) == before and vars(whisper_model.feature_extractor) == extractor
    assert view.model is whisper_model.model  # the weights are shared, not copied
    assert view.windows_encoded >= 1


def test_a_buffer_longer_than_a_window_is_heard_to_its_end(whisper_model, data_dir):
    # 38.6 s: a full 30 s window, then a short one for the rest.
    samples = decode_file(data_dir / "dev_room_2spk.wav").mono()
    view = short_window_model(whisper_model)
    segments, _ = view.transcribe(samples, **KWARGS)
    utterances = [u for u in (clean_segment(s) for s in segments) if u is not None]
    assert view.windows_encoded >= 2 and view.last_window_frames < 3000
    assert utterances[-1].end_s > 35.0  # the last turn (32.9-37.9 s) is there
    full_text = pass_text(whisper_model, samples)
    assert character_error_rate(full_text, "".join(u.text for u in utterances)) < 0.25


def test_speech_after_a_pause_in_a_short_window_is_not_dropped(whisper_model, data_dir):
    # Two speakers with a 0.7 s pause between them inside one 10 s window: the words after the pause come out.
    samples = decode_file(data_dir / "dev_room_2spk.wav").mono()[7 * RATE : 17 * RATE]
    segments, _ = short_window_model(whisper_model).transcribe(samples, **KWARGS)
    words = [w for u in (clean_segment(s) for s in segments) if u is not None for w in u.words]
    assert words and words[-1].end_s > 8.5  # speech goes on to about 10 s


def test_one_second_of_speech_gives_no_invented_text(whisper_model, data_dir):
    samples = decode_file(data_dir / "aishell1_BAC009S0764W0121.wav").mono()
    view = short_window_model(whisper_model)
    for start_s in (0.5, 1.5, 2.5):
        segments, _ = view.transcribe(samples[int(start_s * RATE) : int((start_s + 1.0) * RATE)], **KWARGS)
        lines = [u for u in (clean_segment(s) for s in segments) if u is not None]
        # A loop Whisper writes (强制制制…, seen with oneDNN's AVX2 kernels) is kept and marked suspect, never
        # deleted (issue 15); what is not marked is what a second can hold: about six spoken characters
        # (punctuation is not spoken: GENERIC kernels wrote 甚至出现,甚至出现).
        text = normalised("".join(u.text for u in lines if u.suspect is None))
        assert len(text) <= 8, text


def stream_text(model, samples: np.ndarray) -> str:
    transcriber = StreamingTranscriber(model, min_chunk_s=1.0)
    committed = []
    for start in range(0, len(samples), RATE // 2):
        transcriber.insert_audio(samples[start : start + RATE // 2])
        committed += transcriber.process().committed
    committed += transcriber.finish().committed
    return "".join(u.text for u in committed)


def test_two_transcribers_on_one_model_in_two_threads_do_not_disturb_each_other(whisper_model, data_dir):
    clips = [decode_file(data_dir / name).mono()
             for name in ("funasr_asr_example_zh.wav", "aishell1_BAC009S0724W0121.wav")]
    alone = [stream_text(whisper_model, clip) for clip in clips]
    together: list[str | None] = [None, None]

    def run(index: int) -> None:
        together[index] = stream_text(whisper_model, clips[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone and all(alone)
