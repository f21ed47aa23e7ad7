"""The 讯问笔录 as a DOCX document (python-docx), laid out as ../shared/DOMAIN.md describes.

Title and （第 N 次）; the header fields; the exchange as 问：/答： turns, verbatim; the confirmation line,
the signatures and 以下空白. Every page's footer carries the signature line of the person questioned and
"第 X 页 共 Y 页", X and Y being Word fields (PAGE, NUMPAGES) that the word processor fills in when it lays
the pages out. A pure function of (session, utterances) like the text exports.
"""
import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph

from cases.exports import (
    BLANK,
    RECORD_CONFIRMATION,
    RECORD_END,
    RECORD_TITLE,
    integrity_line,
    record_header_lines,
    record_number_line,
    record_turns,
)

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CHINESE_FONT = "SimSun"  # 宋体: what printed records use; Word falls back to another CJK font if absent
BODY_PT = 12
TITLE_PT = 18
FOOTER_SIGNATURE = f"被讯问人（签名、捺指印）：{BLANK}    年  月  日"


def export_docx(session: dict, utterances: list[dict], *, integrity: dict | None = None) -> bytes:
    """The record as the bytes of a .docx file.

    With `integrity`, every page's footer carries the 校验码 line, between the signature and the page number:
    the body must still end with 以下空白 (nothing may follow it), and so any one printed page can be matched.
    """
    document = Document()
    _set_default_font(document)
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(RECORD_TITLE)
    run.bold = True
    run.font.size = Pt(TITLE_PT)
    document.add_paragraph(record_number_line(session)).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in record_header_lines(session):
        document.add_paragraph(line)
    document.add_paragraph("")
    for label, text in record_turns(utterances):
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{label}：").bold = True
        paragraph.add_run(text)
    document.add_paragraph("")
    for line in (RECORD_CONFIRMATION, FOOTER_SIGNATURE, f"讯问人（签名）：{BLANK}    记录人（签名）：{BLANK}",
                 RECORD_END):
        document.add_paragraph(line)
    _add_footer(document, integrity)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _set_default_font(document) -> None:
    style = document.styles["Normal"]
    style.font.size = Pt(BODY_PT)
    style.font.name = CHINESE_FONT
    # python-docx sets only the Latin font; East Asian text takes its font from w:eastAsia.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), CHINESE_FONT)


def _add_footer(document, integrity: dict | None) -> None:
    footer = document.sections[0].footer
    signature = footer.paragraphs[0]
    signature.text = FOOTER_SIGNATURE
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
