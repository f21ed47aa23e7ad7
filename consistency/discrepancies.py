"""Where the written record and the recording differ, from an alignment: four kinds, each with a severity.

- written_not_said: a block the recording does not contain. A procedural block (rights notice, recusal, counsel,
  record review) or an answer attributed to the suspect is high; a question the recorder may have rephrased is
  flagged only when nothing like it was said, and low. Consecutive unsaid blocks are one discrepancy.
- said_not_written: what the suspect (or the interpreter, a representative) said that no nearby block contains.
  Denials, retractions, complaints of ill-treatment, asking for a lawyer or to stop, refusing to sign: high;
  another substantive answer: medium. The officers' own words are condensed by every recorder, so they are
  not flagged here (a notice only written is the written_not_said case).
- changed: a block matched to its utterances whose numbers (amounts, dates, times, ages), polarity (said 没有,
  written 有) or a name or place differ. An answer the recorder replaced wholesale (the slot after its question
  holds an answer no block took) is changed too.
- header_time: the header's start or end against the recording's clock, beyond a tolerance.
"""
import difflib
import re
from dataclasses import dataclass
from datetime import datetime

from consistency.align import AlignOptions, Alignment, Content, Spoken, content_score
from consistency.dates import implied_date_numbers, years_said
from consistency.names import substitutions
from consistency.patterns import (ATTESTATION, INTERPRETER_ROLES, OFFICER_ROLES, notice_elements, spoken_topic,
                                  written_topic)
from consistency.polarity import negation_differs, polarity_flipped
from consistency.text import NUMERAL_CHARS, normalize, numbers_in, syllables
from transcribe.simplified import to_simplified

__all__ = ["Discrepancy", "DetectOptions", "find_discrepancies", "KINDS", "SEVERITIES"]

KINDS = ("written_not_said", "said_not_written", "changed", "header_time")
SEVERITIES = ("high", "medium", "low")
_ACKNOWLEDGEMENTS = re.compile(r"^(我?(知道|明白|清楚|听清楚|看到|看过|看完|看了|看懂)了?|好的?|嗯|是的?|对|行|可以|没问题|没有问题"
                               r"|没错|没有|一致|属实|相符|不申请(回避)?|不需要|不用|不要|不提|签好了|对的)+$")
_DATE_UNIT = re.compile(r"^\d+(年|月|日)")
_TIME_UNIT = re.compile(r"^\d+(时|分)")
_AMOUNT_UNIT = re.compile(r"^\d+(多)?(块|元|万|千|百|钱)")


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: str
    what: str
    severity: str
    written: str
    spoken: str
    start_s: float | None
    end_s: float | None
    blocks: tuple[int, ...] = ()
    utterance_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class DetectOptions:
    header_tolerance_min: float = 5.0  # the header's minutes against the recording's clock
    header_high_min: float = 30.0  # a difference beyond this is high severity
    question_unsaid_score: float = 0.2  # a plain question is flagged as unsaid only below this
    answer_left_out_cover: float = 0.3  # an answer is left out when no more than this of it is written nearby
    topic_left_out_cover: float = 0.6  # a denial, complaint… is left out when its words are not written nearby
    neighbourhood: int = 2  # utterances either side whose blocks count as "nearby"


def _is_officer(role: str | None) -> bool:
    return role in OFFICER_ROLES


_DIGITS = "零一二三四五六七八九"


def _positional(number: str) -> str | None:
    """300 → 三百, 23 → 二十三, 10 → 十; None for what is read digit by digit (long numbers, leading 0)."""
    if len(number) > 4 or (number.startswith("0") and len(number) > 1):
        return None
    out, units = "", ["", "十", "百", "千"]
    for position, digit in enumerate(number):
        unit = units[len(number) - position - 1]
        if digit == "0":
            if not out.endswith("零") and number[position + 1:].strip("0"):
                out += "零"
            continue
        out += ("" if digit == "1" and unit == "十" and position == 0 else _DIGITS[int(digit)]) + unit
    return out or "零"


def _readings(number: str) -> set[str]:
    """How a number may be said: 300 → 三百, 23 → 二十三 or 二三 (两三), 1989 → 一九八九; with 两 for 二."""
    readings = {"".join(_DIGITS[int(d)] for d in number)}
    if _positional(number):
        readings.add(_positional(number))
    return readings | {r.replace("二", "两") for r in readings}


