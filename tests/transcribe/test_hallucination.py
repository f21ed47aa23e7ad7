from transcribe.hallucination import is_caption, remove_loops
from transcribe.types import Word


def _words(texts: list[str]) -> list[Word]:
    return [Word(i * 0.3, i * 0.3 + 0.25, t, 0.9) for i, t in enumerate(texts)]


def test_invented_captions_are_recognised():
    for text in ("字幕由Amara.org社群提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "谢谢观看", "中文字幕志愿者"):
        assert is_caption(text), text


def test_speech_that_mentions_caption_words_is_kept():
    for text in ("你平时关注哪些公众号", "我看过那个视频，谢谢观看的人很多，但我没有参与", "讯问开始"):
        assert not is_caption(text), text


def test_a_repetition_loop_keeps_one_copy_with_its_timing():
    words = _words(["我", "不知道"] + ["我们", "走", "吧"] * 8 + ["好"])
    kept = remove_loops(words)
    assert [w.text for w in kept] == ["我", "不知道", "我们", "走", "吧", "好"]
    assert kept[-1] is words[-1]  # the words after the loop keep their own times


def test_short_real_repetitions_are_kept():
    words = _words(["对", "对", "对", "对", "是", "是", "是"])
    assert remove_loops(words) == words


def test_no_words_no_loop():
    assert remove_loops([]) == []
