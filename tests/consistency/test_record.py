"""Reading a written record: header fields and 问/答 blocks from txt and docx; a file that is not one is refused."""
import io
from datetime import datetime

import docx
import pytest

from consistency import WrittenRecordError, parse_file_bytes, parse_text

TEXT = """讯问笔录（第1次）
时间：2024年11月8日9时35分至10时12分
地点：城南派出所讯问室
讯问人：王建国、刘洋　工作单位：城南派出所
记录人：刘洋
被讯问人：陈立军
问：你是否申请回避？
答：不申请。
问：车子现在在哪里？
答：卖给了一个收废品的，
卖了三百块钱。
答（翻译）：他说属实。
以上笔录我看过，和我说的相符。
被讯问人（签名）：
第1页 共1页
"""


def test_header_fields_and_blocks_are_read_from_text():
    record = parse_text(TEXT)
    assert record.title == "讯问笔录（第1次）"
    assert record.header["讯问人"] == "王建国、刘洋" and record.header["工作单位"] == "城南派出所"
    assert record.header["被讯问人"] == "陈立军" and record.header["记录人"] == "刘洋"
    assert record.started_at == datetime(2024, 11, 8, 9, 35)
    assert record.ended_at == datetime(2024, 11, 8, 10, 12)  # the end's date is the start's when left out
    assert [b.speaker for b in record.blocks] == ["问", "答", "问", "答", "答", "答"]
    assert record.blocks[3].text == "卖给了一个收废品的，卖了三百块钱。"  # a continuation line joins its block
    assert record.blocks[4].label == "翻译"
    assert record.blocks[5].text.startswith("以上笔录我看过")  # the suspect's closing statement is something said
    assert record.asides == ("被讯问人（签名）：", "第1页 共1页") and record.notes == ()


def test_a_docx_record_with_its_header_in_a_table_is_read_in_order():
    document = docx.Document()
    document.add_paragraph("讯问笔录")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "时间：2025年3月12日9时00分至2025年3月12日10时15分"
    table.cell(0, 1).text = "地点：经侦大队讯问室"
    table.cell(1, 0).text = "讯问人：李四"
    table.cell(1, 1).text = "被讯问人：黄志强"
    document.add_paragraph("问：你是不是有犯罪行为？")
    document.add_paragraph("答：我没有犯罪，钱是借的。")
    buffer = io.BytesIO()
    document.save(buffer)
    record = parse_file_bytes(buffer.getvalue(), "笔录.docx")
    assert record.header["地点"] == "经侦大队讯问室" and record.header["被讯问人"] == "黄志强"
    assert record.started_at == datetime(2025, 3, 12, 9, 0)
    assert [(b.speaker, b.text) for b in record.blocks] == [("问", "你是不是有犯罪行为？"), ("答", "我没有犯罪，钱是借的。")]


def test_gb18030_text_is_read():
    record = parse_file_bytes("问：姓名？\n答：张海。\n".encode("gb18030"), "笔录.txt")
    assert [b.text for b in record.blocks] == ["姓名？", "张海。"] and "header_time_missing" in record.notes


@pytest.mark.parametrize(("content", "name", "words"), [
    (b"", "a.txt", "empty"),
    ("讯问笔录\n时间：2024年1月1日\n".encode(), "a.txt", "问"),
    (b"\x00\x01\x02binary", "a.txt", "binary"),
    (b"PK\x03\x04 not really a zip", "a.docx", "docx"),
    ("问：你好".encode(), "a.pdf", "unsupported"),
    (b"\xff\xfe\xfd\xfc" * 10, "a.txt", "UTF-8"),
])
def test_a_file_that_is_not_a_record_is_refused_with_a_reason(content, name, words):
    with pytest.raises(WrittenRecordError, match=words) as caught:
        parse_file_bytes(content, name)
    assert caught.value.zh  # a Chinese message for the officer


def test_an_unreadable_header_time_is_noted_not_guessed():
    record = parse_text("时间：上午\n问：你好\n答：好")
    assert record.started_at is None and record.notes == ("header_time_unreadable",)