def _number_said(number: str, spoken_text: str, after: str = "") -> bool:
    """Whether speech holds `number`, as digits or read out (homophones count). A one-character reading (二, 两)
    must come with the written character after it (两个), or 儿子's 儿 would pass for 二."""
    spoken_numbers = numbers_in(normalize(spoken_text))
    if number in spoken_numbers or (len(number) >= 6 and any(number in s for s in spoken_numbers)):
        return True
    plain = re.sub(r"[\W_]+", "", to_simplified(spoken_text))
    sounds = syllables(plain)
    for reading in _readings(number):
        if len(reading) == 1:
            if not after:
                continue
            reading += after
        wanted = syllables(reading)
        for at in range(len(sounds) - len(wanted) + 1):
            if sounds[at:at + len(wanted)] == wanted and _whole_number_at(plain, at, at + len(wanted)):
                return True
    return False


_NUMBER_CHARS = set(NUMERAL_CHARS) | set("0123456789")


def _whole_number_at(plain: str, a: int, b: int) -> bool:
    """Whether characters a..b of `plain` are a whole number, not part of a longer one: 八百 in 一千八百 is 1800,
    not 800. A homophone beside it (是八百) does not count as a numeral."""
    return (a == 0 or plain[a - 1] not in _NUMBER_CHARS) and (b >= len(plain) or plain[b] not in _NUMBER_CHARS)


def _spoken_at(written_norm: str, spoken_norm: str, a: int, b: int) -> tuple[set[int], list[tuple]]:
    """The positions of the spoken text that written characters a..b line up with, and the opcodes used."""
    matcher = difflib.SequenceMatcher(a=syllables(written_norm), b=syllables(spoken_norm), autojunk=False)
    positions: set[int] = set()
    touched = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if i2 <= a or i1 >= b:
            if not (tag == "insert" and a <= i1 <= b):
                continue
        touched.append((tag, i1, i2, j1, j2))
        if tag == "equal":
            positions.update(j1 + i - i1 for i in range(max(a, i1), min(b, i2)))
        elif tag in ("replace", "insert"):
            positions.update(range(j1, j2))
    return positions, touched


def _number_changed(number: str, written_norm: str, spoken_text: str, context_text: str) -> bool:
    """A written number is changed when it is not said nearby (as digits or read out) and speech holds another
    number at its place; a number the recognizer dropped (nothing at its place) is not a change."""
    start = written_norm.find(number)
    after = written_norm[start + len(number):start + len(number) + 1]
    if any(_number_said(said, context_text, "" if after.isdigit() else after)
           for said in _hour_readings(number, after)):
        return False
    spoken_norm = normalize(spoken_text)
    positions, _ = _spoken_at(written_norm, spoken_norm, start, start + len(number))
    for position in sorted(positions):
        if position < len(spoken_norm) and spoken_norm[position].isdigit():
            run = re.match(r"\d+", spoken_norm[position:]).group()
            heard = _said_as(run) + _units_after(spoken_norm, position + len(run))
            if heard in _readings(number):
                continue  # 五市 for 五十: a homophone of the unit
            # 五万 heard as 五: the recognizer dropped the unit (五百 heard as 五十 is a change)
            if len(run) < len(number) and _said_as(number).startswith(heard):
                continue
            return True
    return False


def _hour_readings(number: str, after: str) -> list[str]:
    """An hour is said on a 12-hour clock and written on a 24-hour one: 22时 said 十点 (晚上), 0时 said 十二点."""
    if after != "时" or not number.isdigit() or int(number) > 24:
        return [number]
    hour = int(number)
    return [number, str((hour + 12) % 24 or 12) if hour < 12 else str(hour - 12 or 12)]


_UNIT_SOUNDS = {"shi": "十", "bai": "百", "qian": "千", "wan": "万"}


def _units_after(spoken_norm: str, at: int) -> str:
    """Characters after a spoken number that sound like a numeral unit (市 for 十, 摆 for 百), as units."""
    units = ""
    for syllable in syllables(spoken_norm[at:at + 3]):
        if syllable not in _UNIT_SOUNDS:
            break
        units += _UNIT_SOUNDS[syllable]
    return units


