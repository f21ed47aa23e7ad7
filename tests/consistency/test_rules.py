"""The general rules of Chinese records the check relies on: how amounts and times are written and said, where a
negation sits, what a name change looks like. Each case is a property of the language, not of a corpus."""
from datetime import datetime

import pytest

from consistency import Spoken, check_record, parse_text
from consistency.text import normalize


@pytest.mark.parametrize("written, said", [
    ("3.5万元", "三万五千块"), ("2.8万元", "两万八千"), ("2万8千块", "两万八千块"), ("各2万5", "各两万五"),
    ("450元", "四百五"), ("1200元", "一千二"), ("8时15分", "八点一刻"), ("9时45分", "九点三刻"),
    ("0时40分", "零点四十分"),
])
def test_amounts_and_times_written_and_said_normalize_alike(written, said):
    digits = "".join(ch for ch in normalize(written) if ch.isdigit())
    assert digits and digits == "".join(ch for ch in normalize(said) if ch.isdigit())


def test_colloquial_tails_do_not_change_exact_numbers():
    assert normalize("一千零二") == "1002" and normalize("二十五") == "25" and normalize("十分害怕") == "十分害怕"


def _found(written_answer: str, said_answer: str, question: str = "问：情况？", said_question: str = "说说情况"):
    record = parse_text(f"{question}\n答：{written_answer}")
    spoken = [Spoken(1, 1.0, 3.0, "讯问人", said_question), Spoken(2, 3.5, 8.0, "被讯问人", said_answer)]
    report = check_record(record, spoken)
    return [(d.kind, d.what) for d in report.discrepancies]


@pytest.mark.parametrize("written, said", [
    ("有异议。", "没有异议"), ("以前偷过，不止一次。", "以前没偷过这是第一次"),
    ("喝了一点酒，那天一直加班。", "没有喝酒那天我一直在加班"), ("愿意出庭。", "我不愿意出庭我怕他报复"),
])
def test_a_negation_dropped_or_added_before_the_same_verb_is_a_flip(written, said):
    assert ("changed", "polarity") in _found(written, said)


@pytest.mark.parametrize("written, said", [
    ("没有异议。", "没有异议"), ("不知道，他说是生意货款。", "我不知道他说是做生意得货款"),
])
def test_the_same_negation_is_no_flip(written, said):
    assert _found(written, said) == []


def test_an_hour_written_on_the_24_hour_clock_is_the_hour_said():
    assert _found("大约22时20分到的桥上。", "大概十点二十到的桥上") == []
    assert ("changed", "time") in _found("大约21时20分到的桥上。", "大概十点二十到的桥上")


@pytest.mark.parametrize("written, said", [
    ("表哥孙建明的白色面包车。", "我开的是我表哥孙建华的白色面包车"),
    ("唐国平，都叫他邓老板。", "叫邓国平大家都叫他邓老板"),
])
def test_a_given_name_or_surname_changed_is_a_change(written, said):
    assert ("changed", "name_or_place") in _found(written, said)


@pytest.mark.parametrize("written, said", [
    ("我妻子刘芳，登记在她名下。", "车是我老婆刘芳的登记在她名下"),
    ("我已经委托了华信律师事务所的律师。", "我已经请了律师是华信律师事务所的"),
])
def test_other_words_for_the_same_thing_are_no_change(written, said):
    assert _found(written, said) == []


def test_a_question_asked_in_other_words_is_not_unsaid_but_a_notice_never_said_is():
    assert _found("罗志强，1998年出生。", "我叫罗志强1998年出生的", "问：你的姓名、出生年份？",
                  "你叫什么名字哪一年出生的") == []
    found = _found("不申请。", "没有", "问：你是否申请回避？", "你叫什么名字")
    assert ("written_not_said", "recusal") in found


