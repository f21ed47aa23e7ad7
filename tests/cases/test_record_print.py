"""The 讯问笔录 as it prints: a real session exported as DOCX, laid out by LibreOffice (headless, from Debian) into a
PDF, read back with poppler (pdftotext, pdfinfo, pdffonts, pdftoppm). What is asserted is what is on paper.

Needs the Debian packages libreoffice-writer-nogui, poppler-utils and fonts-arphic-uming (`make system-packages`).
"""
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from cases import Store
from cases.integrity import signed_export
from transcribe.types import Utterance, Word

CASE_NO = "A2025-016"
SUSPECT_ID = "110101199003071234"  # born 1990-03-07; 17th digit 3 is odd: a man
EXCHANGE_ROUNDS = 45  # enough questions and answers for more than one A4 page
# (start_s, end_s, text, speaker): the officer's opening spans two lines and the recorder (S2) asks the recusal
# question right after: one 问 turn; the suspect's answer in two lines is one 答 turn.
OPENING = [
    (0.5, 3.0, "我们是城关派出所的民警", "S0"),
    (3.2, 5.0, "现在依法对你进行讯问。", "S0"),
    (5.5, 7.0, "你是否申请回避？", "S2"),
    (7.5, 8.5, "不申请。", "S1"),
    (9.0, 10.0, "你叫什么名字？", "S0"),
    (10.5, 11.5, "我叫张三", "S1"),
    (11.7, 12.5, "今年三十五岁", "S1"),
]
ROLES = {"S0": "讯问人", "S1": "被讯问人", "S2": "记录人"}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    # Not a skip: printing the record is a feature, and these tools are part of the install.
    assert path, f"{tool} is missing: run `make system-packages` (Debian packages in the Makefile's SYSTEM_PACKAGES)"
    return path


