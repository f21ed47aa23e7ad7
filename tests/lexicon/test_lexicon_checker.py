"""The checker: each status, ordering, split statements, speakers, the batch JSON shape, live alerts."""
import json

import pytest

from lexicon import (STATUSES, LiveChecker, Statement, TranscriptError, check, check_transcript,
                     load_rule_set)

OFFICER, RECORDER, SUSPECT = "讯问人", "记录人", "被讯问人"

OPENING = [
    (OFFICER, "我们是南湖派出所的民警，这是我们的工作证件。"),
    (OFFICER, "今天是2025年5月12日，现在是上午八点四十分，讯问开始。"),
    (OFFICER, "这次讯问全程同步录音录像。"),
    (OFFICER, "你叫什么名字？身份证号码多少？"),
    (SUSPECT, "我叫何平，号码我记不清了。"),
]
NOTICES = [
    (OFFICER, "这是犯罪嫌疑人诉讼权利义务告知书，你先看一下。"),
    (SUSPECT, "看完了。"),
    (OFFICER, "你申不申请我们回避？"),
    (SUSPECT, "不申请。"),
    (OFFICER, "你有权委托律师作为辩护人，没钱请律师可以申请法律援助。"),
    (OFFICER, "如实供述自己的罪行，可以依法从轻处罚。"),
    (OFFICER, "跟本案无关的问题，你有权拒绝回答。"),
]
CRIME_QUESTION = [(OFFICER, "你有没有违法犯罪行为？"), (SUSPECT, "有，我骗了别人的钱。")]
FACTS = [  # two questions: a single question between notices is not taken to begin the facts
    (OFFICER, "你把事情的经过讲一下。"), (SUSPECT, "我在网上冒充客服，让人转账。"),
    (OFFICER, "一共骗了几个人，多少钱？"), (SUSPECT, "三个人，两万多。"),
]
CLOSING = [
    (OFFICER, "笔录你看一下，和你说的相符就签名捺印。"),
    (SUSPECT, "相符。"),
    (OFFICER, "现在是九点三十分，讯问结束。"),
]
COMPLETE = OPENING + NOTICES + CRIME_QUESTION + FACTS + CLOSING


def statements(lines, *, gap_s=1.0):
    out, t = [], 0.0
    for n, (role, text) in enumerate(lines, start=1):
        duration = 0.25 * len(text) + 0.5
        out.append(Statement(n, t, t + duration, role, text))
        t += duration + gap_s
    return out


def statuses(lines, rule_set=None, **kwargs):
    findings = check(statements(lines, **kwargs), rule_set or load_rule_set())
    return {f.rule_key: f.status for f in findings}


@pytest.fixture(scope="module")
def rules():
    return load_rule_set()


def test_complete_interrogation_satisfies_every_rule(rules):
    findings = check(statements(COMPLETE), rules)
    assert [f.rule_key for f in findings] == list(rules.keys)  # one per rule, in rule order
    assert {f.status for f in findings} == {"satisfied"}
    for f in findings:
        assert f.utterance_ids and f.start_s is not None and f.evidence and 0.5 < f.score <= 1.0
        assert f.basis == rules.rule(f.rule_key).basis


def test_finding_locates_its_statement(rules):
    found = {f.rule_key: f for f in check(statements(COMPLETE), rules)}
    counsel = found["counsel"]
    assert counsel.utterance_ids == (10,)
    assert counsel.evidence == COMPLETE[9][1]
    assert counsel.start_s == statements(COMPLETE)[9].start_s


def test_left_out_notices_are_missing():
    lines = [line for line in COMPLETE if "回避" not in line[1] and "从轻" not in line[1]]
    result = statuses(lines)
    assert result["recusal"] == "missing" and result["leniency"] == "missing"
    assert [k for k, v in result.items() if v != "satisfied"] == ["recusal", "leniency"]


def test_notices_after_the_questions_on_the_facts_are_out_of_order():
    lines = OPENING + CRIME_QUESTION + FACTS + NOTICES + CLOSING
    result = statuses(lines)
    for key in ("rights_notice", "recusal", "counsel", "leniency", "refuse_irrelevant"):
        assert result[key] == "out_of_order", key
    assert result["crime_question_first"] == "satisfied"
    assert result["start_time"] == "satisfied" and result["end_time"] == "satisfied"