def test_the_check_reports_progress_block_by_block():
    record = parse_text("\n".join(f"问：第{n}个问题？\n答：回答{n}。" for n in range(1, 6)))
    spoken = [Spoken(n, n * 2.0, n * 2.0 + 1.5, "讯问人" if n % 2 else "被讯问人", f"第{n}句话")
              for n in range(1, 11)]
    calls = []
    check_record(record, spoken, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (10, 10) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_bilu_written_check_prints_progress_on_stderr_only_for_a_long_record(capsys):
    from api.cli_written import _StderrProgress

    short, long = _StderrProgress(quiet_s=0.0), _StderrProgress(quiet_s=0.0)
    for done in range(1, 11):
        short(done, 10)
    for done in range(1, 201):
        long(done, 200)
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("比对进度") for line in lines) and lines[-1].endswith("200/200 个问答块")


@pytest.mark.parametrize("said, as_range", [
    ("十五六斤", "15至16斤"), ("三四个人", "3至4个人"), ("二三十块", "20至30块"), ("七八百元", "700至800元"),
    ("十七八岁", "17至18岁"), ("二十七八个", "27至28个"), ("一两万", "10000至20000"), ("三千四五百", "3400至3500"),
])
def test_an_approximate_number_keeps_both_ends(said, as_range):
    assert normalize(said) == as_range


def test_digits_that_are_not_neighbours_stay_one_number():
    assert normalize("一九八九年") == "1989年" and normalize("三十四") == "34" and normalize("一三八") == "138"


def test_an_approximate_amount_written_as_said_is_no_discrepancy():
    assert _found("大约十五六斤，还没卖。", "大概打了十五六斤还没来得及卖") == []


def test_a_number_inside_a_larger_one_said_is_not_that_number():
    assert ("changed", "number") in _found("前后三批，共计800双左右。", "前后进了三批总共一千八百双左右")
    assert _found("前后三批，共计1800双左右。", "前后进了三批总共一千八百双左右") == []


@pytest.mark.parametrize("written, said", [
    ("看完了，都明白。", "看完了，没有不懂的。"),  # a double negative is positive
    ("都明白。", "没有，都明白。"),  # a bare 没有 answering the question, the answer after it
    ("他说话很大声，我说了他几句。", "他说话特别大声，我就说了他两句。"),  # 特别 is "especially"
    ("共获利约4.7万元。", "一共拿了，差不多四万七吧。"),  # 差不多 is "about"
    ("和别人打游戏时吵架。", "和别仁打游戏的时吵架"),  # 别人 heard as 别仁 is still "others"
    ("2023年10月。", "前年，不对，是大前年十月份进去的。"),  # a self-repair negates no clause
    ("高血压患者吃了可以停药。", "高血压的可以不用吃药了。"),  # a negated verb written as a verb of negative meaning
    ("平时很少来公司。", "平时不怎么来。"),
    ("没有保健食品批准文号。", "连保健食品的批号都没有。"),  # a negation after its object
])
def test_negation_characters_that_do_not_flip_the_answer(written, said):
    from consistency.polarity import polarity_flipped

    assert not polarity_flipped(written, said)


@pytest.mark.parametrize("written, said", [
    ("有，都明白。", "没有，都明白。"), ("看完了，有不懂的。", "看完了，没有不懂的。"),
    ("高血压患者吃了可以吃药。", "高血压的可以不用吃药了。"), ("有保健食品批准文号。", "连保健食品的批号都没有。"),
])
def test_the_same_sentences_with_the_polarity_really_changed_still_flip(written, said):
    from consistency.polarity import negation_differs, polarity_flipped

    assert polarity_flipped(written, said) or negation_differs(written, said)


def test_a_self_repair_is_not_a_retraction():
    from consistency.patterns import spoken_topic

    assert spoken_topic(normalize("前年，不对，是大前年十月份进去的")) is None
    assert spoken_topic(normalize("刚才说的不对，是他先动的手"))[0] == "retraction"


def test_an_answer_is_not_taken_from_before_its_question():
    record = parse_text("问：除小龙外还卖给过别人吗？\n答：没有，只卖过他这一次。\n问：还有什么要说的？\n答：没有了。")
    spoken = [Spoken(1, 1.0, 3.0, "讯问人", "除了小龙还卖给过别人没有"), Spoken(2, 3.5, 6.0, "被讯问人", "没有就卖了他这一次"),
              Spoken(3, 7.0, 9.0, "讯问人", "你再想想还有什么要说的"), Spoken(4, 9.5, 10.0, "被讯问人", "没了")]
    report = check_record(record, spoken)
    assert 2 not in report.alignments[3].utterance_ids
    assert not [d for d in report.discrepancies if d.kind == "changed"]