def _said_as(number: str) -> str:
    """The usual reading: 500 → 五百, 50000 → 五万; long numbers (IDs) digit by digit."""
    if 4 < len(number) <= 8 and number.endswith("0000"):
        return _said_as(number[:-4]) + "万"
    return _positional(number) or "".join(_DIGITS[int(d)] for d in number)


def _number_kind(normalized: str, number: str) -> str:
    at = normalized.find(number)
    after = normalized[at:]
    if _DATE_UNIT.match(after):
        return "date"
    if _TIME_UNIT.match(after):
        return "time"
    before = normalized[max(0, at - 3):at]
    if _AMOUNT_UNIT.match(after) or "多少" in before:
        return "amount"
    return "number"


def find_discrepancies(blocks: list, alignments: list[Alignment], utterances: list[Spoken], *,
                       header_started_at: datetime | None = None, header_ended_at: datetime | None = None,
                       header_text: str = "", recording_started_at: datetime | None = None,
                       recording_ended_at: datetime | None = None, options: DetectOptions = DetectOptions(),
                       align_options: AlignOptions = AlignOptions()) -> list[Discrepancy]:
    """Every discrepancy, in time order (header ones first). `blocks` are consistency.record.Block values."""
    position = {u.id: n for n, u in enumerate(utterances)}
    used: set[int] = {uid for a in alignments for uid in a.utterance_ids}
    found: list[Discrepancy] = []
    found += _header(header_started_at, header_ended_at, header_text, recording_started_at, recording_ended_at,
                     utterances, options)
    slot_taken: set[int] = set()
    alignments = list(alignments)
    found += _unsaid_and_replaced(blocks, alignments, utterances, position, used, slot_taken, options, align_options)
    interview = header_started_at or recording_started_at
    changed = _changed(blocks, alignments, utterances, position, interview.date() if interview else None)
    found += changed
    found += _procedural_clauses(blocks, alignments, utterances, position, align_options)
    # an answer shown as changed is not also "left out"
    slot_taken.update(uid for d in found if d.kind == "changed" for uid in d.utterance_ids)
    found += _left_out(blocks, alignments, utterances, position, slot_taken, options, align_options)
    return sorted(found, key=lambda d: (d.kind != "header_time", d.start_s if d.start_s is not None else -1))


def _header(started, ended, header_text, rec_started, rec_ended, utterances, options) -> list[Discrepancy]:
    out = []
    duration_s = max((u.end_s for u in utterances), default=0.0)
    for what, written, recorded, at_s in (("start", started, rec_started, 0.0), ("end", ended, rec_ended, duration_s)):
        if written is None or recorded is None:
            continue
        minutes = abs((written - recorded).total_seconds()) / 60
        if minutes > options.header_tolerance_min:
            out.append(Discrepancy("header_time", what, "high" if minutes > options.header_high_min else "medium",
                                   header_text, f"录音录像{'开始' if what == 'start' else '结束'}于 "
                                   f"{recorded:%Y-%m-%d %H:%M}", at_s, at_s))
    return out


def _gap(k: int, alignments: list[Alignment], utterances: list[Spoken]) -> tuple[float | None, float | None]:
    before = [a.end_s for a in alignments[:k] if a.end_s is not None]
    after = [a.start_s for a in alignments[k + 1:] if a.start_s is not None]
    start = before[-1] if before else (utterances[0].start_s if utterances else None)
    end = after[0] if after else (utterances[-1].end_s if utterances else None)
    return start, end