def test_crime_question_must_come_first_among_the_questions_on_the_facts():
    lines = OPENING + NOTICES + FACTS + CRIME_QUESTION + CLOSING
    result = statuses(lines)
    assert result["crime_question_first"] == "out_of_order"
    assert result["rights_notice"] == "satisfied"


def test_record_review_before_the_questions_end_is_out_of_order():
    lines = OPENING + NOTICES + CRIME_QUESTION + CLOSING[:2] + FACTS + CLOSING[2:]
    result = statuses(lines)
    assert result["record_review"] == "out_of_order"
    assert result["end_time"] == "satisfied"


def test_start_time_said_late_is_out_of_order():
    lines = [OPENING[0]] + OPENING[2:] + NOTICES + CRIME_QUESTION + FACTS + [OPENING[1]] + CLOSING
    assert statuses(lines)["start_time"] == "out_of_order"


def test_the_suspect_saying_a_notice_does_not_satisfy_it():
    lines = [(SUSPECT, text) if "律师" in text else (role, text) for role, text in COMPLETE]
    found = {f.rule_key: f for f in check(statements(lines), load_rule_set())}
    assert found["counsel"].status == "wrong_speaker"
    assert found["counsel"].utterance_ids == (10,)  # points at what the suspect said
    assert "被讯问人" in found["counsel"].detail


def test_the_recorder_is_an_officer_too():
    lines = [(RECORDER, text) if "结束" in text else (role, text) for role, text in COMPLETE]
    assert statuses(lines)["end_time"] == "satisfied"


def test_unknown_roles_are_accepted_and_flagged():
    findings = check([Statement(s.utterance_id, s.start_s, s.end_s, None, s.text)
                      for s in statements(COMPLETE)], load_rule_set())
    assert {f.status for f in findings} == {"satisfied"}
    assert all(f.detail == "speaker role unknown" for f in findings)


def test_a_notice_split_across_two_utterances_is_found():
    split = [(OFFICER, "对于与本案无关的问题，"), (OFFICER, "你有拒绝回答的权利。")]
    lines = OPENING + NOTICES[:-1] + split + CRIME_QUESTION + FACTS + CLOSING
    found = {f.rule_key: f for f in check(statements(lines), load_rule_set())}
    assert found["refuse_irrelevant"].status == "satisfied"
    assert len(found["refuse_irrelevant"].utterance_ids) == 2


def test_halves_from_different_speakers_or_far_apart_are_not_joined():
    split = [(OFFICER, "对于与本案无关的问题，"), (SUSPECT, "你有拒绝回答的权利。")]
    lines = OPENING + NOTICES[:-1] + split + CRIME_QUESTION + FACTS + CLOSING
    assert statuses(lines)["refuse_irrelevant"] != "satisfied"
    split = [(OFFICER, "对于与本案无关的问题，"), (OFFICER, "你有拒绝回答的权利。")]
    lines = OPENING + NOTICES[:-1] + split + CRIME_QUESTION + FACTS + CLOSING
    assert statuses(lines, gap_s=60.0)["refuse_irrelevant"] == "missing"


def test_recognition_errors_do_not_make_notices_missing():
    noisy = [(role, text.replace("讯问", "训问").replace("委托律师", "为做律师").replace("，", "").replace("。", ""))
             for role, text in COMPLETE]
    assert set(statuses(noisy).values()) == {"satisfied"}


def test_statements_are_taken_in_time_order(rules):
    shuffled = list(reversed(statements(COMPLETE)))
    assert {f.status for f in check(shuffled, rules)} == {"satisfied"}


def test_empty_transcript_misses_everything(rules):
    findings = check([], rules)
    assert len(findings) == len(rules.rules) and {f.status for f in findings} == {"missing"}


def test_conditional_rule_for_a_minor():
    rules = load_rule_set(conditions=["minor"])
    guardian = (OFFICER, "你未满十八周岁，我们已经通知你的父亲作为法定代理人到场。")
    assert statuses(COMPLETE, rules)["guardian_present"] == "missing"
    lines = OPENING + [guardian] + NOTICES + CRIME_QUESTION + FACTS + CLOSING
    assert statuses(lines, rules)["guardian_present"] == "satisfied"