def _run(*args: str, timeout_s: float = 120) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=timeout_s).stdout


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The record of a real session, exported as DOCX and TXT and printed to PDF: a dict of what came out."""
    home = tmp_path_factory.mktemp("home")
    with Store.open(home) as store:
        store.add_unit("某市公安局", level="city")
        store.add_unit("城关办案中心", level="centre", parent="某市公安局")
        store.add_unit("城关派出所", level="unit", parent="城关办案中心")
        store.add_unit("刑侦大队", level="unit", parent="城关办案中心")
        store.add_user("wangq", role="officer", unit="城关派出所", password="p" * 16, display_name="王强")
        store.add_user("zhaoy", role="officer", unit="刑侦大队", password="p" * 16, display_name="赵勇")
        store.add_user("lim", role="recorder", unit="城关派出所", password="p" * 16, display_name="李明")
        store.ensure_case(CASE_NO, title="张三盗窃案")
        store.add_person(CASE_NO, name="张三", role="犯罪嫌疑人", id_number=SUSPECT_ID)
        store.add_person(CASE_NO, name="刘芳", role="被害人")
        session_id = store.create_session(
            case_no=CASE_NO, room="第一讯问室", kind="file", source_name="a.wav", audio_path="audio/a.flac",
            audio_sha256="e" * 64, audio_bytes=10, duration_s=4800.0, sample_rate=16000, channels=1,
            diarizer="voice", model="whisper-base", options={})
        script = list(OPENING)
        for n in range(EXCHANGE_ROUNDS):
            at = 14.0 + n * 4
            script.append((at, at + 1.5, f"第{n}个问题，那天晚上你在哪里", "S0"))
            script.append((at + 2.0, at + 3.5, f"我在家里看电视，第{n}个回答", "S1"))
        for start_s, end_s, text, speaker in script:
            store.add_utterance(session_id, Utterance.from_words([Word(start_s, end_s, text, 0.9)], speaker=speaker))
        store.set_speaker_roles(session_id, ROLES)
        store.finish_session(session_id)
        store.set_session_officers(session_id, ["wangq", "zhaoy", "lim"])
        session = store.get_session(session_id)
        docx, _ = signed_export(store, session_id, fmt="docx", actor="test")
        txt, _ = signed_export(store, session_id, fmt="txt", actor="test")
    out = tmp_path_factory.mktemp("print")
    (out / "record.docx").write_bytes(docx)
    profile = (out / "lo-profile").as_uri()  # a profile of its own: no clash with another LibreOffice running
    _run(_need("soffice"), f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf", "--outdir",
         str(out), str(out / "record.docx"), timeout_s=300)
    pdf = out / "record.pdf"
    assert pdf.is_file(), "LibreOffice wrote no PDF"
    _run(_need("pdftoppm"), "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(out / "page"))
    start = datetime.fromisoformat(session["created_at"])
    return {
        "session": session, "txt": txt, "pdf": pdf,
        "pages": _run(_need("pdftotext"), "-layout", str(pdf), "-").split("\f"),
        "info": _run(_need("pdfinfo"), str(pdf)), "fonts": _run(_need("pdffonts"), str(pdf)),
        "png": next(out.glob("page-*1.png")),
        "when": f"时间：{_minute(start)}至{_minute(start + timedelta(seconds=4800))}",
    }


def _minute(moment: datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日{moment.hour}时{moment.minute:02d}分"


def _squeeze(text: str) -> str:
    # pdftotext puts spaces where the font changes (digits are set in the Latin font) and lays out columns.
    return re.sub(r"\s+", "", text)


def _lines(page: str) -> list[str]:
    return [line for line in (_squeeze(raw) for raw in page.splitlines()) if line]


def _page_count(info: str) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def test_the_page_is_a4(printed):
    width, height = map(float, re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", printed["info"], re.M).groups())
    assert abs(width - 595.3) < 1.5 and abs(height - 841.9) < 1.5  # 210 x 297 mm
    assert _page_count(printed["info"]) >= 2


def test_the_header_prints_the_known_fields(printed):
    lines = _lines(printed["pages"][0])
    assert lines[0] == "讯问笔录" and lines[1] == "（第1次）"
    header = lines[: next(n for n, line in enumerate(lines) if line.startswith("问："))]
    assert _squeeze(printed["when"]) in header
    assert "地点：第一讯问室" in header
    assert "讯问人：王强、赵勇工作单位：城关派出所、刑侦大队" in header
    assert "记录人：李明工作单位：城关派出所" in header
    assert "被讯问人：张三性别：男出生日期：1990年3月7日" in header
    assert f"身份证件种类及号码：居民身份证{SUSPECT_ID}" in header
    assert "案件编号：A2025-016" in header and "案件名称：张三盗窃案" in header
    # The address is the one field the store does not hold: the only blank left to write in.
    assert [line for line in header if "____" in line] == ["现住址：________"]


def test_the_exchange_is_merged_into_question_and_answer_turns(printed):
    text = _squeeze("".join(printed["pages"]))
    assert "问：我们是城关派出所的民警，现在依法对你进行讯问。你是否申请回避？答：不申请。问：你叫什么名字？" in text
    assert "答：我叫张三，今年三十五岁问：第0个问题，那天晚上你在哪里答：我在家里看电视，第0个回答" in text
    turns = re.findall(r"(问|答)：", text.split("以上笔录我看过")[0])
    assert turns.count("问") == turns.count("答") == EXCHANGE_ROUNDS + 2
    assert all(a != b for a, b in zip(turns, turns[1:]))  # the sides alternate: nothing left unmerged


def test_every_page_is_numbered_and_signed(printed):
    count = _page_count(printed["info"])
    pages = [page for page in printed["pages"] if page.strip()]
    assert len(pages) == count
    for number, page in enumerate(pages, start=1):
        text = _squeeze(page)
        assert f"第{number}页共{count}页" in text
        assert "被讯问人（签名、捺指印）：" in text
        assert "校验码：" in text


def test_the_record_closes_with_the_statement_and_the_signatures(printed):
    last = _lines(printed["pages"][_page_count(printed["info"]) - 1])
    order = [next(n for n, line in enumerate(last) if line.startswith(start)) for start in (
        "以上笔录我看过（或向我宣读过），和我说的相符", "被讯问人（签名、捺指印）：", "讯问人（签名）：", "记录人（签名）：",
        "以下空白")]
    assert order == sorted(order)
    assert last.index("以下空白") == order[-1]


def test_the_text_is_set_in_a_song_typeface(printed):
    fonts = printed["fonts"].splitlines()[2:]
    names = [line.split()[0].split("+")[-1] for line in fonts if line.strip()]
    assert any(re.search(r"SimSun|Song|UMing|Ming|SerifCJK", name) for name in names), names
    assert not any(re.search(r"MicroHei|ZenHei", name) for name in names), names  # not the sans fallback


def test_the_first_page_renders_as_a_portrait_a4_with_ink(printed):
    with Image.open(printed["png"]) as image:
        width, height = image.size
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128])
    assert abs(height / width - 297 / 210) < 0.01
    assert dark > 0.005 * width * height  # text on it, not a blank page


def test_the_text_export_has_the_same_header_and_turns(printed):
    lines = printed["txt"].splitlines()
    assert lines[0] == "讯问笔录" and lines[1] == "（第 1 次）"
    assert printed["when"] in lines
    assert "讯问人：王强、赵勇    工作单位：城关派出所、刑侦大队" in lines
    assert "记录人：李明    工作单位：城关派出所" in lines
    assert "被讯问人：张三    性别：男    出生日期：1990年3月7日" in lines
    assert f"身份证件种类及号码：居民身份证 {SUSPECT_ID}" in lines
    turns = lines[lines.index("案件名称：张三盗窃案") + 2:]
    assert turns[:4] == ["问：我们是城关派出所的民警，现在依法对你进行讯问。你是否申请回避？", "答：不申请。",
                         "问：你叫什么名字？", "答：我叫张三，今年三十五岁"]
    closing = lines.index("以上笔录我看过（或向我宣读过），和我说的相符")
    assert lines[closing + 1].startswith("被讯问人（签名、捺指印）：") and "以下空白" in lines[closing:]
    header = lines[: lines.index("", 3)]
    assert [line for line in header if "____" in line] == ["现住址：________"]