def _unsaid_and_replaced(blocks, alignments, utterances, position, used, slot_taken, options, align_options):
    out: list[Discrepancy] = []
    pending: list[tuple[int, str, str]] = []  # (block, what, severity) of a run of unsaid blocks

    def flush():
        if not pending:
            return
        first, last = pending[0][0], pending[-1][0]
        start_s, end_s = _gap(first, alignments, utterances)
        severity = min((p[2] for p in pending), key=SEVERITIES.index)
        what = next((p[1] for p in pending if p[1] not in ("answer", "question")), pending[0][1])
        out.append(Discrepancy("written_not_said", what, severity,
                               "\n".join(f"{blocks[b].speaker}：{blocks[b].text}" for b, _, _ in pending), "",
                               start_s, end_s, tuple(b for b, _, _ in pending)))
        pending.clear()

    review_said = any(_is_officer(u.role) and written_topic(normalize(u.text)) == "record_review" for u in utterances)
    for k, (block, alignment) in enumerate(zip(blocks, alignments)):
        if alignment.utterance_ids:
            flush()
            continue
        normalized = normalize(block.text)
        topic = written_topic(normalized)
        if block.speaker == "答" and ATTESTATION.match(normalized) and review_said:
            flush()
            continue  # the closing attestation, written by the person's own hand after a review that was said
        if block.speaker == "问":
            asked = _asked_in_other_words(k, topic, alignments, utterances, position, used)
            if asked:
                flush()
                used.update(u.id for u in asked)
                alignments[k] = Alignment(k, tuple(u.id for u in asked), asked[0].start_s, asked[-1].end_s,
                                          alignment.similarity, True)
                continue
        if block.speaker == "答":
            slot = _answer_slot(k, blocks, alignments, utterances, position, used)
            if slot and not topic:
                flush()
                spoken = "".join(u.text for u in slot)
                slot_taken.update(u.id for u in slot)
                flipped = negation_differs(block.text, spoken)
                if not flipped and (content_score(Content(block.text), Content(spoken), align_options) >= 0.2
                                    or _syllables_heard(block.text, spoken) >= 0.5):
                    # the answer, garbled past the first look: said; its numbers and names are checked as any
                    alignments[k] = Alignment(k, tuple(u.id for u in slot), slot[0].start_s, slot[-1].end_s,
                                              alignment.similarity, True)
                    continue
                if not flipped and len(normalize(spoken)) < 2:
                    continue  # one character heard: too little to say the answer was changed
                reply = _relayed_reply(slot) or normalize(spoken)
                if not flipped and _ACKNOWLEDGEMENTS.match(normalized) and _ACKNOWLEDGEMENTS.match(reply):
                    continue  # 不申请 written for 没有, 明白 for 知道了: the same short answer in other words
                what = "polarity" if flipped else "answer"
                out.append(Discrepancy("changed", what, "high", block.text, spoken, slot[0].start_s, slot[-1].end_s,
                                       (k,), tuple(u.id for u in slot)))
                continue
            previous_said = k > 0 and bool(alignments[k - 1].utterance_ids)
            if _ACKNOWLEDGEMENTS.match(normalized) and previous_said and not topic:
                continue  # 答：知道了 after a question that was asked: the 嗯 it stands for was not recognised
            pending.append((k, topic or "answer", "high"))
        elif topic:
            pending.append((k, topic, "high"))
        elif alignment.similarity < options.question_unsaid_score and len(normalized) >= 6:
            pending.append((k, "question", "low"))
        else:
            flush()
    flush()
    return out


_ANSWER_TOPICS = ("denial", "retraction")


def _asked_in_other_words(k, topic, alignments, utterances, position, used) -> list[Spoken]:
    """The officer's utterance a 问 stands for when the recorder rephrased it past recognition (你的姓名、出生年份 for
    你叫什么名字，哪一年出生的): the first officer utterances no block took, right after the last matched block
    and before the next, followed by someone else's answer. A notice (topic) counts only when what was said there
    is the same notice (笔录你看一下…签字 for 请核对笔录…签名): a notice never said must still be found."""
    before = [position[a.utterance_ids[-1]] for a in alignments[:k] if a.utterance_ids]
    after = [position[a.utterance_ids[0]] for a in alignments[k + 1:] if a.utterance_ids]
    start, end = (before[-1] + 1 if before else 0), (after[0] if after else len(utterances))
    asked: list[Spoken] = []
    for u in utterances[start:end]:
        if u.id in used or not _is_officer(u.role):
            if asked or u.id in used or start >= end - 1:
                break
            start += 1  # what the suspect said after the last answer (checked on its own): the question follows
            continue
        asked.append(u)
    answer_at = start + len(asked)
    if not asked or len(asked) > 2 or answer_at >= len(utterances) or _is_officer(utterances[answer_at].role):
        return []  # nothing asked here, or no answer after it
    if topic is not None and written_topic(normalize("".join(u.text for u in asked))) != topic:
        return []
    return asked


