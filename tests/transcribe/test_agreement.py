"""LocalAgreement and utterance grouping without a model: hypotheses (timed word lists) in, commits out."""
import pytest

from transcribe.agreement import LocalAgreement, UtteranceGrouper, common_prefix
from transcribe.types import Word


def words(text: str, start_s: float = 0.0, step_s: float = 0.3, gaps: dict[int, float] | None = None) -> list[Word]:
    """One word per space-separated token, `step_s` apart; `gaps` adds seconds before the word at that index."""
    out, t = [], start_s
    for i, token in enumerate(text.split()):
        t += (gaps or {}).get(i, 0.0)
        out.append(Word(start_s=round(t, 3), end_s=round(t + step_s * 0.9, 3), text=token, probability=0.9))
        t += step_s
    return out


def texts(ws: list[Word]) -> list[str]:
    return [w.text for w in ws]


def test_first_hypothesis_commits_nothing():
    agreement = LocalAgreement()
    assert agreement.update(words("我们 今天 讯问")) == []
    assert texts(agreement.tentative) == ["我们", "今天", "讯问"]


def test_common_prefix_of_two_hypotheses_is_committed():
    agreement = LocalAgreement()
    agreement.update(words("我们 今天 讯问"))
    committed = agreement.update(words("我们 今天 询问 你"))
    assert texts(committed) == ["我们", "今天"]
    assert texts(agreement.tentative) == ["询问", "你"]


def test_punctuation_and_case_do_not_break_agreement():
    agreement = LocalAgreement()
    agreement.update(words("好 OK 我们"))
    committed = agreement.update(words("好， ok。 我们 开始"))
    # The later hypothesis's text is what gets committed.
    assert texts(committed) == ["好，", "ok。", "我们"]


def test_committed_words_are_not_committed_twice_and_never_change():
    agreement = LocalAgreement()
    hypotheses = [
        words("你 叫 什么"),
        words("你 叫 什么 名字"),
        words("你 叫 什么 名字 我 叫"),
        words("你 叫 什么 名字 我 叫 张三"),
        words("你 叫 什么 名字 我 叫 张三"),
    ]
    committed: list[Word] = []
    for hypothesis in hypotheses:
        committed += agreement.update(hypothesis)
    committed += agreement.flush()
    assert texts(committed) == ["你", "叫", "什么", "名字", "我", "叫", "张三"]
    assert agreement.tentative == []


def test_a_changed_committed_word_in_a_later_hypothesis_is_ignored():
    agreement = LocalAgreement()
    agreement.update(words("你 叫 什么"))
    assert texts(agreement.update(words("你 叫 什么 名字"))) == ["你", "叫", "什么"]
    # Whisper changes its mind about words already committed: they stay as they were.
    assert texts(agreement.update(words("您 教 什么 名字 呢"))) == ["名字"]


def test_hypothesis_after_a_trim_repeating_the_committed_end_is_not_committed_again():
    agreement = LocalAgreement()
    agreement.update(words("我 是 民警 张三"))
    committed = agreement.update(words("我 是 民警 张三 现在"))
    assert texts(committed) == ["我", "是", "民警", "张三"]
    end_s = committed[-1].end_s
    # After a trim the buffer starts mid-word: Whisper hears "张三" again, timed just after the committed end.
    again = words("张三 现在 开始", start_s=end_s + 0.05)
    assert texts(agreement.update(again)) == ["现在"]
    assert texts(agreement.tentative) == ["开始"]


def test_settled_words_are_committed_without_a_second_hypothesis():
    agreement = LocalAgreement()
    hypothesis = words("讯问 开始 好")
    committed = agreement.update(hypothesis, settled_until_s=hypothesis[-1].end_s)
    assert texts(committed) == ["讯问", "开始", "好"]


def test_settling_commits_only_words_that_start_before_the_speech_end():
    agreement = LocalAgreement()
    hypothesis = words("讯问 开始 好")
    committed = agreement.update(hypothesis, settled_until_s=hypothesis[1].start_s)
    assert texts(committed) == ["讯问", "开始"]
    assert texts(agreement.tentative) == ["好"]


def test_the_words_agreed_on_are_counted_apart_from_those_a_pause_settled():
    agreement = LocalAgreement()
    agreement.update(words("讯问 开始"))
    assert agreement.last_agreed == 0
    hypothesis = words("讯问 开始 好 的")
    committed = agreement.update(hypothesis, settled_until_s=hypothesis[2].start_s)
    assert texts(committed) == ["讯问", "开始", "好"]
    assert agreement.last_agreed == 2  # 讯问 开始 by agreement, 好 by the pause
    settled_only = LocalAgreement()
    hypothesis = words("讯问 开始")
    settled_only.update(hypothesis, settled_until_s=hypothesis[-1].end_s)
    assert settled_only.last_agreed == 0


