"""A line's text on the session page: the recognizer's unsure words underlined, everything escaped."""
from api.templating import UNSURE_WORD_PROBABILITY, text_html, text_pieces


def line(text, words):
    return {"text": text, "words": [{"text": t, "probability": p} for t, p in words]}


def test_unsure_words_are_their_own_pieces_and_the_pieces_spell_the_text():
    u = line("我叫张三今年三十", [("我叫", 0.9), ("张三", 0.21), ("今年", 0.88), ("三十", 0.49)])
    pieces = text_pieces(u)
    assert pieces == [("我叫", None), ("张三", 0.21), ("今年", None), ("三十", 0.49)]
    assert "".join(p for p, _ in pieces) == u["text"]
    assert all(p is None or p < UNSURE_WORD_PROBABILITY for _, p in pieces)


def test_a_corrected_line_or_one_without_words_is_one_plain_piece():
    assert text_pieces(line("我叫张山", [("我叫", 0.9), ("张三", 0.2)])) == [("我叫张山", None)]
    assert text_pieces(line("我叫张三", [])) == [("我叫张三", None)]
    # Leading and trailing spaces of the words are stripped in the text: the pieces follow it.
    assert text_pieces(line("好的 谢谢", [(" 好的", 0.3), (" 谢谢 ", 0.9)])) == [("好的", 0.3), (" 谢谢", None)]


def test_the_html_is_escaped_inside_and_outside_the_marks():
    html = str(text_html(line("<img src=x onerror=alert(1)>说", [("<img src=x onerror=alert(1)>", 0.1), ("说", 0.9)])))
    assert "<img" not in html and html.count("<u ") == 1 and "&lt;img" in html and 'title="识别把握 10%"' in html
