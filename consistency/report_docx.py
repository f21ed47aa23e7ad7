"""The consistency report as a .docx for a supervisor or prosecutor: what was compared, the discrepancies by
severity (each with the written text, the spoken text and where to play it), then the record block by block with
the utterances it was matched to. A pure function of the report dictionary (engine/written.py's `report_dict`).
"""
import io

__all__ = ["report_docx", "KIND_NAMES", "SEVERITY_NAMES", "WHAT_NAMES"]

KIND_NAMES = {"written_not_said": "笔录有、录音无", "said_not_written": "录音有、笔录无", "changed": "内容不一致",
              "header_time": "笔录起止时间与录音不符"}
SEVERITY_NAMES = {"high": "严重", "medium": "一般", "low": "轻微"}
WHAT_NAMES = {"rights_notice": "权利义务告知", "recusal": "回避", "counsel": "委托辩护人", "record_review": "核对笔录",
              "answer": "回答", "question": "提问", "denial": "否认", "retraction": "翻供", "ill_treatment": "反映被打骂、逼供",
              "lawyer": "要求律师", "stop": "要求停止", "refuse_sign": "拒绝签字", "polarity": "肯定/否定相反",
              "amount": "数额", "date": "日期", "time": "时间", "number": "数字", "name_or_place": "人名或地名",
              "start": "开始时间", "end": "结束时间"}


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def report_docx(report: dict, *, session: dict) -> bytes:
    from docx import Document
    from docx.shared import Pt

    document = Document()
    style = document.styles["Normal"]
    style.font.size = Pt(11)
    document.add_heading("笔录与录音录像一致性比对报告", level=1)
    document.add_paragraph(f"案件：{session.get('case_no', '')}　讯问：{report['session_id']}　"
                           f"笔录：{report['filename']}（第 {report['version']} 版，sha256 {report['sha256'][:16]}…）")
    if report["recording_started_at"]:
        document.add_paragraph(f"录音录像时间：{report['recording_started_at']} 至 {report['recording_ended_at']}")
    counts = report["by_severity"]
    document.add_paragraph("结论：" + ("未发现不一致。" if report["consistent"] else
                                    f"发现不一致 {len(report['discrepancies'])} 处（严重 {counts['high']}，一般 "
                                    f"{counts['medium']}，轻微 {counts['low']}）。"))
    for note in report["notes"]:
        document.add_paragraph({"recording_clock_unknown": "未提供录音开始时间，未比对笔录起止时间。",
                                "header_time_missing": "笔录未写明起止时间。",
                                "header_time_unreadable": "笔录起止时间无法识别。"}.get(note, note))
    document.add_heading("不一致之处", level=2)
    order = {"high": 0, "medium": 1, "low": 2}
    table = document.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, ("程度", "类型", "笔录", "录音", "时间")):
        cell.text = title
    for d in sorted(report["discrepancies"], key=lambda d: (order[d["severity"]], d["start_s"] or 0)):
        row = table.add_row().cells
        row[0].text = SEVERITY_NAMES[d["severity"]]
        row[1].text = f"{KIND_NAMES[d['kind']]}（{WHAT_NAMES.get(d['what'], d['what'])}）"
        row[2].text = d["written"] or "—"
        row[3].text = d["spoken"] or "—"
        row[4].text = f"{_clock(d['start_s'])}–{_clock(d['end_s'])}"
    document.add_heading("逐段对照", level=2)
    for block in report["blocks"]:
        paragraph = document.add_paragraph()
        paragraph.add_run(f"{block['speaker']}：{block['text']}").bold = False
        where = (f"　［录音 {_clock(block['start_s'])}–{_clock(block['end_s'])}，相似度 {block['similarity']:.2f}］"
                 if block["utterance_ids"] else "　［录音中未找到］")
        paragraph.add_run(where).italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