def test_findings_serialise_for_the_command_line(rules):
    for finding in check(statements(COMPLETE[:8]), rules):
        data = json.loads(json.dumps(finding.to_dict(), ensure_ascii=False))
        assert {"key", "status", "utterance_ids", "start_s", "evidence", "score"} <= data.keys()
        assert data["status"] in STATUSES


def export(lines):
    return {"session": {"id": 7}, "utterances": [
        {"id": s.utterance_id, "start_s": s.start_s, "end_s": s.end_s, "speaker": "SPEAKER_00", "role": s.role,
         "channel": 0, "text": s.text, "words": []} for s in statements(lines)]}


def test_check_transcript_reads_the_batch_export(rules):
    doc = export(COMPLETE)
    assert [f.status for f in check_transcript(doc, rules)] == ["satisfied"] * len(rules.rules)
    assert [f.status for f in check_transcript(json.dumps(doc, ensure_ascii=False), rules)] == \
        ["satisfied"] * len(rules.rules)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: d.pop("utterances"), "needs 'utterances'"),
        (lambda d: d["utterances"][1].update(start_s="soon"), r"utterances\[1\]: 'start_s' must be a number"),
        (lambda d: d["utterances"][2].update(end_s=0.0), r"utterances\[2\]: end_s 0.0 is before start_s"),
        (lambda d: d["utterances"][0].update(text=None), r"utterances\[0\]: 'text' must be a string"),
        (lambda d: d["utterances"][0].update(id="a"), r"'id' must be an integer or null"),
        (lambda d: d["utterances"].append("hello"), r"expected an object"),
    ],
)
def test_a_malformed_transcript_is_refused(rules, mangle, message):
    doc = export(COMPLETE)
    mangle(doc)
    with pytest.raises(TranscriptError, match=message):
        check_transcript(doc, rules)
    with pytest.raises(TranscriptError, match="not valid JSON"):
        check_transcript("{utterances: [", rules)


def test_live_alert_when_facts_begin_before_the_rights_notices(rules):
    live = LiveChecker(rules)
    alerts = []
    for s in statements(OPENING + CRIME_QUESTION + NOTICES):
        alerts += live.add(s)
    assert [a.kind for a in alerts] == ["facts_before_rights"]
    assert set(alerts[0].rule_keys) == {"rights_notice", "recusal", "counsel", "leniency", "refuse_irrelevant"}
    assert alerts[0].utterance_id == len(OPENING) + 1
    checklist = {f.rule_key: f.status for f in live.findings()}
    assert checklist["counsel"] == "out_of_order"


def test_live_no_alert_when_notices_come_first_but_one_when_facts_skip_the_crime_question(rules):
    live = LiveChecker(rules)
    assert [a for s in statements(COMPLETE) for a in live.add(s)] == []
    live = LiveChecker(rules)
    alerts = [a for s in statements(OPENING + NOTICES + FACTS) for a in live.add(s)]
    assert [a.kind for a in alerts] == ["crime_question_not_first"]


def test_a_lone_question_between_notices_does_not_begin_the_facts():
    lone = [(OFFICER, "你的家庭成员有哪些？")]  # identity, but with no identity word the matcher knows
    lines = OPENING + lone + NOTICES + CRIME_QUESTION + FACTS + CLOSING
    assert set(statuses(lines).values()) == {"satisfied"}
    live = LiveChecker(load_rule_set())
    assert [a for s in statements(lines) for a in live.add(s)] == []


def test_live_refuses_statements_out_of_time_order(rules):
    live = LiveChecker(rules)
    first, second = statements(COMPLETE[:2])
    live.add(second)
    with pytest.raises(ValueError, match="time order"):
        live.add(first)


def test_rechecking_a_growing_transcript_only_analyses_the_new_text(rules):
    from lexicon.checker import matcher_for

    lines = statements(COMPLETE)
    check(lines, rules)
    cache = matcher_for(rules)._cache
    before = set(cache)
    check(lines + [Statement(99, 500.0, 503.0, OFFICER, "现在是十点零七分，讯问结束。")], rules)
    added = set(cache) - before
    # the new statement, and the new statement joined to the one before it (same role, close in time)
    assert len(added) <= 2 and any(text.endswith("讯问结束") for text in added)