def _interpreted(spoken_lines):
    return [Spoken(n, n * 4.0, n * 4.0 + 3.0, role, text) for n, (role, text) in enumerate(spoken_lines, start=1)]


def test_with_an_interpreter_the_record_holds_the_chinese_rendering_not_the_foreign_words():
    record = parse_text("问：你的姓名？\n答：阮文海。\n问：如何被查获？\n答：上周派出所到厂里检查，我没有证件，被带走了。")
    spoken = _interpreted([("讯问人", "你叫什么名字"), ("翻译", "早安对拉分译文"), ("被讯问人", "Tôi tên là Nguyễn Văn Hải."),
                           ("翻译", "他说他叫阮文海"), ("讯问人", "怎么被抓到的"), ("被讯问人", "对电拉温文海新南"),
                           ("翻译", "他说上个礼拜在厂里，派出所来检查，他没有证件就被带走了。")])
    assert [d for d in check_record(record, spoken).discrepancies if d.kind == "said_not_written"] == []


def test_with_an_interpreter_a_relayed_retraction_left_out_is_still_found():
    record = parse_text("问：你的姓名？\n答：阮文海。\n问：如何被查获？\n答：上周派出所到厂里检查，我没有证件，被带走了。")
    spoken = _interpreted([("讯问人", "你叫什么名字"), ("被讯问人", "Tôi tên là Nguyễn Văn Hải."), ("翻译", "他说他叫阮文海"),
                           ("讯问人", "怎么被抓到的"), ("翻译", "他说上个礼拜在厂里，派出所来检查，他没有证件就被带走了。"),
                           ("翻译", "他说刚才讲错了，他不是自己要过来的，是被人骗过来的。")])
    found = [(d.kind, d.what) for d in check_record(record, spoken).discrepancies]
    assert ("said_not_written", "retraction") in found


def test_a_rights_notice_said_in_other_words_is_said_but_one_never_said_is_not():
    record = parse_text("问：我们是派出所民警。如实供述自己的罪行可以从轻处理，对与本案无关的问题有拒绝回答的权利。你是否有违法犯罪行为？\n"
                        "答：有。")
    said = [Spoken(1, 1.0, 3.0, "讯问人", "我们是派出所的民警"),
            Spoken(2, 3.5, 8.0, "讯问人", "你如实讲清楚自己的问题，可以从轻处理。跟案子没关系的问题你可以不回答。"),
            Spoken(3, 8.5, 10.0, "讯问人", "那你有没有违法犯罪的行为"), Spoken(4, 10.5, 11.0, "被讯问人", "有")]
    assert check_record(record, said).discrepancies == ()
    unsaid = said[:1] + said[2:]
    found = [(d.kind, d.what) for d in check_record(record, unsaid).discrepancies]
    assert ("written_not_said", "rights_notice") in found


def _review(said_review: bool):
    record = parse_text("问：还有什么要说的？\n答：没有了。\n问：以上笔录你核对一下。\n答：看了，和我说的一样。\n"
                        "答：以上笔录我看过，和我说的相符。")
    spoken = [Spoken(1, 1.0, 3.0, "讯问人", "还有什么要说的"), Spoken(2, 3.5, 4.0, "被讯问人", "没有了")]
    if said_review:
        spoken += [Spoken(3, 5.0, 8.0, "讯问人", "笔录你看看，没问题签字捺印"),
                   Spoken(4, 9.0, 11.0, "被讯问人", "我看了，跟我说的一样")]
    return [(d.kind, d.what) for d in check_record(record, spoken).discrepancies]


def test_the_handwritten_closing_attestation_is_not_said_once_the_review_was_said():
    assert _review(said_review=True) == []
    assert ("written_not_said", "record_review") in _review(said_review=False)


