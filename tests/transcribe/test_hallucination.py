from transcribe.hallucination import LOOP, is_caption, mark_loops
from transcribe.types import Word


def _words(texts: list[str]) -> list[Word]:
    return [Word(i * 0.3, i * 0.3 + 0.25, t, 0.9) for i, t in enumerate(texts)]


def test_invented_captions_are_recognised():
    for text in ("字幕由Amara.org社群提供", "请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", "谢谢观看", "中文字幕志愿者"):
        assert is_caption(text), text


def test_speech_that_mentions_caption_words_is_kept():
    for text in ("你平时关注哪些公众号", "我看过那个视频，谢谢观看的人很多，但我没有参与", "讯问开始"):
        assert not is_caption(text), text


def test_a_repetition_loop_is_kept_whole_and_its_copies_marked():
    # The filter used to keep one copy and drop the rest; nothing said may be dropped, so every word stays,
    # with its own timing, and the copies the filter dropped are marked.
    words = _words(["我", "不知道"] + ["我们", "走", "吧"] * 8 + ["好"])
    marked = mark_loops(words)
    assert [w.text for w in marked] == [w.text for w in words]
    assert [(w.start_s, w.end_s) for w in marked] == [(w.start_s, w.end_s) for w in words]
    assert [w.suspect for w in marked] == [None] * 5 + [LOOP] * 21 + [None]
    assert marked[-1] is words[-1]


def test_short_real_repetitions_are_not_suspected():
    words = _words(["对", "对", "对", "对", "是", "是", "是"])
    assert mark_loops(words) == words


def test_no_words_no_loop():
    assert mark_loops([]) == []


def test_one_character_over_and_over_is_a_loop():
    # 异 fourteen times over one second of speech (GENERIC kernels): no one says that; 对 four times they do.
    words = _words(["好"] + ["异"] * 14)
    marked = mark_loops(words)
    assert [w.text for w in marked] == [w.text for w in words]
    assert [w.suspect for w in marked] == [None, None] + [LOOP] * 13
    assert mark_loops(_words(["对"] * 7)) == _words(["对"] * 7)
