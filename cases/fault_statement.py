"""The 相关说明 of a recording's faults (issue 20): a session whose recording has a gap, a lost device or a restart
gets a drafted statement (start, end, each gap with its times and its cause as the device, the room agent or the
recovery recorded it, who was present), which the officers complete (a note) and sign like the 讯问笔录
(cases/signing.py, document "fault_statement"). Read from the store's public methods; the gaps are those the
recording_continuity guardrail judges (`guardrail_context`)."""
from datetime import datetime

from cases.record_parties import record_parties
from cases.record_form import BLANK, review_lines

__all__ = ["FAULT_DOCUMENT", "fault_statement", "fault_statement_text"]

FAULT_DOCUMENT = "fault_statement"
MIN_GAP_S = 2.0
"""The shortest gap the statement names: the recording_continuity guardrail's shipped max_gap_s."""


def fault_statement(store, session_id: int) -> dict:
    """{"needed": whether the recording has a fault, "title", "lines": the draft, "review": its read-back}."""
    session = store.get_session(session_id)
    context = store.guardrail_context(session_id)
    start = context["start_epoch_s"]
    end = context["end_epoch_s"] if context["end_epoch_s"] is not None else start + session["duration_s"]
    gaps = [g for g in context["gaps"] if g["to_s"] - g["from_s"] > MIN_GAP_S or g["to_s"] == g["from_s"]]
    parties = record_parties(store, session)
    heard = sorted({s["role"] for s in store.speakers(session_id) if s.get("role")})
    procedure = context["procedure"]
    lines = [
        f"案件编号：{session['case_no']}",
        f"讯问：第 {session.get('number_in_case') or BLANK} 次，地点 {session.get('room') or BLANK}",
        f"录音录像开始时间：{_when(start)}",
        f"录音录像结束时间：{_when(end)}",
    ]
    if gaps:
        for number, gap in enumerate(gaps, start=1):
            seconds = gap["to_s"] - gap["from_s"]
            span = (f"{_when(start + gap['from_s'])} 至 {_when(start + gap['to_s'])}（约 {seconds:.0f} 秒）"
                    if seconds > 0 else f"{_when(start + gap['from_s'])}")
            lines.append(f"中断 {number}：{span}，原因：{gap['cause']}")
    else:
        lines.append("录音录像连续完整，无中断。")
    officers = "、".join(o.name for o in parties.officers) or BLANK
    lines.append(f"在场办案人员：{officers}")
    others = [f"翻译人员 {procedure['interpreter']}" if procedure.get("interpreter") else None,
              f"法定代理人/合适成年人 {procedure['guardian']}" if procedure.get("guardian") else None]
    lines.append(f"其他在场人员：{'、'.join(o for o in others if o) or '无'}")
    lines.append(f"录音中发言的身份：{'、'.join(heard) or BLANK}")
    review = store.record_review(session_id, document=FAULT_DOCUMENT)
    if review.get("note"):
        lines.append(f"补充说明：{review['note']}")
    lines.append("特此说明。")
    title = f"关于{session['case_no']}第{session.get('number_in_case') or ''}次讯问录音录像中断的相关说明"
    return {"needed": bool(gaps), "title": title, "lines": lines, "review": review}


def fault_statement_text(statement: dict) -> str:
    """The statement as plain text: title, the drafted lines, then who signed (as the 讯问笔录 states it)."""
    lines = [statement["title"], "", *statement["lines"]]
    signed = review_lines(statement["review"])
    if signed:
        lines += ["", *signed]
    else:
        lines += ["", f"办案人员（签名）：{BLANK}", f"记录人（签名）：{BLANK}"]
    return "\n".join(lines) + "\n"


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s).strftime("%Y年%m月%d日 %H时%M分%S秒")