def test_an_interpreters_relay_of_a_short_reply_is_that_reply():
    record = parse_text("问：笔录已通过翻译向你宣读，是否属实？\n答：属实。")
    spoken = [Spoken(1, 1.0, 3.0, "讯问人", "笔录翻译给他听，看对不对"), Spoken(2, 3.5, 6.0, "翻译", "我把笔录给他念了一遍，他说对的")]
    assert check_record(record, spoken).discrepancies == ()


def _dated(written_answer: str, said_answer: str, interview: str = "2026年7月10日9时00分"):
    record = parse_text(f"时间：{interview}至{interview}\n问：什么时候？\n答：{written_answer}")
    spoken = [Spoken(1, 1.0, 3.0, "讯问人", "什么时候的事"), Spoken(2, 3.5, 8.0, "被讯问人", said_answer)]
    return [(d.kind, d.what) for d in check_record(record, spoken).discrepancies if d.kind == "changed"]


def test_half_past_an_hour_is_thirty_minutes():
    assert normalize("十一点半") == normalize("11时30分")


def test_a_year_left_out_or_a_day_said_relative_to_the_interview_is_the_date_written():
    assert _dated("2026年7月9日23时30分左右，在烧烤店。", "就是九号晚上，七月九号，大概十一点半左右吧，在烧烤店") == []
    assert _dated("2026年7月9日21时许，在家刷手机。", "昨天晚上，九点多吧，在家刷手机") == []
    assert _dated("2023年10月进的公司。", "大前年十月份进的公司") == []


def test_a_date_said_otherwise_is_still_changed():
    assert ("changed", "date") in _dated("2025年7月9日23时30分左右，在烧烤店。", "二零二六年七月九号，大概十一点半，在烧烤店")
    assert ("changed", "date") in _dated("2026年7月8日21时许，在家刷手机。", "昨天晚上，七月九号九点多吧，在家刷手机")
    assert ("changed", "date") in _dated("2024年10月进的公司。", "大前年十月份进的公司")


@pytest.mark.parametrize("written, said", [
    ("覃小勇，31岁，广西柳州人。", "秦小勇31岁广西柳州的"),  # 覃 reads qin as well as tan: heard as 秦
    ("是一位老年妇女，腿不能动。", "是个老太太，腿动不了。"),  # 老太太 is built like a name but is none
    ("我约他们看房，签合同收钱后说过几天交房。", "我约他们看房，签完合同收了钱，就说过几天交房。"),  # 钱 in 收钱 is no surname
    ("我坐高铁到南宁，在南宁东站外把卡交给他的人。", "我坐高铁去的南宁，在火车东站外面把卡给他的人的。"),  # 南宁 said in the answer
])
def test_words_that_only_look_like_a_name_changed(written, said):
    assert ("changed", "name_or_place") not in _found(written, said)


@pytest.mark.parametrize("written, said", [
    ("覃小勇，31岁，广西柳州人。", "秦小刚31岁广西柳州的"),
    ("入境后阿强开车送我到中山。", "过来以后阿强开车把他送到佛山"),
])
def test_a_name_or_place_really_changed_is_still_found(written, said):
    assert ("changed", "name_or_place") in _found(written, said)


def test_an_answer_does_not_take_the_next_question_into_its_span():
    record = parse_text("问：主管叫什么？\n答：蒋伟。\n问：他是否拿了钱？\n答：他没有拿钱，只是让我先周转。")
    spoken = [Spoken(1, 1.0, 3.0, "讯问人", "你们主管叫什么"), Spoken(2, 3.5, 6.0, "被讯问人", "叫蒋伟，蒋介石的蒋，伟大的伟。"),
              Spoken(3, 7.0, 8.0, "讯问人", "他拿钱没有"), Spoken(4, 8.5, 11.0, "被讯问人", "他没拿钱，他就是说让我先周转一下。")]
    report = check_record(record, spoken)
    assert 3 not in report.alignments[3].utterance_ids and report.discrepancies == ()


def test_a_negation_reaches_past_shenme():
    from consistency.polarity import polarity_flipped

    assert not polarity_flipped("不申请，身体没问题，可以接受讯问。", "能没什么问题")
