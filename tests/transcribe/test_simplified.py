"""Traditional to Simplified: OpenCC t2s, then the common words it leaves in a character that is also Simplified."""
import pytest

from transcribe.simplified import simplified_words, to_simplified


@pytest.mark.parametrize(("traditional", "simplified"), [
    ("我瞭解你的意思", "我了解你的意思"),
    ("一目瞭然", "一目了然"),
    ("他在瞭望塔上", "他在瞭望塔上"),  # 瞭望 is Simplified as written
    ("你看著我", "你看着我"),
    ("別著急", "别着急"),
    ("睡著了", "睡着了"),
    ("這是一本著名的著作", "这是一本著名的著作"),  # 著 "notable, to write" stays
    ("效果顯著", "效果显著"),
    ("你說甚麼", "你说什么"),
    ("妳叫什麼名字", "你叫什么名字"),
])
def test_common_words_come_out_simplified(traditional, simplified):
    assert to_simplified(traditional) == simplified


def test_a_word_split_across_whisper_words_is_fixed_and_the_words_keep_their_lengths():
    words = ["我", "瞭", "解", "，", "他", "看", "著", "我"]
    out = simplified_words(words)
    assert "".join(out) == "我了解，他看着我"
    assert [len(w) for w in out] == [len(w) for w in words]


def test_text_already_simplified_is_unchanged():
    text = "我们依法对你进行讯问，你要如实回答。"
    assert to_simplified(text) == text
    assert "".join(simplified_words(list(text))) == text
