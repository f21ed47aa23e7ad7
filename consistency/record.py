"""Reading a written record (讯问笔录 / 询问笔录) from txt or docx: header fields, then 问：/答： blocks.

The header is every line before the first block: `时间：2024年11月8日9时35分至2024年11月8日10时12分`, `地点：…`,
`讯问人：…　工作单位：…` (several fields on a line), `记录人：…`, `被讯问人：…`. A block starts at a line beginning
with 问 or 答 (optionally `答（翻译）：`) and runs until the next one; the suspect's closing statement
(`以上笔录我看过…`) is a block of its own, as it is something said. Page lines (第 页 共 页), 以下空白 and signature
lines are kept apart, never compared.
"""
import io
import re
from dataclasses import dataclass
from datetime import datetime

from consistency.errors import WrittenRecordError

__all__ = ["Block", "WrittenRecord", "parse_text", "parse_docx", "parse_file_bytes", "HEADER_KEYS"]

HEADER_KEYS = ("时间", "地点", "讯问人", "询问人", "记录人", "被讯问人", "被询问人", "工作单位", "翻译人员", "翻译",
               "法定代理人", "监护人", "合适成年人", "讯问次数", "询问次数")
# Longest first, so that 被讯问人 is not read as 讯问人.
_KEY_RE = re.compile("(" + "|".join(sorted(HEADER_KEYS, key=len, reverse=True)) + r")\s*[：:]")
_BLOCK_RE = re.compile(r"^\s*(问|答)\s*(?:[（(]([^）)]{1,12})[）)])?\s*[：:]\s*(.*)$")
_CLOSING_RE = re.compile(r"^\s*以上(?:笔录|内容)")
_ASIDE_RE = re.compile(r"^\s*(?:以下空白|第\s*\d*\s*页|[（(]?\s*(?:签名|捺印|指印|签字)|被?[讯询]问人?[（(]?签)")
_TIME_RE = re.compile(r"(?:(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日)?\s*(\d{1,2})\s*[时:：点]\s*(\d{1,2})?\s*分?")
MAX_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class Block:
    """One 问 or 答 of the written record; `index` counts blocks from 0 in reading order."""

    index: int
    speaker: str  # 问 or 答
    text: str
    label: str | None = None  # who answered, when written as 答（翻译）：


@dataclass(frozen=True, slots=True)
class WrittenRecord:
    title: str | None
    header: dict[str, str]
    started_at: datetime | None
    ended_at: datetime | None
    blocks: tuple[Block, ...]
    asides: tuple[str, ...]
    notes: tuple[str, ...]  # what could not be read (an unreadable time), said in the report


def _header_fields(line: str) -> dict[str, str]:
    matches = list(_KEY_RE.finditer(line))
    fields: dict[str, str] = {}
    for n, match in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(line)
        fields[match.group(1)] = line[match.end():end].strip(" \t\u3000，,;；")
    return fields


def _parse_times(value: str) -> tuple[datetime | None, datetime | None]:
    """`2024年11月8日9时35分至2024年11月8日10时12分`, or the end without its date (`至10时12分`)."""
    parts = re.split(r"至|到|—|－|~|～", value, maxsplit=1)
    found = []
    date = None
    for part in parts:
        match = _TIME_RE.search(part)
        if not match:
            found.append(None)
            continue
        year, month, day, hour, minute = match.groups()
        if year:
            date = (int(year), int(month), int(day))
        if date is None:
            found.append(None)
            continue
        try:
            found.append(datetime(*date, int(hour), int(minute or 0)))
        except ValueError:
            found.append(None)
    found += [None] * (2 - len(found))
    return found[0], found[1]


def parse_text(text: str) -> WrittenRecord:
    """Parse a written record from its text. Raises WrittenRecordError when there is no 问/答 block."""
    title: str | None = None
    header: dict[str, str] = {}
    blocks: list[list] = []  # [speaker, label, text]
    asides: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip().strip("\u3000")
        if not line:
            continue
        block = _BLOCK_RE.match(line)
        if block:
            blocks.append([block.group(1), block.group(2), block.group(3).strip()])
        elif _CLOSING_RE.match(line):
            blocks.append(["答", None, line])
        elif _ASIDE_RE.match(line):
            asides.append(line)
        elif not blocks and _KEY_RE.search(line):
            header.update(_header_fields(line))
        elif not blocks and title is None and "笔录" in line:
            title = line
        elif blocks:
            blocks[-1][2] = (blocks[-1][2] + line).strip()
        else:
            asides.append(line)
    blocks = [b for b in blocks if b[2]]
    if not blocks:
        raise WrittenRecordError("the written record has no 问：/答： block", zh="笔录中没有找到“问：”“答：”内容")
    notes: list[str] = []
    started_at = ended_at = None
    if "时间" in header:
        started_at, ended_at = _parse_times(header["时间"])
        if started_at is None or ended_at is None:
            notes.append("header_time_unreadable")
    else:
        notes.append("header_time_missing")
    return WrittenRecord(
        title=title, header=header, started_at=started_at, ended_at=ended_at,
        blocks=tuple(Block(i, speaker, body, label) for i, (speaker, label, body) in enumerate(blocks)),
        asides=tuple(asides), notes=tuple(notes),
    )


def _docx_lines(data: bytes) -> list[str]:
    """Paragraphs and table cells in document order (a header is often laid out in a table)."""
    try:
        import docx
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:  # a dependency of the project: only a broken install lands here
        raise RuntimeError("python-docx is needed to read .docx written records: pip install python-docx") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a file that is not a docx
        raise WrittenRecordError(f"not a readable .docx file ({type(exc).__name__})",
                                 zh="无法读取该 docx 文件") from exc
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            lines.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for row in Table(child, document).rows:
                cells: list[str] = []
                for cell in row.cells:
                    if cell.text not in cells:  # merged cells repeat their text
                        cells.append(cell.text)
                lines.append("\u3000".join(cells))
    return lines


def parse_docx(data: bytes) -> WrittenRecord:
    return parse_text("\n".join(_docx_lines(data)))


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise WrittenRecordError("the text file is neither UTF-8 nor GB18030", zh="文本文件编码无法识别（应为 UTF-8 或 GB18030）")


def parse_file_bytes(data: bytes, filename: str) -> WrittenRecord:
    """A record from an uploaded or named file: .docx by its name or its zip signature, else text."""
    if not data:
        raise WrittenRecordError("the written record file is empty", zh="笔录文件是空的")
    if len(data) > MAX_BYTES:
        raise WrittenRecordError(f"the written record file is larger than {MAX_BYTES} bytes", zh="笔录文件过大")
    name = (filename or "").lower()
    if name.endswith(".docx") or data[:2] == b"PK":
        return parse_docx(data)
    if name and not name.endswith((".txt", ".text")) and "." in name.rsplit("/", 1)[-1]:
        raise WrittenRecordError(f"unsupported file type {name.rsplit('.', 1)[-1]!r}: use .docx or .txt",
                                 zh="只支持 .docx 或 .txt 格式的笔录")
    if b"\x00" in data[:4096]:
        raise WrittenRecordError("the file is binary, not a text record", zh="该文件不是文本笔录")
    return parse_text(_decode(data))
