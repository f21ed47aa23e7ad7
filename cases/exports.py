"""Text exports of a session: JSON, SRT, WebVTT, RTTM and the 讯问笔录 as plain text.

Pure functions of (session, utterances) exactly as `Store.get_session` and `Store.utterances`
return them: no database access here, so the api can export what it already holds.
Cues are one per utterance, in start order; utterances with empty text make no subtitle cue
(there is nothing to show) but still count as speech in RTTM. The 讯问笔录 (text, and DOCX through
`record_turns`) leaves out a line that is not `in_record` (its audio is not speech, or an officer kept it
out: cases/reads.py); every other export keeps every line, with its marks in the JSON.

A withdrawn upload (migration 15) says so in every export that has room for words: the 讯问笔录 (text and DOCX)
opens with 【已撤回】 and when, by whom and why; SRT and WebVTT carry one cue over the whole recording with the
mark (WebVTT's at the top of the picture); the JSON has the session's `withdrawn`. RTTM holds only speaker times.

A signed export (`integrity`, from `Store.export_snapshot`) carries the audit chain head: the JSON under
"integrity", the 讯问笔录 (text and DOCX) as a last line 校验码：… that `bilu verify --code` matches later.
"""

import json
from collections.abc import Callable

from cases.errors import UnknownFormat
from cases.record_form import (
    ANSWERING_ROLES,
    ASKING_ROLES,
    BLANK,
    RECORD_CONFIRMATION,
    RECORD_END,
    RECORD_TITLE,
    WITHDRAWN_BANNER,
    RecordParties,
    closing_lines,
    record_header_lines,
    record_number_line,
    record_turns,
    review_lines,
    withdrawal_lines,
)

__all__ = ["ANSWERING_ROLES", "ASKING_ROLES", "BLANK", "FORMATS", "RECORD_CONFIRMATION", "RECORD_END",
           "RECORD_TITLE", "WITHDRAWN_BANNER", "export", "export_json",
           "export_rttm", "export_srt", "export_txt", "export_vtt",
           "finding_line", "integrity_line", "record_header_lines", "record_number_line", "record_turns"]

FORMATS = ("json", "srt", "vtt", "rttm", "txt")

RTTM_UNKNOWN_SPEAKER = "unknown"
RTTM_MERGE_GAP_S = 0.5
"""Consecutive utterances of one speaker closer than this form one RTTM turn."""


