"""The 讯问笔录 as a form (../shared/DOMAIN.md, "The written record"): what its lines say, for the text and DOCX exports.

Header from the case and the session: time from/to, place, which interrogation (第 N 次), the 讯问人 with their
units, the 记录人, the person questioned (name, sex, birth date, identity number, address where known), an
interpreter or a legal representative; then the exchange as 问：/答： turns, consecutive lines of one side merged;
then the closing statement and the signature lines. A field is left as ________ (to be written in by hand) only
when the store does not know it.

Pure functions of (session, utterances, parties): `RecordParties` is what `record_parties.record_parties` reads
from the store (the session's officers, the case's people), so nothing here touches the database.
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from transcribe.punctuation import officer_questions

__all__ = ["ANSWERING_ROLES", "ASKING_ROLES", "BLANK", "RECORD_CONFIRMATION", "RECORD_END", "RECORD_TITLE",
           "WITHDRAWN_BANNER", "WITHDRAWN_MARK", "Officer", "RecordParties", "closing_lines", "record_header_lines",
           "record_number_line", "record_turns", "withdrawal_lines"]

RECORD_TITLE = "讯问笔录"
RECORD_CONFIRMATION = "以上笔录我看过（或向我宣读过），和我说的相符"
RECORD_END = "以下空白"
BLANK = "________"
"""A field the store does not know (an address, a recorder not named), left to write in by hand."""
SIGNATURE_DATE = "年    月    日"
SUSPECT_SIGNATURE = f"被讯问人（签名、捺指印）：{BLANK}    {SIGNATURE_DATE}"
"""Also on every page's footer of the DOCX: the person questioned signs every page."""
WITHDRAWN_MARK = "已撤回"
WITHDRAWN_BANNER = f"【{WITHDRAWN_MARK}】误传的录音，仅供备查，不作为讯问笔录使用"
"""Printed on a withdrawn upload's record (migration 15): first in the text, atop every page of the DOCX."""

ASKING_ROLES = ("讯问人", "记录人")
"""Their turns are written 问： in the record."""
ANSWERING_ROLES = ("被讯问人", "犯罪嫌疑人", "违法嫌疑人")
"""Their turns are written 答： in the record."""
QUESTIONED_PERSON_ROLES = ("犯罪嫌疑人", "违法嫌疑人")
"""The people of a case who are the person questioned (被讯问人) in its interrogations."""
PRESENT_PERSON_ROLES = {"翻译人员": "翻译", "法定代理人": "法定代理人", "合适成年人": "合适成年人"}
"""People of the case who take part in the questioning, and the header label each gets."""
UNKNOWN_SPEAKER = "未识别说话人"
"""Shown for an utterance that diarization gave no speaker."""

_PUNCTUATION_ENDINGS = tuple("。，、；：？！…—）》」』”’.,;:?!)")
_RESIDENT_ID = re.compile(r"\d{17}[\dXx]")


@dataclass(frozen=True, slots=True)
class Officer:
    """An officer who took part: the name to print (the account's display name) and their unit."""

    name: str
    unit: str | None
    recorder: bool = False
    """The account's role is `recorder`: the one who writes (记录人); the others question (讯问人)."""


@dataclass(frozen=True, slots=True)
class RecordParties:
    """Who was in the room, as the store knows it: the session's officers and the case's people."""

    officers: tuple[Officer, ...] = ()
    people: tuple[dict, ...] = ()
    """The case's people as `Store.people` returns them (role, name, id_number, ...)."""
    withdrawn_by: str | None = None
    """The display name of who withdrew the upload, if it was withdrawn (else its login name is printed)."""

    @property
    def questioners(self) -> tuple[Officer, ...]:
        return tuple(o for o in self.officers if not o.recorder)

    @property
    def recorders(self) -> tuple[Officer, ...]:
        return tuple(o for o in self.officers if o.recorder)

    @property
    def questioned(self) -> dict | None:
        """The case's one suspect; None when there is none, or several (which one sat here is not recorded)."""
        suspects = [p for p in self.people if p.get("role") in QUESTIONED_PERSON_ROLES]
        return suspects[0] if len(suspects) == 1 else None


def record_number_line(session: dict) -> str:
    """（第 N 次）: which interrogation of the case this is."""
    number = session.get("number_in_case")
    return f"（第 {number if number else BLANK} 次）"