def _syllables_heard(written: str, spoken: str) -> float:
    """The share of the written answer's syllables heard in the slot, in any order: 属实 heard as 他说属 (the
    recognizer dropped a character) is the same short answer, not another one."""
    ws, ss = syllables(normalize(written)), set(syllables(normalize(spoken)))
    return sum(s in ss for s in ws) / len(ws) if ws else 0.0


def _answer_slot(k, blocks, alignments, utterances, position, used) -> list[Spoken]:
    """The utterances between the question before block k (if it was matched) and the next matched block that
    no block took and an officer did not say: where block k's answer was spoken."""
    if k == 0 or not alignments[k - 1].utterance_ids or blocks[k - 1].speaker != "问":
        return []
    start = position[alignments[k - 1].utterance_ids[-1]] + 1
    later = [position[a.utterance_ids[0]] for a in alignments[k + 1:] if a.utterance_ids]
    end = later[0] if later else min(len(utterances), start + 2)
    slot = [u for u in utterances[start:end] if u.id not in used and not _is_officer(u.role) and u.role is not None
            and (spoken_topic(normalize(u.text)) or ("denial",))[0] in _ANSWER_TOPICS]
    # a complaint, a request for a lawyer or to stop, a refusal to sign is not the answer: checked on its own
    return slot[:2]


def _changed(blocks, alignments, utterances, position, interview) -> list[Discrepancy]:
    out = []
    for k, (block, alignment) in enumerate(zip(blocks, alignments)):
        if not alignment.utterance_ids:
            continue
        first, last = position[alignment.utterance_ids[0]], position[alignment.utterance_ids[-1]]
        span = utterances[first:last + 1]
        context = utterances[max(0, first - 1):last + 2]
        spoken = "".join(u.text for u in span)
        context_text = "".join(u.text for u in context)
        normalized = normalize(block.text)
        reasons = []
        implied = implied_date_numbers(normalize(context_text), interview)
        for number in dict.fromkeys(numbers_in(normalized)):
            if number in implied and _number_kind(normalized, number) == "date":
                continue  # the year left out, 昨天 for the date: what the record writes is what the words imply
            if re.search(rf"(?<!\d){number}年", normalized) and len(number) == 4 and (
                    said := years_said(normalize(context_text), interview)) and number not in said:
                reasons.append("date")  # 2024年 written, 大前年 (2023) said
                continue
            if number != "1" and _number_changed(number, normalized, spoken, context_text):
                reasons.append(_number_kind(normalized, number))
        if block.speaker == "答" and polarity_flipped(block.text, spoken):
            reasons.append("polarity")
        if block.speaker == "答":  # questions are rephrased by every recorder; answers keep the words
            reasons += ["name_or_place" for _ in substitutions(block.text, spoken)]
        if reasons:
            what = "polarity" if "polarity" in reasons else reasons[0]
            out.append(Discrepancy("changed", what, "high" if what == "polarity" else "medium", block.text, spoken,
                                   span[0].start_s, span[-1].end_s, (k,), alignment.utterance_ids))
    return out


_CLAUSE = re.compile(r"[^。；;？?！!]+[。；;？?！!]?")


def _procedural_clauses(blocks, alignments, utterances, position, align_options) -> list[Discrepancy]:
    """A recorder merges several notices into one 问: each notice clause must be in the utterances the block
    stands for (or next to them), or that notice was written but not said."""
    out = []
    for k, (block, alignment) in enumerate(zip(blocks, alignments)):
        if block.speaker != "问" or not alignment.utterance_ids:
            continue
        clauses = [c for c in _CLAUSE.findall(block.text) if c.strip()]
        if len(clauses) < 2:
            continue  # a block of one clause is matched or not as a whole
        # where the block may stand for speech: from the matched block before it to the matched block after it
        before = [a for a in alignments[:k] if a.utterance_ids]
        after = [a for a in alignments[k + 1:] if a.utterance_ids]
        first = position[(before[-1] if before else alignment).utterance_ids[0]]
        last = position[(after[0] if after else alignment).utterance_ids[-1]]
        # the recorder also moves a notice past the answer that followed it: a few utterances more either side
        near = Content("".join(u.text for u in utterances[max(0, first - 2):last + 4]))
        for clause in clauses:
            topic = written_topic(normalize(clause))
            if topic is None or topic == "record_review":
                continue
            elements = notice_elements(normalize(clause))
            if elements and elements <= notice_elements(near.normalized):
                continue  # each thing the notice tells was said, in the officer's words
            if content_score(Content(clause), near, align_options) < align_options.min_score:
                out.append(Discrepancy("written_not_said", topic, "high", clause, "", alignment.start_s,
                                       alignment.end_s, (k,), ()))
    return out


