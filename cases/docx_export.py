"""The 讯问笔录 as a DOCX document (python-docx): the form of cases/record_form.py, laid out to print.

A4 with ordinary margins (2.54 cm top and bottom, 3.17 cm left and right, as Word's "普通"), 宋体 (SimSun; where
it is absent fontconfig's serif for Chinese stands in: AR PL UMing on Debian, fonts-arphic-uming), 12 pt body and
an 18 pt bold title. Title and （第 N 次）; the header fields; the exchange as 问：/答： turns, verbatim; the
confirmation line, the signatures and 以下空白. Every page's footer carries the signature line of the person
questioned and "第 X 页 共 Y 页", X and Y being Word fields (PAGE, NUMPAGES) that the word processor fills in when
it lays the pages out. A withdrawn upload's record (migration 15) is kept for review and can be printed, but never
as a valid record: 【已撤回】 in bold red opens the body (with when, by whom and why) and heads every page. A pure function of (session, utterances, parties) like the text exports.
"""
import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from cases.exports import integrity_line
from cases.record_form import (
    RECORD_TITLE,
    SUSPECT_SIGNATURE,
    WITHDRAWN_BANNER,
    RecordParties,
    closing_lines,
    record_header_lines,
    record_number_line,
    record_turns,
    review_lines,
    withdrawal_lines,
)

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CHINESE_FONT = "SimSun"
"""宋体, what printed records use. Its English name: Word knows both, and fontconfig maps SimSun to the serif
for Chinese (AR PL UMing from fonts-arphic-uming on Debian) where Windows' font is not installed."""
LATIN_FONT = "Times New Roman"
"""Digits and Latin letters (times, identity numbers); fontconfig's serif where it is absent."""
BODY_PT = 12
TITLE_PT = 18
LINE_SPACING = 1.5
FOOTER_GAP_PT = 12
A4_WIDTH_CM, A4_HEIGHT_CM = 21.0, 29.7
MARGIN_TOP_CM = MARGIN_BOTTOM_CM = 2.54
MARGIN_LEFT_CM = MARGIN_RIGHT_CM = 3.17
FOOTER_SIGNATURE = SUSPECT_SIGNATURE
WITHDRAWN_COLOUR = RGBColor(0xC0, 0x00, 0x00)
"""The 已撤回 mark in red, as a stamp: unmistakable on a colour print, still bold and large on a grey one."""


def export_docx(session: dict, utterances: list[dict], *, integrity: dict | None = None,
                parties: RecordParties | None = None) -> bytes:
    """The record as the bytes of a .docx file.

    With `integrity`, every page's footer carries the 校验码 line, between the signature and the page number:
    the body must still end with 以下空白 (nothing may follow it), and so any one printed page can be matched.
    """
    document = Document()
    _set_page(document)
    _set_default_font(document)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(RECORD_TITLE)
    run.bold = True
    run.font.size = Pt(TITLE_PT)
    withdrawal = withdrawal_lines(session, parties)
    for number, line in enumerate(withdrawal):
        _add_mark(document.add_paragraph(), line, size_pt=TITLE_PT if number == 0 else BODY_PT)
    document.add_paragraph(record_number_line(session)).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in record_header_lines(session, parties):
        document.add_paragraph(line)
    document.add_paragraph("")
    for label, text in record_turns(utterances):
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}：").bold = True
        paragraph.add_run(text)
    document.add_paragraph("")
    for line in closing_lines():
        document.add_paragraph(line)
    for line in review_lines(session.get("record_review")):  # who signed, and the amendments after signing
        document.add_paragraph(line)
    if withdrawal:
        _add_mark(document.sections[0].header.paragraphs[0], WITHDRAWN_BANNER, size_pt=BODY_PT)
    _add_footer(document, integrity)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_page(document) -> None:
    # python-docx's template is US Letter: a record is printed on A4.
    section = document.sections[0]
    section.page_width, section.page_height = Cm(A4_WIDTH_CM), Cm(A4_HEIGHT_CM)
    section.top_margin, section.bottom_margin = Cm(MARGIN_TOP_CM), Cm(MARGIN_BOTTOM_CM)
    section.left_margin, section.right_margin = Cm(MARGIN_LEFT_CM), Cm(MARGIN_RIGHT_CM)


def _set_default_font(document) -> None:
    style = document.styles["Normal"]
    style.font.size = Pt(BODY_PT)
    style.font.name = LATIN_FONT
    style.paragraph_format.line_spacing = LINE_SPACING
    style.paragraph_format.space_after = Pt(0)
    r_pr = style.element.get_or_add_rPr()
    # python-docx sets only the Latin font; East Asian text takes its font from w:eastAsia, and a word
    # processor picks its fallback by the text's language, so Chinese is declared zh-CN.
    r_pr.get_or_add_rFonts().set(qn("w:eastAsia"), CHINESE_FONT)
    language = r_pr.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        r_pr.append(language)
    language.set(qn("w:eastAsia"), "zh-CN")


def _add_mark(paragraph: Paragraph, text: str, *, size_pt: int) -> None:
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run(text)
    run.bold = True
    run.font.size = Pt(size_pt)
    run.font.color.rgb = WITHDRAWN_COLOUR


def _add_footer(document, integrity: dict | None) -> None:
    footer = document.sections[0].footer
    signature = footer.paragraphs[0]
    signature.text = FOOTER_SIGNATURE
    signature.paragraph_format.space_before = Pt(FOOTER_GAP_PT)  # kept apart from the body's last line
    if integrity is not None:
        footer.add_paragraph(integrity_line(integrity))
    pages = footer.add_paragraph()
    pages.alignment = WD_ALIGN_PARAGRAPH.CENTER
    pages.add_run("第 ")
    _add_field(pages, "PAGE")
    pages.add_run(" 页 共 ")
    _add_field(pages, "NUMPAGES")
    pages.add_run(" 页")


def _add_field(paragraph: Paragraph, instruction: str) -> None:
    """A complex field (begin, instruction, separate, shown value, end) as Word itself writes one."""
    def char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._r.append(element)

    char("begin")
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} \\* MERGEFORMAT "
    run._r.append(text)
    char("separate")
    paragraph.add_run("1")  # shown until the word processor updates the field
    char("end")