def record_header_lines(session: dict, parties: RecordParties | None = None) -> list[str]:
    """The header fields (time, place, officers, the person questioned, others present, case), one per line."""
    parties = parties or RecordParties()
    start, end = _session_span(session)
    lines = [
        f"时间：{_chinese_minute(start)}至{_chinese_minute(end)}",
        f"地点：{session.get('room') or BLANK}",
        f"讯问人：{_names(parties.questioners)}    工作单位：{_units(parties.questioners)}",
        f"记录人：{_names(parties.recorders)}    工作单位：{_units(parties.recorders)}",
        *_questioned_lines(parties.questioned),
    ]
    present: dict[str, list[str]] = {}
    for person in parties.people:
        label = PRESENT_PERSON_ROLES.get(person.get("role"))
        if label:
            present.setdefault(label, []).append(person["name"])
    standard_roles = set(ASKING_ROLES) | set(ANSWERING_ROLES)
    speaking_roles = {speaker["role"] for speaker in session.get("speakers") or [] if speaker.get("role")}
    for label in sorted((speaking_roles - standard_roles) | set(present)):
        lines.append(f"{label}：{'、'.join(present.get(label, ())) or BLANK}")
    lines.append(f"案件编号：{session.get('case_no') or BLANK}")
    if session.get("case_title"):
        lines.append(f"案件名称：{session['case_title']}")
    return lines


def withdrawal_lines(session: dict, parties: RecordParties | None = None) -> list[str]:
    """A withdrawn upload's mark, and when, by whom and why it was withdrawn; empty for any other session.

    The record of a withdrawn upload is kept for review, so it can still be exported and printed, but never as
    if it were a valid 讯问笔录: whatever prints it puts these lines first (the DOCX also atop every page)."""
    withdrawn = session.get("withdrawn")
    if not withdrawn:
        return []
    at = datetime.fromisoformat(withdrawn["at"]) if withdrawn.get("at") else None
    by = (parties.withdrawn_by if parties and parties.withdrawn_by else None) or withdrawn.get("by") or BLANK
    return [WITHDRAWN_BANNER,
            f"撤回时间：{_chinese_minute(at)}    撤回人：{by}    撤回原因：{withdrawn.get('reason') or BLANK}"]


def closing_lines() -> list[str]:
    """After the exchange: the confirmation the person questioned writes, the signatures, 以下空白."""
    return [
        RECORD_CONFIRMATION,
        SUSPECT_SIGNATURE,
        f"讯问人（签名）：{BLANK}    {BLANK}    {SIGNATURE_DATE}",
        f"记录人（签名）：{BLANK}    {SIGNATURE_DATE}",
        RECORD_END,
    ]


def review_lines(review: dict | None) -> list[str]:
    """The read-back as the record states it (issue 20): who signed, how, when (and the sha256 of what they signed
    with), a refusal with its reason and witnesses, and every amendment made after signing with whether the person
    questioned confirmed it. Empty before the read-back starts."""
    if not review or not review.get("state"):
        return []
    lines = [f"笔录核对：{review['state_zh']}" + (f"（{review['closed_at'][:16].replace('T', ' ')}）"
                                                    if review.get("closed_at") else "")]
    if review["state"] == "refused":
        lines.append(f"拒绝签名原因：{review.get('reason') or BLANK}")
        lines.append(f"见证人：{'、'.join(review.get('witnesses') or []) or BLANK}")
    for signature in review.get("signatures", []):
        how = "手写签名" if signature["kind"] == "strokes" else "签名扫描件"
        what = "（确认补正）" if signature.get("amendment_id") else ""
        when = (signature.get("created_at") or "")[:16].replace("T", " ")
        lines.append(f"{signature['signer_role']}（签名）：{signature['signer_name']}{what}  {how} {when}  "
                     f"sha256 {signature['image_sha256'][:16]}")
    for number, amendment in enumerate(review.get("amendments", []), start=1):
        before = (amendment.get("before") or {}).get("text")
        after = (amendment.get("after") or {}).get("text")
        change = f"“{before}”改为“{after}”" if before is not None and after is not None else amendment["kind"]
        confirmed = "已由被讯问人签名确认" if amendment.get("confirmed_signature_id") else "待被讯问人确认"
        lines.append(f"签名后补正 {number}：{change}（{confirmed}）")
    return lines


