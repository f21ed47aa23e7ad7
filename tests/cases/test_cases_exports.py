"""Every export format, produced from what the store returns and parsed back."""

import json
import re
from pathlib import Path

import pytest

from cases import FORMATS, Store, UnknownFormat, export
from cases.record_form import BLANK
from transcribe.types import Utterance, Word

# (start_s, end_s, text, speaker): S1 answers in two parts 0.2 s apart (one turn), S0 comes back
# after a 1 s gap; S9 has no role; the last utterance has no speaker at all.
SCRIPT = [
    (0.5, 3.25, "现在对讯问过程进行全程同步录音录像。", "S0"),
    (3.5, 4.125, "你叫什么名字？", "S0"),
    (4.6, 5.4, "我叫张三", "S1"),
    (5.6, 7.0, "<script>alert('x')</script> & 其他", "S1"),
    (8.0, 9.5, "你是否申请回避？", "S0"),
    (9.75, 10.5, "请翻译一下", "S2"),
    (11.0, 12.0, "不申请", "S1"),
    (3725.5, 3726.0, "嗯", "S9"),
    (3727.0, 3728.0, "（杂音）", None),
]
ROLES = {"S0": "讯问人", "S1": "被讯问人", "S2": "翻译"}


@pytest.fixture
def recorded(tmp_path: Path):
    """(session, utterances) of a finished session, as the store returns them."""
    with Store.open(tmp_path) as store:
        store.ensure_case("A2025-001", title="张某盗窃案")
        session_id = store.create_session(
            case_no="A2025-001", room="第一讯问室", kind="file", source_name="a.wav",
            audio_path="audio/a.flac", audio_sha256="e" * 64, audio_bytes=10, duration_s=3728.0,
            sample_rate=16000, channels=1, diarizer="voice", model="whisper-base",
            options={"beam_size": 5},
        )
        for start_s, end_s, text, speaker in SCRIPT:
            middle_s = (start_s + end_s) / 2
            words = [Word(start_s, middle_s, text[: len(text) // 2], 0.8),
                     Word(middle_s, end_s, text[len(text) // 2 :], 0.6)]
            store.add_utterance(session_id, Utterance.from_words(words, speaker=speaker))
        store.set_speaker_roles(session_id, ROLES)
        store.finish_session(session_id)
        yield store.get_session(session_id), store.utterances(session_id)


def to_ms(clock: str) -> int:
    hours, minutes, rest = clock.replace(",", ".").split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(rest)) * 1000)


def cue_blocks(body: str) -> list[list[str]]:
    return [block.split("\n") for block in body.strip().split("\n\n")]


def test_srt_cues_parse_back(recorded):
    session, utterances = recorded
    blocks = cue_blocks(export("srt", session, utterances))
    assert len(blocks) == len(SCRIPT)
    for number, (block, (start_s, end_s, text, speaker)) in enumerate(zip(blocks, SCRIPT), start=1):
        assert len(block) == 3
        assert block[0] == str(number)
        start, end = re.fullmatch(r"(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})", block[1]).groups()
        assert (to_ms(start), to_ms(end)) == (round(start_s * 1000), round(end_s * 1000))
        name = ROLES.get(speaker, speaker)
        assert block[2] == (f"{name}：{text}" if name else text)
    assert blocks[7][1] == "01:02:05,500 --> 01:02:06,000"


def test_vtt_cues_parse_back_and_escape_markup(recorded):
    session, utterances = recorded
    body = export("vtt", session, utterances)
    assert body.startswith("WEBVTT\n\n")
    blocks = cue_blocks(body.removeprefix("WEBVTT\n\n"))
    assert len(blocks) == len(SCRIPT)
    for block, (start_s, end_s, _, speaker) in zip(blocks, SCRIPT):
        start, end = re.fullmatch(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})", block[0]).groups()
        assert (to_ms(start), to_ms(end)) == (round(start_s * 1000), round(end_s * 1000))
        name = ROLES.get(speaker, speaker)
        assert block[1].startswith(f"<v {name}>") if name else not block[1].startswith("<v")
    assert blocks[0][1] == "<v 讯问人>现在对讯问过程进行全程同步录音录像。"
    assert blocks[7][1] == "<v S9>嗯"
    assert "<script>" not in body
    assert blocks[3][1] == "<v 被讯问人>&lt;script&gt;alert('x')&lt;/script&gt; &amp; 其他"


def test_rttm_lines_have_the_nist_fields_and_merge_close_turns(recorded):
    session, utterances = recorded
    lines = export("rttm", session, utterances).splitlines()
    fields = [line.split() for line in lines]
    for row in fields:
        assert len(row) == 10
        assert row[0] == "SPEAKER" and row[1] == f"session-{session['id']}" and row[2] == "1"
        assert row[5] == row[6] == row[8] == row[9] == "<NA>"
        assert float(row[4]) >= 0
    turns = [(row[7], float(row[3]), round(float(row[3]) + float(row[4]), 3)) for row in fields]
    assert turns == [
        ("S0", 0.5, 4.125),  # 0.25 s gap: one turn
        ("S1", 4.6, 7.0),  # 0.2 s gap: one turn
        ("S0", 8.0, 9.5),
        ("S2", 9.75, 10.5),
        ("S1", 11.0, 12.0),
        ("S9", 3725.5, 3726.0),
        ("unknown", 3727.0, 3728.0),
    ]


def test_json_round_trips(recorded):
    session, utterances = recorded
    document = json.loads(export("json", session, utterances))
    assert document["session"] == session
    assert len(document["utterances"]) == len(utterances)
    for exported, stored in zip(document["utterances"], utterances):
        for key in ("id", "start_s", "end_s", "speaker", "role", "channel", "text", "words"):
            assert exported[key] == stored[key]
    assert document["utterances"][0]["words"][0] == {
        "start_s": 0.5, "end_s": 1.875, "text": SCRIPT[0][2][:9], "probability": 0.8
    }
    assert "讯问人" in export("json", session, utterances)  # not \u-escaped


def test_txt_is_a_written_record(recorded):
    session, utterances = recorded
    lines = export("txt", session, utterances).splitlines()
    assert lines[0] == "讯问笔录"
    assert "（第 1 次）" in lines
    assert re.fullmatch(r"时间：\d{4}年\d{1,2}月\d{1,2}日\d{1,2}时\d\d分至\d{4}年\d{1,2}月\d{1,2}日\d{1,2}时\d\d分",
                        next(line for line in lines if line.startswith("时间：")))
    assert "地点：第一讯问室" in lines
    assert "案件编号：A2025-001" in lines
    assert "翻译：________" in lines  # an interpreter took part
    closing = lines.index("以上笔录我看过（或向我宣读过），和我说的相符")
    header_end = lines.index("", lines.index("案件编号：A2025-001"))
    body = lines[header_end + 1 : closing - 1]
    assert body == [
        "问：现在对讯问过程进行全程同步录音录像。你叫什么名字？",
        "答：我叫张三 <script>alert('x')</script> & 其他",
        "问：你是否申请回避？",
        "翻译：请翻译一下",
        "答：不申请",
        "S9：嗯",
        "未识别说话人：（杂音）",
    ]
    assert lines[closing - 1] == ""
    assert lines[-1] == "以下空白"


def test_txt_times_come_from_the_start_and_the_duration(recorded):
    session, utterances = recorded
    session = {**session, "created_at": "2025-03-05T14:20:30+08:00", "duration_s": 4800.0}
    assert "时间：2025年3月5日14时20分至2025年3月5日15时40分" in export("txt", session, utterances)


def test_txt_appends_procedural_findings_after_the_record(recorded):
    session, utterances = recorded
    findings = [{"key": "rights_notice", "title": "告知诉讼权利义务", "status": "satisfied", "start_s": 75.2},
                {"key": "recusal", "title": "告知申请回避", "status": "missing", "start_s": None}]
    session = {**session, "findings": findings, "rule_set": "criminal_first"}
    lines = export("txt", session, utterances).splitlines()
    end = lines.index("以下空白")
    assert lines[end + 2] == "程序性告知检查（criminal_first）"
    assert lines[end + 3 :] == ["- 告知诉讼权利义务：已告知（00:01:15）", "- 告知申请回避：未发现"]


def test_txt_has_no_check_section_before_a_check(recorded):
    session, utterances = recorded
    assert "程序性告知检查" not in export("txt", {**session, "findings": []}, utterances)


def test_subtitles_keep_each_cue_on_one_line(recorded):
    session, utterances = recorded
    broken = [{**utterances[0], "text": "第一行\n\n第二行"}]
    assert cue_blocks(export("srt", session, broken)) == [["1", "00:00:00,500 --> 00:00:03,250", "讯问人：第一行 第二行"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_exports_an_empty_session(recorded, fmt):
    session, _ = recorded
    assert isinstance(export(fmt, session, []), str)


def test_format_names_are_case_insensitive(recorded):
    session, utterances = recorded
    assert export("SRT", session, utterances) == export("srt", session, utterances)


@pytest.mark.parametrize("fmt", ["docx", "", "srt ", None])
def test_an_unknown_format_names_the_allowed_ones(recorded, fmt):
    session, utterances = recorded
    with pytest.raises(UnknownFormat, match="json, srt, vtt, rttm, txt"):
        export(fmt, session, utterances)


def _line(start_s: float, text: str, speaker: str | None, role: str | None) -> dict:
    return {"start_s": start_s, "end_s": start_s + 1.0, "text": text, "speaker": speaker, "role": role}


def test_record_turns_merge_one_side_and_join_as_written():
    from cases.record_form import record_turns

    utterances = [
        _line(0.0, "我们是民警", "S0", "讯问人"),
        _line(1.0, "现在对你讯问。", "S0", "讯问人"),
        _line(2.0, "你是否申请回避", "S2", "记录人"),  # the recorder asks next: the same 问 turn
        _line(3.0, "不申请", "S1", "被讯问人"),
        _line(4.0, "OK", "S1", "被讯问人"),
        _line(5.0, "翻译一下", "S3", "翻译"),
        _line(6.0, "好的", "S4", "翻译"),  # another interpreter: their own line
    ]
    assert record_turns(utterances) == [
        ("问", "我们是民警，现在对你讯问。你是否申请回避"),
        ("答", "不申请 OK"),
        ("翻译", "翻译一下"),
        ("翻译", "好的"),
    ]


@pytest.mark.parametrize(("id_number", "expected"), [
    ("110101199003071234", ("男", "1990-03-07")),
    ("11010120010230122X", (None, None)),  # 30 February: not a birth date
    ("11010120011130122X", ("女", "2001-11-30")),
    ("110101900307123", (None, None)),  # a 15-digit number, or another document: nothing read from it
    (None, (None, None)),
])
def test_sex_and_birth_date_come_from_a_resident_identity_number(id_number, expected):
    from cases.record_form import identity_details

    sex, born = identity_details(id_number)
    assert (sex, born.isoformat() if born else None) == expected


def test_the_header_names_the_parties_and_leaves_blank_only_what_is_unknown(recorded):
    from cases.record_form import Officer, RecordParties, record_header_lines

    session, _ = recorded
    suspect = {"role": "犯罪嫌疑人", "name": "张三", "id_number": "110101199003071234"}
    parties = RecordParties(
        officers=(Officer("王强", "城关派出所"), Officer("赵勇", "刑侦大队"), Officer("李明", "城关派出所", recorder=True)),
        people=(suspect, {"role": "翻译人员", "name": "艾力", "id_number": None}, {"role": "被害人", "name": "刘芳"}))
    lines = record_header_lines(session, parties)
    assert "讯问人：王强、赵勇    工作单位：城关派出所、刑侦大队" in lines
    assert "记录人：李明    工作单位：城关派出所" in lines
    assert "被讯问人：张三    性别：男    出生日期：1990年3月7日" in lines
    assert "翻译：艾力" in lines and not any("刘芳" in line for line in lines)
    assert [line for line in lines if "____" in line] == ["现住址：________"]
    # Two suspects on the case: which one sat here is not recorded, so the person is left to write in.
    two = RecordParties(people=(suspect, {**suspect, "name": "李四"}))
    assert f"被讯问人：{BLANK}    性别：{BLANK}    出生日期：{BLANK}" in record_header_lines(session, two)