def _left_out(blocks, alignments, utterances, position, slot_taken, options, align_options) -> list[Discrepancy]:
    out = []
    spans = [(position[a.utterance_ids[0]], position[a.utterance_ids[-1]], k)
             for k, a in enumerate(alignments) if a.utterance_ids]
    interpreted = any(u.role in INTERPRETER_ROLES for u in utterances)
    for n, utterance in enumerate(utterances):
        if _is_officer(utterance.role) or utterance.id in slot_taken:
            continue
        normalized = normalize(utterance.text)
        if not normalized or not _HAN.search(utterance.text):
            continue  # no Han character: words in another language, which the record holds as the interpreter's
        if interpreted and _rendered_by_interpreter(n, utterances):
            continue
        nearby = {k for first, last, k in spans
                  if first <= n + options.neighbourhood and last >= n - options.neighbourhood}
        before = [k for first, last, k in spans if last < n]
        after = [k for first, last, k in spans if first > n]
        nearby.update(before[-1:] + after[:1])
        written = Content("".join(blocks[k].text for k in sorted(nearby)))
        cover = content_score(Content(utterance.text), written, align_options) if nearby else 0.0
        topic = spoken_topic(normalized)
        if topic:
            said = {topic[1]}
            if utterance.role in INTERPRETER_ROLES or _RELAY.match(normalized):
                said.add(re.sub("[他她]", "我", topic[1]))  # 他说…他没有证件: the relay's 他 is the suspect's 我
            words = [" " + " ".join(syllables(w)) + " " for w in said]
            if not any(w in written.pinyin_text for w in words) and cover < options.topic_left_out_cover:
                out.append(Discrepancy("said_not_written", topic[0], "high", "", utterance.text, utterance.start_s,
                                       utterance.end_s, (), (utterance.id,)))
            continue
        if utterance.role is None or len(normalized) < 6:
            continue
        if interpreted and utterance.role in INTERPRETER_ROLES and not _RELAY.match(normalized) and n > 0 and (
                _is_officer(utterances[n - 1].role) or utterances[n - 1].role in INTERPRETER_ROLES) and cover < 0.3:
            continue  # the interpreter putting the officer's words into the suspect's language (heard or garbled)
        if any(blocks[k].speaker == "答" and utterance.id in alignments[k].utterance_ids
               and alignments[k].similarity >= align_options.min_score for k in nearby):
            continue  # the answer a block was matched to is written, in the record's words (大前年 → 2023年)
        if cover <= options.answer_left_out_cover:
            out.append(Discrepancy("said_not_written", "answer", "medium", "", utterance.text, utterance.start_s,
                                   utterance.end_s, (), (utterance.id,)))
    return out


_HAN = re.compile(r"[\u4e00-\u9fff]")
_RELAY = re.compile(r"^[他她](说|讲|表示|讲的是)")
"""他说…: the interpreter relaying the suspect's answer, in the third person."""


def _rendered_by_interpreter(n: int, utterances: list[Spoken]) -> bool:
    """In a session with an interpreter (CPL 9) the record holds the interpreter's Chinese, not the suspect's own
    words: what the suspect says is rendered by the interpreter's next utterance, before an officer speaks again."""
    if utterances[n].role in INTERPRETER_ROLES or utterances[n].role is None:
        return False
    for later in utterances[n + 1:]:
        if later.role in INTERPRETER_ROLES:
            return True
        if _is_officer(later.role):
            return False
    return False


def _relayed_reply(slot: list[Spoken]) -> str:
    """The suspect's own reply inside an interpreter's relay: 我把笔录给他念了一遍，他说对的 → 对的."""
    if not slot or slot[-1].role not in INTERPRETER_ROLES:
        return ""
    normalized = normalize(slot[-1].text)
    at = max(normalized.rfind("他说"), normalized.rfind("她说"))
    return normalized[at + 2:] if at >= 0 else ""
