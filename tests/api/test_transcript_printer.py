"""`bilu record`'s terminal output: stored lines on stdout, the tentative text overwritten in place."""
from api.cli_live import TranscriptPrinter


def _utterance(start_s: float, end_s: float, text: str) -> dict:
    return {"type": "utterance", "utterance": {"start_s": start_s, "end_s": end_s, "text": text,
                                               "role": "讯问人", "speaker": "S1"}}


def _terminal_printer() -> TranscriptPrinter:
    printer = TranscriptPrinter()
    printer._tty = True  # pytest captures stdout, which is no terminal; the printer's choice is what is tested
    return printer


def test_next_words_shown_before_the_previous_line_is_stored_stay_shown(capsys):
    # The labeller stores a line just after the pass that already shows the next person's first words.
    printer = _terminal_printer()
    printer.show({"type": "tentative", "text": "你叫什么名字", "start_s": 5.0, "end_s": 6.0})
    printer.show(_utterance(1.0, 4.2, "我们是市公安局的民警"))
    out = capsys.readouterr().out
    stored_at = out.index("我们是市公安局的民警")
    assert "你叫什么名字" in out[stored_at:], "the tentative after the stored line was wiped and not shown again"


def test_tentative_of_the_stored_line_itself_is_cleared(capsys):
    printer = _terminal_printer()
    printer.show({"type": "tentative", "text": "我们是市公安", "start_s": 1.0, "end_s": 3.0})
    printer.show(_utterance(1.0, 4.2, "我们是市公安局的民警"))
    out = capsys.readouterr().out
    assert "我们是市公安" not in out[out.index("我们是市公安局的民警") + len("我们是市公安局的民警"):]
    assert out.rstrip().endswith("讯问人: 我们是市公安局的民警")


def test_no_tentative_text_when_not_a_terminal(capsys):
    printer = TranscriptPrinter()
    printer._tty = False
    printer.show({"type": "tentative", "text": "你叫什么名字", "start_s": 5.0, "end_s": 6.0})
    printer.show(_utterance(1.0, 4.2, "我们是市公安局的民警"))
    out = capsys.readouterr().out
    assert "你叫什么名字" not in out and "我们是市公安局的民警" in out