def test_committed_times_never_go_backwards():
    agreement = LocalAgreement()
    agreement.update(words("一 二"))
    first = agreement.update(words("一 二 三"))
    # Passes time the following words to start slightly before the end of the word committed before them.
    end_s = first[-1].end_s
    later = [Word(start_s=end_s - 0.08, end_s=end_s + 0.2, text="三", probability=0.9),
             Word(start_s=end_s + 0.15, end_s=end_s + 0.4, text="四", probability=0.9)]
    committed = first + agreement.update(later) + agreement.update(later)
    assert texts(committed) == ["一", "二", "三", "四"]
    assert all(a.start_s <= a.end_s <= b.start_s for a, b in zip(committed, committed[1:]))


def test_common_prefix_counts_equal_words():
    assert common_prefix(words("a b c"), words("a b d")) == 2
    assert common_prefix([], words("a")) == 0


def test_a_different_split_into_words_still_agrees():
    # Whisper splits the same characters into other words from one pass to the next.
    assert common_prefix(words("一些 数 字 比"), words("一 些 数字 比较")) == 3
    assert common_prefix(words("这 些 数字"), words("一些 数字")) == 0


@pytest.fixture
def grouper() -> UtteranceGrouper:
    return UtteranceGrouper(pause_s=0.5, max_utterance_s=6.0)


def test_grouping_closes_at_sentence_ends(grouper):
    closed = grouper.add(words("你 叫 什么。 我 叫 张三"))
    assert [u.text for u in closed] == ["你叫什么。"]
    assert [w.text for w in grouper.open] == ["我", "叫", "张三"]


def test_grouping_closes_at_a_pause_between_words(grouper):
    closed = grouper.add(words("你 叫 什么 张三", gaps={3: 0.7}))
    assert [u.text for u in closed] == ["你叫什么"]


def test_grouping_closes_at_the_maximum_length(grouper):
    closed = grouper.add(words(" ".join("字" * 30), step_s=0.3))
    assert closed and all(u.end_s - u.start_s <= 6.0 for u in closed)
    assert sum(len(u.words) for u in closed) + len(grouper.open) == 30


def test_grouping_closes_when_nothing_follows_for_a_pause(grouper):
    grouper.add(words("好 的"))
    end_s = grouper.open[-1].end_s
    assert grouper.close_if_paused(next_word=None, heard_until_s=end_s + 0.3) == []
    closed = grouper.close_if_paused(next_word=None, heard_until_s=end_s + 0.6)
    assert [u.text for u in closed] == ["好的"] and not grouper.open


def test_grouping_keeps_the_utterance_open_when_the_next_word_is_close(grouper):
    grouper.add(words("好 的"))
    end_s = grouper.open[-1].end_s
    assert grouper.close_if_paused(next_word=Word(end_s + 0.1, end_s + 0.4, "我", 0.9), heard_until_s=100.0) == []


def test_a_heard_silence_ends_the_utterance_though_whisper_times_bridge_it(grouper):
    # Two people, 0.7 s apart; Whisper stretches the last word of the first and the first of the second
    # over the silence, so their times alone show no pause.
    first = [Word(0.0, 0.4, "好", 0.9), Word(0.4, 1.3, "的", 0.9)]
    second = [Word(1.3, 2.2, "我", 0.9), Word(2.2, 2.6, "说", 0.9)]
    assert grouper.add(first + second) == [] and len(grouper.open) == 4  # without a heard break: one utterance
    grouper.open = []
    grouper.set_breaks([1.25], from_s=0.0)  # Silero heard silence from 0.9 s to 1.6 s
    closed = grouper.add(first + second)
    assert [u.text for u in closed] == ["好的"] and "".join(w.text for w in grouper.open) == "我说"


def test_a_heard_silence_before_the_next_word_closes_the_utterance_at_once(grouper):
    grouper.add([Word(0.0, 0.4, "好", 0.9), Word(0.4, 1.3, "的", 0.9)])
    assert grouper.close_if_paused(next_word=Word(1.3, 2.2, "我", 0.9), heard_until_s=2.2) == []
    grouper.set_breaks([1.25], from_s=0.0)
    closed = grouper.close_if_paused(next_word=Word(1.3, 2.2, "我", 0.9), heard_until_s=2.2)
    assert [u.text for u in closed] == ["好的"] and not grouper.open


def test_breaks_heard_again_replace_those_of_the_same_audio(grouper):
    grouper.set_breaks([1.0, 5.0], from_s=0.0)
    grouper.set_breaks([5.2], from_s=3.0)  # a later pass over audio from 3 s: it no longer hears 5.0
    grouper.add([Word(4.0, 4.5, "好", 0.9), Word(4.9, 5.15, "的", 0.9)])
    assert grouper.close_if_paused(next_word=Word(5.3, 5.6, "我", 0.9), heard_until_s=6.0) != []


def test_tentative_words_never_start_inside_the_committed_text():
    agreement = LocalAgreement()
    agreement.update(words("一 二"))
    end_s = agreement.update(words("一 二 三"))[-1].end_s
    # The next pass times a new word to start 0.05 s before the committed end (within the tolerance).
    agreement.update([Word(start_s=end_s - 0.05, end_s=end_s + 0.3, text="四", probability=0.9)])
    assert [w.start_s for w in agreement.tentative] == [end_s]