def record_turns(utterances: list[dict]) -> list[tuple[str, str]]:
    """(问/答/role/label, text) per turn, in start order.

    Consecutive lines of one side make one turn: 问 for any officer (讯问人 and 记录人 alike), 答 for the person
    questioned, and for any other speaker their own consecutive lines. Joined as written: nothing after the
    transcript's own punctuation, a comma between two Chinese stretches the recognizer cut at a pause, a space
    only beside Latin letters or digits. The recognizer stores its punctuation with the words
    (transcribe.punctuation); an officer's sentence that asks but ends in 。 is printed with ？.
    """
    turns: list[tuple[str, str]] = []  # (who: 问/答 or the speaker's key, text)
    labels: list[str] = []
    for utterance in sorted(utterances, key=lambda u: (u["start_s"], u["end_s"])):
        text = " ".join(utterance["text"].split())
        # A line whose audio is not speech (or that an officer kept out) is stored, not written (reads.in_record).
        if not text or not utterance.get("in_record", True):
            continue
        label = _record_label(utterance)
        if label == "问":  # roles are known only now: an officer's 。 after a question form becomes ？
            text = officer_questions(text)
        who = label if label in ("问", "答") else f"{label}\x00{utterance.get('speaker')}"
        if turns and turns[-1][0] == who and utterance.get("speaker") is not None:
            turns[-1] = (who, _join(turns[-1][1], text))
        else:
            turns.append((who, text))
            labels.append(label)
    return [(label, text) for label, (_, text) in zip(labels, turns)]


def identity_details(id_number: str | None) -> tuple[str | None, date | None]:
    """(sex, birth date) read from an 18-digit resident identity number; (None, None) for any other document.

    Digits 7-14 are the birth date and the 17th is odd for a man, even for a woman (GB 11643).
    """
    if not id_number or not _RESIDENT_ID.fullmatch(id_number):
        return None, None
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None, None
    return ("男" if int(id_number[16]) % 2 else "女"), born


def _questioned_lines(person: dict | None) -> list[str]:
    if person is None:
        return [f"被讯问人：{BLANK}    性别：{BLANK}    出生日期：{BLANK}",
                f"身份证件种类及号码：{BLANK}",
                f"现住址：{BLANK}"]
    id_number = person.get("id_number")
    sex, born = identity_details(id_number)
    sex = person.get("sex") or sex
    birth = person.get("birth_date") or (f"{born.year}年{born.month}月{born.day}日" if born else None)
    if id_number and _RESIDENT_ID.fullmatch(id_number):
        document = f"居民身份证 {id_number}"
    else:
        document = id_number
    return [f"被讯问人：{person['name']}    性别：{sex or BLANK}    出生日期：{birth or BLANK}",
            f"身份证件种类及号码：{document or BLANK}",
            f"现住址：{person.get('address') or BLANK}"]


def _names(officers: tuple[Officer, ...]) -> str:
    return "、".join(o.name for o in officers) or BLANK


def _units(officers: tuple[Officer, ...]) -> str:
    units = list(dict.fromkeys(o.unit for o in officers if o.unit))
    return "、".join(units) or BLANK


def _join(before: str, after: str) -> str:
    if before.endswith(_PUNCTUATION_ENDINGS):
        return before + after
    if _is_han(before[-1]) and _is_han(after[0]):
        return before + "，" + after
    return before + " " + after


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _record_label(utterance: dict) -> str:
    role = utterance.get("role")
    if role in ASKING_ROLES:
        return "问"
    if role in ANSWERING_ROLES:
        return "答"
    return role or utterance.get("speaker") or UNKNOWN_SPEAKER


def _session_span(session: dict) -> tuple[datetime | None, datetime | None]:
    created_at = session.get("created_at")
    if not created_at:
        return None, None
    start = datetime.fromisoformat(created_at)
    return start, start + timedelta(seconds=session.get("duration_s") or 0.0)


def _chinese_minute(moment: datetime | None) -> str:
    if moment is None:
        return f"{BLANK}年{BLANK}月{BLANK}日{BLANK}时{BLANK}分"
    return f"{moment.year}年{moment.month}月{moment.day}日{moment.hour}时{moment.minute:02d}分"
