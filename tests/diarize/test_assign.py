import types

from diarize import SpeakerTurn, assign_speakers
from transcribe.types import Utterance, Word

TURNS = [SpeakerTurn(0.0, 2.0, "S1", 0), SpeakerTurn(2.2, 5.0, "S2", 1)]


def _utterance(*spans, committed=True):
    words = [Word(s, e, text, 0.9) for s, e, text in spans]
    return Utterance.from_words(words, committed=committed)


def test_an_utterance_spanning_two_turns_is_split_with_the_right_words():
    utterance = _utterance((0.5, 0.9, "你"), (0.9, 1.6, "叫什么"), (1.7, 2.1, "名字"), (2.3, 2.8, "我"), (2.8, 3.5, "叫张三"))
    pieces = list(assign_speakers([utterance], TURNS))
    assert [(p.speaker, p.channel, p.text) for p in pieces] == [("S1", 0, "你叫什么名字"), ("S2", 1, "我叫张三")]
    for piece in pieces:
        assert piece.text == "".join(w.text for w in piece.words).strip()
        assert piece.start_s == piece.words[0].start_s and piece.end_s == piece.words[-1].end_s
    assert pieces[0].end_s <= pieces[1].start_s
    assert [w for p in pieces for w in p.words] == list(utterance.words)


def test_a_word_takes_the_turn_it_overlaps_most():
    # 1.7-2.4 overlaps S1 by 0.3 s and S2 by 0.2 s.
    [piece] = list(assign_speakers([_utterance((1.7, 2.4, "好"))], TURNS))
    assert piece.speaker == "S1"


def test_a_word_in_no_turn_takes_the_nearest_within_a_second_else_the_previous_speaker():
    turns = [SpeakerTurn(0.0, 1.0, "S1"), SpeakerTurn(10.0, 11.0, "S2")]
    near = list(assign_speakers([_utterance((9.5, 9.8, "嗯"))], turns))
    assert near[0].speaker == "S2"
    far = list(assign_speakers([_utterance((0.5, 0.9, "对"), (4.0, 4.5, "是的"))], turns))
    assert [(p.speaker, p.text) for p in far] == [("S1", "对是的")]
    alone = list(assign_speakers([_utterance((5.0, 5.5, "啊"))], turns))
    assert alone[0].speaker is None


def test_committed_flag_is_kept_and_utterances_without_words_take_the_majority_speaker():
    tentative = _utterance((2.5, 3.0, "我"), committed=False)
    wordless = Utterance(start_s=1.5, end_s=4.0, text="")
    pieces = list(assign_speakers([tentative, wordless], TURNS))
    assert pieces[0].committed is False and pieces[0].speaker == "S2"
    assert pieces[1].speaker == "S2" and pieces[1].channel == 1 and pieces[1].words == ()


def test_without_turns_utterances_pass_through_unchanged():
    utterance = _utterance((0.5, 0.9, "你好"))
    assert list(assign_speakers([utterance], [])) == [utterance]


def test_assignment_is_lazy():
    consumed = []

    def source():
        for i in range(3):
            consumed.append(i)
            yield _utterance((i + 0.1, i + 0.5, "字"))

    result = assign_speakers(source(), TURNS)
    assert isinstance(result, types.GeneratorType) and consumed == []
    next(result)
    assert consumed == [0]