def export(fmt: str, session: dict, utterances: list[dict], *, turns: list[dict] | None = None,
           integrity: dict | None = None, parties: RecordParties | None = None) -> str:
    """The session in format `fmt` (one of FORMATS); raises UnknownFormat otherwise.

    `turns` (the store's speaker_turns) make the RTTM: who spoke when as the diarizer heard it. Without
    them RTTM falls back to the utterances' times. `integrity` (chain_head, session_digest, entries) signs
    the JSON and the 讯问笔录; subtitles and RTTM have no place for it. `parties` (officers, the case's people)
    fill the 讯问笔录's header.
    """
    exporter = _EXPORTERS.get(fmt.lower() if isinstance(fmt, str) else fmt)
    if exporter is None:
        raise UnknownFormat(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if exporter is export_rttm and turns:
        return export_rttm(session, turns)
    if exporter is export_txt:
        return export_txt(session, utterances, integrity=integrity, parties=parties)
    if exporter is export_json:
        return export_json(session, utterances, integrity=integrity)
    return exporter(session, utterances)


def integrity_line(integrity: dict) -> str:
    """The 讯问笔录's last line: the first 16 hex digits of the chain head, and of the session digest."""
    return f"校验码：{integrity['chain_head'][:16]}（会话摘要 {integrity['session_digest'][:16]}）"


def export_json(session: dict, utterances: list[dict], *, integrity: dict | None = None) -> str:
    document = {
        "session": session,
        "utterances": [
            {
                "id": utterance["id"],
                "start_s": utterance["start_s"],
                "end_s": utterance["end_s"],
                "speaker": utterance["speaker"],
                "role": utterance["role"],
                "channel": utterance["channel"],
                "text": utterance["text"],
                "committed": utterance.get("committed", True),
                "suspect": utterance.get("suspect"),
                "not_speech": utterance.get("not_speech", False),
                "speech_probability": utterance.get("speech_probability"),
                "energy_db": utterance.get("energy_db"),
                "suspect_decision": utterance.get("suspect_decision"),
                "in_record": utterance.get("in_record", True),
                "words": [
                    {
                        "start_s": word["start_s"],
                        "end_s": word["end_s"],
                        "text": word["text"],
                        "probability": word["probability"],
                    }
                    for word in utterance["words"]
                ],
            }
            for utterance in _in_start_order(utterances)
        ],
    }
    if integrity is not None:
        document["integrity"] = integrity
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def export_srt(session: dict, utterances: list[dict]) -> str:
    cues: list[str] = []
    if session.get("withdrawn"):
        cues.append(f"1\n{_withdrawn_span(session, utterances, ',')}\n{WITHDRAWN_BANNER}\n")
    for utterance in _in_start_order(utterances):
        text = _one_line(utterance["text"])
        if not text:
            continue
        name = _display_name(utterance)
        times = f"{_clock(utterance['start_s'], ',')} --> {_clock(utterance['end_s'], ',')}"
        cues.append(f"{len(cues) + 1}\n{times}\n{name + '：' if name else ''}{text}\n")
    return "\n".join(cues)


def export_vtt(session: dict, utterances: list[dict]) -> str:
    cues: list[str] = ["WEBVTT\n"]
    if session.get("withdrawn"):  # at the top of the picture, apart from the lines said
        cues.append(f"{_withdrawn_span(session, utterances, '.')} line:0\n{_escape_vtt(WITHDRAWN_BANNER)}\n")
    for utterance in _in_start_order(utterances):
        text = _one_line(utterance["text"])
        if not text:
            continue
        name = _display_name(utterance)
        voice = f"<v {_escape_vtt(name)}>" if name else ""
        times = f"{_clock(utterance['start_s'], '.')} --> {_clock(utterance['end_s'], '.')}"
        cues.append(f"{times}\n{voice}{_escape_vtt(text)}\n")
    return "\n".join(cues)


def export_rttm(session: dict, utterances: list[dict]) -> str:
    """NIST RTTM, one SPEAKER line per turn; speakers by label (roles are not RTTM names).

    Takes utterances or speaker turns alike (both have start_s, end_s, speaker).
    """
    file_id = f"session-{session['id']}"
    turns: list[list] = []  # [speaker, start_s, end_s]
    for utterance in _in_start_order(utterances):
        speaker = _rttm_name(utterance["speaker"])
        start_s, end_s = utterance["start_s"], utterance["end_s"]
        if turns and turns[-1][0] == speaker and start_s - turns[-1][2] < RTTM_MERGE_GAP_S:
            turns[-1][2] = max(turns[-1][2], end_s)
        else:
            turns.append([speaker, start_s, end_s])
    return "".join(
        f"SPEAKER {file_id} 1 {start_s:.3f} {end_s - start_s:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
        for speaker, start_s, end_s in turns
    )


def export_txt(session: dict, utterances: list[dict], *, integrity: dict | None = None,
               parties: RecordParties | None = None) -> str:
    """The 讯问笔录 (cases/record_form.py) as plain text: the DOCX's lines, without its pages."""
    withdrawn = withdrawal_lines(session, parties)  # a withdrawn upload says so before anything else
    lines = [*withdrawn, *([""] if withdrawn else []), RECORD_TITLE, record_number_line(session), "",
             *record_header_lines(session, parties), ""]
    lines += [f"{label}：{text}" for label, text in record_turns(utterances)]
    lines += ["", *closing_lines()]
    if review_lines(session.get("record_review")):
        lines += ["", *review_lines(session.get("record_review"))]
    findings = session.get("findings")
    if findings:
        lines += ["", f"程序性告知检查（{session.get('rule_set') or ''}）"]
        lines += [finding_line(finding) for finding in findings]
    if integrity is not None:
        lines += ["", integrity_line(integrity)]
    return "\n".join(lines) + "\n"


FINDING_STATUS_NAMES = {
    "satisfied": "已告知",
    "missing": "未发现",
    "out_of_order": "顺序不当",
    "wrong_speaker": "非办案人员所述",
}


def finding_line(finding: dict) -> str:
    status = FINDING_STATUS_NAMES.get(finding.get("status"), finding.get("status"))
    at = finding.get("start_s")
    when = f"（{_clock(at, '.')[:8]}）" if isinstance(at, (int, float)) else ""
    return f"- {finding.get('title') or finding.get('key')}：{status}{when}"


def _withdrawn_span(session: dict, utterances: list[dict], millisecond_separator: str) -> str:
    """From the start to the end of the recording (or of its last line, if that is later): the mark stays shown."""
    end_s = max([session.get("duration_s") or 0.0, *(u["end_s"] for u in utterances)]) or 1.0
    return f"{_clock(0.0, millisecond_separator)} --> {_clock(end_s, millisecond_separator)}"


def _in_start_order(utterances: list[dict]) -> list[dict]:
    return sorted(utterances, key=lambda utterance: (utterance["start_s"], utterance["end_s"]))


def _display_name(utterance: dict) -> str:
    return utterance.get("role") or utterance.get("speaker") or ""


def _one_line(text: str) -> str:
    # A line break inside a cue's text would end the cue early (a blank line) or read as a new field.
    return " ".join(text.split())


def _clock(seconds: float, millisecond_separator: str) -> str:
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole_seconds, milliseconds = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole_seconds:02d}{millisecond_separator}{milliseconds:03d}"


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rttm_name(speaker: str | None) -> str:
    # RTTM fields are separated by whitespace, so a name must not hold any.
    return "_".join(speaker.split()) if speaker and speaker.strip() else RTTM_UNKNOWN_SPEAKER


_EXPORTERS: dict[str, Callable[[dict, list[dict]], str]] = {
    "json": export_json,
    "srt": export_srt,
    "vtt": export_vtt,
    "rttm": export_rttm,
    "txt": export_txt,
}
